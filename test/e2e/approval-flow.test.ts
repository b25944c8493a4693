import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CountersignClient,
  CountersignError,
  type Intent,
  WaitTimeoutError,
} from '../../sdk/src/index';
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
 * The vertical slice on the local stack, driven only through the SDK, as an agent and its
 * reviewers would: the seed's four lines, idempotency, who may decide, races, cancel, the long
 * poll, reminders and the timeout on second-scale policies, and a restart losing nothing.
 */
let stack: StackProcess;
let dataDir: string;
let agent: CountersignClient;
const reviewer = reviewerClients(() => stack);

async function outboxFor(intentId: string) {
  // Email only: Slack (on by default locally) has its own end-to-end test.
  return (await outboxItems(stack)).filter(
    (item) => item.intent_id === intentId && item.channel === 'email',
  );
}

function codeOf(error: unknown): string | undefined {
  return error instanceof CountersignError ? error.code : undefined;
}

beforeAll(async () => {
  dataDir = newDataDir();
  stack = await startStack(dataDir);
  agent = new CountersignClient({ baseUrl: stack.url, apiKey: stack.settings.api_keys.agent });
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  removeDataDir(dataDir);
});

describe('the four-line flow', () => {
  it('an agent sends an intent, the reviewer is emailed, approves, and the waiting agent resumes', async () => {
    const client = agent;
    const id = await client.sendIntent({
      intent_type: 'intent.report.review_approval.v1',
      to_agent: 'agent://myorg/production/report-generator',
      payload: { report: 'Q1 Financial Summary', pii_detected: false, reviewer: 'cfo@company.com' },
    });
    const waiting = client.waitFor(id);

    const [email] = await until(
      async () => {
        const items = await outboxFor(id);
        return items.length > 0 ? items : undefined;
      },
      10_000,
      'the first notification',
    );
    expect(email).toMatchObject({ channel: 'email', to: 'cfo@company.com', kind: 'notify' });
    expect(email?.review_url).toMatch(new RegExp(`^${stack.url}/review/`));

    const cfo = await reviewer('cfo@company.com');
    await cfo.decide(id, { outcome: 'approve', comment: 'Numbers check out' });
    const result: Intent = await waiting;
    expect(result.status).toBe('approved');
    expect(result.decision).toMatchObject({
      outcome: 'approved',
      by: 'cfo@company.com',
      channel: 'api',
    });

    const trail = await client.events(id);
    // The Slack notice (on by default locally) may be recorded before or after the decision.
    const emailAndDecision = trail.items.filter((event) => event.channel !== 'slack');
    expect(emailAndDecision.map((event) => event.type)).toEqual([
      'created',
      'notified',
      'approval',
      'approved',
    ]);
  });
});

describe('creating intents', () => {
  it('is idempotent: the same key and body return the first intent; another body is a conflict', async () => {
    const request = {
      intent_type: 'intent.deploy.v1',
      to_agent: 'agent://myorg/deployer',
      payload: { service: 'billing', reviewer: 'lead@company.com' },
    };
    const first = await agent.createIntent(request, { idempotencyKey: 'deploy-42' });
    const again = await agent.createIntent(request, { idempotencyKey: 'deploy-42' });
    expect(again.id).toBe(first.id);
    const conflict = await agent
      .createIntent(
        { ...request, payload: { service: 'ledger', reviewer: 'lead@company.com' } },
        { idempotencyKey: 'deploy-42' },
      )
      .catch((error: unknown) => error);
    expect(codeOf(conflict)).toBe('idempotency_conflict');
    expect(
      (await agent.listIntents({ status: 'pending' })).items.filter((i) => i.id === first.id),
    ).toHaveLength(1);
  });
});

