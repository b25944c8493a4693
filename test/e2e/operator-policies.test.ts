import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CountersignClient, type Intent } from '../../sdk/src/index';
import {
  newDataDir,
  outboxItems,
  removeDataDir,
  reviewerClients,
  type StackProcess,
  startStack,
  until,
} from './harness';

/**
 * Operator policies on the local stack, tried as an attacker holding only an agent key would:
 * once an admin sets a policy, the agent can no longer name its own reviewer, be approved by the
 * clock or drop the operator's quorum, and nobody outside is notified. Rules decide at create.
 */
let stack: StackProcess;
let dataDir: string;
let agent: CountersignClient;
const reviewer = reviewerClients(() => stack);

const PAYMENTS = {
  reviewers: ['cfo@company.com'],
  allow_request_reviewers: { domains: ['company.com'] },
  payload_reviewer_fallback: false,
  allow_timeout_approve: false,
  remind_after: ['1h'],
  rules: [
    {
      name: 'no-crypto',
      effect: 'reject',
      when: [{ pointer: '/currency', op: 'in', value: ['BTC'] }],
    },
    {
      name: 'small-refunds',
      effect: 'approve',
      when: [{ pointer: '/amount', op: 'lt', value: 100 }],
    },
  ],
};

async function call(method: string, path: string, key: string, body?: unknown) {
  const response = await fetch(`${stack.url}${path}`, {
    method,
    headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  // biome-ignore lint/suspicious/noExplicitAny: the answers are read field by field below.
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}
const asAdmin = (method: string, path: string, body?: unknown) =>
  call(method, path, stack.settings.api_keys.admin, body);
const create = (body: Record<string, unknown>) =>
  call('POST', '/v1/intents', stack.settings.api_keys.agent, {
    intent_type: 'intent.payment.v1',
    to_agent: 'agent://myorg/payments',
    payload: { amount: 1200, currency: 'EUR' },
    ...body,
  });

beforeAll(async () => {
  dataDir = newDataDir();
  stack = await startStack(dataDir);
  agent = new CountersignClient({ baseUrl: stack.url, apiKey: stack.settings.api_keys.agent });
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  if (dataDir) removeDataDir(dataDir);
});

describe('operator policies', () => {
  it('are set, read, listed and versioned by admins only', async () => {
    expect((await call('GET', '/v1/policies', stack.settings.api_keys.agent)).status).toBe(403);
    expect(
      (await call('PUT', '/v1/policies/intent.payment.*', stack.settings.api_keys.agent, {}))
        .status,
    ).toBe(403);
    const bad = await asAdmin('PUT', '/v1/policies/intent.payment.*', {
      reviewers: ['not-an-email'],
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('validation_failed');
    expect((await asAdmin('PUT', '/v1/policies/bad%20type!', {})).status).toBe(400);
    // An intent type of 100 dotted parts would make every create look up 101 policies.
    const longType = await create({
      intent_type: `a${'.a'.repeat(99)}`,
      reviewers: ['cfo@company.com'],
    });
    expect(longType.status).toBe(400);
    expect(longType.body.error.details).toEqual([
      expect.objectContaining({ field: 'intent_type' }),
    ]);

    const first = await asAdmin('PUT', '/v1/policies/intent.payment.*', PAYMENTS);
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ intent_type: 'intent.payment.*', version: 1, ...PAYMENTS });
    const second = await asAdmin('PUT', '/v1/policies/intent.payment.*', PAYMENTS);
    expect(second.status).toBe(200);
    expect(second.body.version).toBe(2);
    expect((await asAdmin('GET', '/v1/policies/intent.payment.*')).body.version).toBe(2);
    const list = await asAdmin('GET', '/v1/policies');
    expect(list.body.items.map((item: { intent_type: string }) => item.intent_type)).toEqual([
      'intent.payment.*',
    ]);
    expect((await asAdmin('GET', '/v1/policies/intent.other.*')).status).toBe(404);

    // Any JSON a rule compares with is stored as sent; what JSON cannot carry is refused.
    const big = {
      rules: [{ name: 'big', effect: 'reject', when: [{ pointer: '/n', op: 'gt', value: 1e20 }] }],
    };
    expect((await asAdmin('PUT', '/v1/policies/intent.big.*', big)).status).toBe(201);
    expect((await asAdmin('GET', '/v1/policies/intent.big.*')).body.rules).toEqual(big.rules);
    let deep: unknown = 1;
    for (let level = 0; level < 12; level++) deep = [deep];
    const tooDeep = {
      rules: [{ name: 'deep', effect: 'reject', when: [{ pointer: '/n', op: 'eq', value: deep }] }],
    };
    expect((await asAdmin('PUT', '/v1/policies/intent.big.*', tooDeep)).status).toBe(400);
    // A deleted pattern's versions go on: the created event's version names one document.
    expect((await asAdmin('DELETE', '/v1/policies/intent.big.*')).status).toBe(200);
    expect((await asAdmin('GET', '/v1/policies/intent.big.*')).status).toBe(404);
    expect((await asAdmin('PUT', '/v1/policies/intent.big.*', big)).body.version).toBe(2);
    expect((await asAdmin('DELETE', '/v1/policies/intent.big.*')).status).toBe(200);
  });

  it("refuses the agent's own reviewer, a look-alike, approve-by-clock, and notifies nobody outside", async () => {
    for (const reviewers of [['approvals@attacker.example'], ['cfo@cornpany.com']]) {
      const refused = await create({ reviewers });
      expect(refused.status).toBe(403);
      expect(refused.body.error).toMatchObject({
        code: 'policy_violation',
        details: [{ field: 'reviewers' }],
      });
    }
    const byClock = await create({ policy: { timeout: { after: '1s', action: 'approve' } } });
    expect(byClock.status).toBe(403);
    expect(byClock.body.error.details).toEqual([
      expect.objectContaining({ field: 'policy.timeout.action' }),
    ]);
    // payload.reviewer is not read under this policy: the operator's reviewer is asked instead.
    const viaPayload = await create({ payload: { amount: 500, reviewer: 'me@attacker.example' } });
    expect(viaPayload.status).toBe(201);
    expect(viaPayload.body.recipients).toEqual(['cfo@company.com']);

    // A colleague the policy admits is asked beside the operator's reviewer, never instead.
    const withColleague = await create({
      reviewers: ['lead@company.com'],
      policy: { required_approvals: 1 },
    });
    expect(withColleague.status).toBe(201);
    expect(withColleague.body.recipients).toEqual(['cfo@company.com', 'lead@company.com']);
    const ids = [viaPayload.body.id as string, withColleague.body.id as string];
    await until(
      async () => {
        const sent = (await outboxItems(stack)).filter((item) =>
          ids.includes(item.intent_id ?? ''),
        );
        return sent.filter((item) => item.channel === 'email').length >= 3 ? sent : undefined;
      },
      15_000,
      'the notices of the two accepted intents',
    );
    // Every message to reviewers says who the agent's request named, not the operator's policy.
    const toLead = (await outboxItems(stack)).filter(
      (item) => item.intent_id === ids[1] && item.kind === 'notify',
    );
    expect(toLead.length).toBeGreaterThan(0);
    for (const item of toLead) {
      expect(JSON.stringify(item)).toContain(
        "Named by the agent's request, not by the operator's policy: lead@company.com",
      );
    }
    const leadEmail = toLead.find(
      (item) => item.channel === 'email' && item.to === 'lead@company.com',
    );
    const page = await (await fetch(leadEmail?.review_url ?? '')).text();
    expect(page).toContain("You were named by the agent's request, not by the operator's policy.");
    expect(withColleague.body.added_by_request).toEqual(['lead@company.com']);
    const recipients = new Set((await outboxItems(stack)).map((item) => item.to));
    expect([...recipients].filter((to) => /attacker|cornpany/.test(to ?? ''))).toEqual([]);

    // The trail says which policy applied, and who the request added.
    const { items: events } = await agent.events(withColleague.body.id as string);
    expect(events[0]?.data).toMatchObject({
      operator_policy: { name: 'intent.payment.*', version: 2, source: 'api' },
      reviewers_added_by_request: ['lead@company.com'],
    });
  });

  it('decides at create by the first matching rule, audited, with nobody notified', async () => {
    const small = await create({ payload: { amount: 40, currency: 'EUR' } });
    expect(small.status).toBe(201);
    expect(small.body).toMatchObject({
      status: 'approved',
      decision: { outcome: 'approved', by: 'rule:small-refunds', channel: 'rule' },
    });
    // Final at once, so it carries its signed receipt like any decided intent.
    expect(small.body.receipt).toEqual(expect.stringMatching(/^[\w-]+\.[\w-]+\.[\w-]+$/));
    const crypto = await create({ payload: { amount: 40, currency: 'BTC' } });
    expect(crypto.body).toMatchObject({
      status: 'rejected',
      decision: { outcome: 'rejected', by: 'rule:no-crypto', channel: 'rule' },
    });
    const waited = (await agent.waitFor(small.body.id as string, { timeoutMs: 10_000 })) as Intent;
    expect(waited.status).toBe('approved');
    const { items: trail } = await agent.events(small.body.id as string);
    expect(trail.map((event) => event.type)).toEqual(['created', 'approved']);
    expect(trail[1]).toMatchObject({
      actor: 'rule:small-refunds',
      channel: 'rule',
      data: { rule: 'small-refunds' },
    });

    // One that no rule matches goes to people; once it is told, the ruled ones were not.
    const large = await create({ payload: { amount: 5000, currency: 'EUR' } });
    expect(large.body.status).toBe('pending');
    await until(
      async () =>
        (await outboxItems(stack)).some((item) => item.intent_id === large.body.id)
          ? true
          : undefined,
      15_000,
      'the notice of the large payment',
    );
    const sent = await outboxItems(stack);
    expect(sent.filter((item) => [small.body.id, crypto.body.id].includes(item.intent_id))).toEqual(
      [],
    );
    const cfo = await reviewer('cfo@company.com');
    await cfo.decide(large.body.id as string, { outcome: 'approve' });
    expect((await agent.waitFor(large.body.id as string, { timeoutMs: 10_000 })).status).toBe(
      'approved',
    );
  });

  it('applies the most specific policy; deleting it falls back to the permissive local default', async () => {
    const specific = await asAdmin('PUT', '/v1/policies/intent.payment.v2', {
      reviewers: ['treasurer@company.com'],
      allow_request_reviewers: { domains: [] },
      required_approvals: 1,
    });
    expect(specific.status).toBe(201);
    const refused = await create({
      intent_type: 'intent.payment.v2',
      reviewers: ['lead@company.com'],
    });
    expect(refused.status).toBe(403);
    const accepted = await create({ intent_type: 'intent.payment.v2' });
    expect(accepted.body.recipients).toEqual(['treasurer@company.com']);

    expect((await asAdmin('DELETE', '/v1/policies/intent.payment.v2')).status).toBe(200);
    expect((await asAdmin('DELETE', '/v1/policies/intent.payment.v2')).status).toBe(404);
    expect((await asAdmin('DELETE', '/v1/policies/intent.payment.*')).status).toBe(200);
    const permissive = await create({ reviewers: ['anyone@elsewhere.example'] });
    expect(permissive.status).toBe(201);
    expect(permissive.body.recipients).toEqual(['anyone@elsewhere.example']);

    // An admin's own `*` replaces local mode's permissive one, and reads as it would in AWS.
    expect(
      (await asAdmin('PUT', '/v1/policies/*', { reviewers: ['cfo@company.com'] })).status,
    ).toBe(201);
    expect((await create({ reviewers: ['me@attacker.example'] })).status).toBe(403);
    expect(
      (await create({ policy: { timeout: { after: '1s', action: 'approve' } } })).body.error,
    ).toMatchObject({ code: 'policy_violation', details: [{ field: 'policy.timeout.action' }] });
    expect((await create({})).body.recipients).toEqual(['cfo@company.com']);
    expect((await asAdmin('DELETE', '/v1/policies/*')).status).toBe(200);
    expect((await create({ reviewers: ['anyone@elsewhere.example'] })).status).toBe(201);
  });
});