describe('deciding', () => {
  it('refuses a reviewer who is not asked, and the creating agent', async () => {
    const id = await agent.sendIntent({
      intent_type: 'intent.payment.v1',
      to_agent: 'agent://myorg/payments',
      payload: { amount: 1200, reviewer: 'cfo@company.com' },
    });
    const outsider = await reviewer('mallory@company.com');
    const refused = await outsider
      .decide(id, { outcome: 'approve' })
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(CountersignError);
    expect((refused as CountersignError).status).toBe(403);
    expect(codeOf(refused)).toBe('not_a_reviewer');
    const selfApproval = await agent
      .decide(id, { outcome: 'approve' })
      .catch((error: unknown) => error);
    expect((selfApproval as CountersignError).status).toBe(403);
    expect((await agent.getIntent(id)).status).toBe('pending');
  });

  it('two reviewers deciding at once: exactly one wins, the other gets 409 with the winner', async () => {
    const id = await agent.sendIntent({
      intent_type: 'intent.payment.v1',
      to_agent: 'agent://myorg/payments',
      payload: { amount: 5, reviewers: ['a@company.com', 'b@company.com'] },
    });
    const [a, b] = await Promise.all([reviewer('a@company.com'), reviewer('b@company.com')]);
    const results = await Promise.allSettled([
      a.decide(id, { outcome: 'approve' }),
      b.decide(id, { outcome: 'reject', comment: 'too risky' }),
    ]);
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    const loser = lost[0]?.reason as CountersignError;
    expect(codeOf(loser)).toBe('already_decided');
    const final = await agent.waitFor(id, { timeoutMs: 10_000 });
    expect(loser.intent).toMatchObject({ status: final.status });
    const finals = (await agent.events(id)).items.filter((e) =>
      ['approved', 'rejected'].includes(e.type),
    );
    expect(finals).toHaveLength(1);
  });

  it('once decided, the other reviewers are emailed the outcome and every Slack message shows it', async () => {
    const id = await agent.sendIntent({
      intent_type: 'intent.payment.v1',
      to_agent: 'agent://myorg/payments',
      summary: 'Pay the ACME invoice',
      payload: { amount: 3, reviewers: ['a@company.com', 'b@company.com'] },
    });
    await until(
      async () =>
        (await outboxItems(stack)).filter((i) => i.intent_id === id).length === 4
          ? true
          : undefined,
      10_000,
      'the first notices on email and Slack',
    );
    await (await reviewer('a@company.com')).decide(id, {
      outcome: 'approve',
      comment: 'Paid before',
    });

    const told = await until(
      async () => {
        const items = await outboxFor(id);
        const decided = items.filter((item) => item.kind === 'decided');
        return decided.length > 0 ? decided : undefined;
      },
      10_000,
      'the decided notice',
    );
    // Only b is told by email: a decided, and knows.
    expect(told.map((item) => [item.to, item.subject])).toEqual([
      ['b@company.com', 'Approved: Pay the ACME invoice'],
    ]);
    expect(told[0]?.text).toContain('Approved by a@company.com via api');
    expect(told[0]?.text).toContain('Paid before');
    const slackMessages = await until(
      async () => {
        const posted = (await outboxItems(stack)).filter(
          (item) => item.intent_id === id && item.channel === 'slack',
        );
        return posted.every((item) => !JSON.stringify(item.slack?.blocks).includes('"actions"'))
          ? posted
          : undefined;
      },
      10_000,
      'the Slack messages rewritten with the outcome',
    );
    expect(slackMessages).toHaveLength(2);
    for (const message of slackMessages) {
      expect(JSON.stringify(message.slack?.blocks)).toContain('*Approved* by a@company.com');
    }
    const decidedEvents = (await agent.events(id)).items.filter(
      (event) => event.type === 'notified' && event.data.kind === 'decided',
    );
    expect(decidedEvents.map((event) => event.channel).sort()).toEqual(['email', 'slack', 'slack']);
  });

  it('cancel ends the intent, wakes the waiter, and cannot be repeated', async () => {
    const id = await agent.sendIntent({
      intent_type: 'intent.payment.v1',
      to_agent: 'agent://myorg/payments',
      payload: { amount: 5, reviewer: 'cfo@company.com' },
    });
    const waiting = agent.waitFor(id);
    await agent.cancel(id, 'the user withdrew the request');
    const result = await waiting;
    expect(result.status).toBe('cancelled');
    expect(result.decision).toMatchObject({ outcome: 'cancelled', channel: 'api' });
    const again = await agent.cancel(id).catch((error: unknown) => error);
    expect(codeOf(again)).toBe('not_pending');
  });
});

describe('waiting and the clock', () => {
  it('waitFor gives up at its own deadline, and a later waitFor still gets the decision', async () => {
    const id = await agent.sendIntent({
      intent_type: 'intent.payment.v1',
      to_agent: 'agent://myorg/payments',
      payload: { amount: 7, reviewer: 'cfo@company.com' },
    });
    const started = Date.now();
    const timedOut = await agent.waitFor(id, { timeoutMs: 1500 }).catch((error: unknown) => error);
    expect(timedOut).toBeInstanceOf(WaitTimeoutError);
    expect(Date.now() - started).toBeLessThan(4000);
    const waiting = agent.waitFor(id, { timeoutMs: 15_000 });
    await (await reviewer('cfo@company.com')).decide(id, { outcome: 'reject', comment: 'no' });
    expect((await waiting).status).toBe('rejected');
  });

  it('reminds on schedule and times out with the policy action', async () => {
    const id = await agent.sendIntent({
      intent_type: 'intent.payment.v1',
      to_agent: 'agent://myorg/payments',
      payload: { amount: 9, reviewer: 'cfo@company.com' },
      policy: { remind_after: ['2s'], timeout: { after: '5s', action: 'approve' } },
    });
    const result = await agent.waitFor(id, { timeoutMs: 20_000 });
    expect(result.status).toBe('timed_out');
    expect(result.decision).toMatchObject({
      outcome: 'approved',
      by: 'timeout',
      channel: 'timeout',
    });
    const late = Date.parse(result.decision?.at ?? '') - Date.parse(result.deadline_at);
    expect(late).toBeGreaterThanOrEqual(0);
    expect(late).toBeLessThan(2000);
    // The waiter resumes on the timeout itself; the notice that it happened follows.
    const kinds = await until(
      async () => {
        const sent = (await outboxFor(id)).map((item) => item.kind);
        return sent.includes('decided') ? sent : undefined;
      },
      10_000,
      'the timed-out notice',
    );
    expect(kinds).toEqual(['notify', 'remind', 'decided']);
    const afterTimeout = await (await reviewer('cfo@company.com'))
      .decide(id, { outcome: 'approve' })
      .catch((error: unknown) => error);
    expect(codeOf(afterTimeout)).toBe('already_decided');
  });

  it('a decision racing a stage boundary wins exactly once and stops later reminders', async () => {
    const id = await agent.sendIntent({
      intent_type: 'intent.payment.v1',
      to_agent: 'agent://myorg/payments',
      payload: { amount: 11, reviewer: 'cfo@company.com' },
      policy: { remind_after: ['1s', '3s'], timeout: { after: '6s' } },
    });
    const created = await agent.getIntent(id);
    const boundary = Date.parse(created.created_at) + 1000;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, boundary - Date.now())));
    await (await reviewer('cfo@company.com')).decide(id, { outcome: 'approve' });
    const result = await agent.waitFor(id, { timeoutMs: 5000 });
    expect(result.status).toBe('approved');
    // Past the second reminder's and the deadline's moments, nothing more was sent or decided.
    await new Promise((resolve) => setTimeout(resolve, 6000));
    const kinds = (await outboxFor(id)).map((item) => item.kind);
    expect(kinds.filter((kind) => kind === 'remind').length).toBeLessThanOrEqual(1);
    const trail = (await agent.events(id)).items.map((event) => event.type);
    expect(trail.filter((type) => ['approved', 'rejected', 'timed_out'].includes(type))).toEqual([
      'approved',
    ]);
    expect((await agent.getIntent(id)).status).toBe('approved');
  }, 20_000);
});

describe('a restart', () => {
  it('loses nothing: keys, a pending intent with its timer, and the waiting agent resumes', async () => {
    const id = await agent.sendIntent({
      intent_type: 'intent.payment.v1',
      to_agent: 'agent://myorg/payments',
      payload: { amount: 13, reviewer: 'cfo@company.com' },
      policy: { remind_after: ['4s'], timeout: { after: '1h' } },
    });
    const waiting = agent.waitFor(id, { timeoutMs: 60_000 });
    await until(
      async () => ((await outboxFor(id)).length > 0 ? true : undefined),
      10_000,
      'the first notice',
    );
    const port = Number(new URL(stack.url).port);
    await stack.stop();
    stack = await startStack(dataDir, port);
    await until(
      async () => ((await outboxFor(id)).some((item) => item.kind === 'remind') ? true : undefined),
      15_000,
      'the reminder set before the restart',
    );
    await (await reviewer('cfo@company.com')).decide(id, { outcome: 'approve' });
    expect((await waiting).status).toBe('approved');
  }, 90_000);
});
