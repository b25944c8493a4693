import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DynamoIntentRepository,
  DynamoKeyRepository,
  DynamoTeamRepository,
} from '../../lambdas/adapters/dynamo-store';
import { DynamoUsageMeter } from '../../lambdas/adapters/dynamo-usage';
import { createKey, listKeys } from '../../lambdas/core/admin';
import { authenticate, type Principal } from '../../lambdas/core/auth';
import { createIntent, decideIntent, type IntentServiceDeps } from '../../lambdas/core/intents';
import type { EmailMessage } from '../../lambdas/core/ports';
import { runStage, type StageRunnerDeps } from '../../lambdas/core/stage-runner';
import { errorResult } from '../../lambdas/shared/http';
import { LOCAL_TABLE_NAME } from '../../local/stack';
import { startLocalTable } from '../adapters/local-table';
import { T0 } from '../domain/fixtures';
import { InMemoryPolicyRepository, PERMISSIVE_BASE } from '../fakes/memory-policies';
import { testSigner } from '../handlers/signing-key';

/**
 * Agent key limits through the core services on DynamoDB Local: the key record as stored and
 * listed, what `createIntent` lets a scoped key do, and hourly quotas counted in the table with
 * an injected clock (so that a window ends without waiting an hour).
 */
let stop: () => Promise<void>;
let db: DynamoDBDocumentClient;
let keys: DynamoKeyRepository;
let intents: DynamoIntentRepository;
let usage: DynamoUsageMeter;
let now = T0;
const clock = { now: () => now };
const admin: Principal = { role: 'admin', name: 'ops', keyId: 'key_admin' };

beforeAll(async () => {
  const local = await startLocalTable('ddb-agent-keys');
  stop = local.stop;
  db = DynamoDBDocumentClient.from(local.client, {
    marshallOptions: { removeUndefinedValues: true },
  });
  keys = new DynamoKeyRepository(db, LOCAL_TABLE_NAME);
  intents = new DynamoIntentRepository(db, LOCAL_TABLE_NAME);
  usage = new DynamoUsageMeter(db, LOCAL_TABLE_NAME);
}, 90_000);
afterAll(() => stop?.());

function serviceDeps(): IntentServiceDeps {
  return {
    intents,
    workflow: { start: async () => undefined, wake: async () => 'delivered' },
    clock,
    configuredChannels: ['email'],
    policies: { policies: new InMemoryPolicyRepository(), configured: new Map(), clock },
    policyBase: PERMISSIVE_BASE,
    allowLoopbackCallbacks: false,
    waitPollMs: 50,
    usage,
    signer: testSigner(),
  };
}

/** The stage task's dependencies, with an email sender that keeps what it sends in `sent`. */
function stageRunnerDeps(sent: EmailMessage[]): StageRunnerDeps {
  return {
    intents,
    teams: new DynamoTeamRepository(db, LOCAL_TABLE_NAME),
    workflow: { start: async () => undefined, wake: async () => 'delivered' },
    clock,
    email: {
      send: async (message) => {
        sent.push(message);
        return { messageId: `msg-${sent.length}` };
      },
    },
    publicBaseUrl: 'https://approvals.example.com',
    linkSigningSecret: 'test-secret',
    usage,
  };
}

const intentBody = (intentType: string, amount = 10) => ({
  intent_type: intentType,
  to_agent: 'agent://myorg/payments',
  payload: { amount },
  reviewers: ['cfo@company.com'],
});

/** The refusal as the API answers it (`shared/http.ts` maps every error in one place). */
async function refusalOf(promise: Promise<unknown>) {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error, 'the call should have been refused').toBeDefined();
  const result = errorResult(error);
  const body = JSON.parse(result.body) as {
    error: { code: string; message: string; details: { field: string }[] };
  };
  return {
    status: result.statusCode,
    headers: result.headers ?? {},
    code: body.error.code,
    message: body.error.message,
    fields: body.error.details.map((detail) => detail.field),
  };
}

async function agentWith(body: Record<string, unknown>): Promise<Principal> {
  const created = await createKey(keys, clock, admin, { role: 'agent', ...body });
  return authenticate(`Bearer ${created.key}`, keys);
}

describe('agent keys scoped to intent types', () => {
  it('stores, lists and authenticates the scope; a key without one may create any type', async () => {
    const scoped = await createKey(keys, clock, admin, {
      role: 'agent',
      principal: 'agent://myorg/refunds',
      intent_types: ['intent.refund.*', 'intent.credit.v1'],
    });
    const open = await createKey(keys, clock, admin, {
      role: 'agent',
      principal: 'agent://myorg/anything',
    });
    expect(scoped.intent_types).toEqual(['intent.refund.*', 'intent.credit.v1']);
    const listed = (await listKeys(keys, admin)).items;
    expect(listed.find((key) => key.id === scoped.id)?.intent_types).toEqual([
      'intent.refund.*',
      'intent.credit.v1',
    ]);
    expect(listed.find((key) => key.id === open.id)?.intent_types).toEqual(['*']);
    expect((await authenticate(`Bearer ${scoped.key}`, keys)).intentTypes).toEqual([
      'intent.refund.*',
      'intent.credit.v1',
    ]);
    const anyType = await authenticate(`Bearer ${open.key}`, keys);
    const created = await createIntent(
      serviceDeps(),
      anyType,
      intentBody('intent.misc.v1'),
      undefined,
    );
    expect(created.status).toBe(201);
  });

  it('lets a scoped key create its types and refuses any other with 403 forbidden', async () => {
    const agent = await agentWith({
      principal: 'agent://myorg/refunds-2',
      intent_types: ['intent.refund.*', 'intent.credit.v1'],
    });
    for (const type of ['intent.refund.v1', 'intent.refund.partial.v2', 'intent.credit.v1']) {
      expect((await createIntent(serviceDeps(), agent, intentBody(type), undefined)).status).toBe(
        201,
      );
    }
    const refused = await refusalOf(
      createIntent(serviceDeps(), agent, intentBody('intent.payment.v1'), undefined),
    );
    expect(refused).toMatchObject({ status: 403, code: 'forbidden', fields: ['intent_type'] });
    expect(refused.message).toContain('intent.payment.v1');
    const before = await intents.list({ fromAgent: agent.name, limit: 100 });
    expect(before.items.map((intent) => intent.intent_type).sort()).toEqual([
      'intent.credit.v1',
      'intent.refund.partial.v2',
      'intent.refund.v1',
    ]);
  });

  it('refuses intent_types on keys of other roles, and patterns that are not one', async () => {
    for (const role of ['reviewer', 'admin']) {
      const refused = await refusalOf(
        createKey(keys, clock, admin, {
          role,
          principal: 'someone@company.com',
          intent_types: ['intent.refund.*'],
        }),
      );
      expect(refused).toMatchObject({
        status: 400,
        code: 'validation_failed',
        fields: ['intent_types'],
      });
    }
    for (const pattern of ['intent.*.v1', '', 'refund **', 'a..b']) {
      const refused = await refusalOf(
        createKey(keys, clock, admin, {
          role: 'agent',
          principal: 'agent://myorg/x',
          intent_types: [pattern],
        }),
      );
      expect(refused.code, pattern).toBe('validation_failed');
    }
  });
});

describe('hourly quotas', () => {
  it('refuses the intent over the quota with 429 and Retry-After until the hour ends', async () => {
    now = new Date('2026-11-24T09:59:30.000Z');
    const agent = await agentWith({
      principal: 'agent://myorg/quota-1',
      quota: { intents_per_hour: 2 },
    });
    const create = (amount: number) =>
      createIntent(serviceDeps(), agent, intentBody('intent.refund.v1', amount), undefined);
    expect((await create(1)).status).toBe(201);
    expect((await create(2)).status).toBe(201);
    const refused = await refusalOf(create(3));
    expect(refused).toMatchObject({ status: 429, code: 'rate_limited' });
    expect(refused.headers['Retry-After']).toBe('30');
    expect(refused.message).toContain('2 intents per hour');
    // Refused again a moment later; the next hour takes intents again.
    now = new Date('2026-11-24T09:59:59.100Z');
    expect((await refusalOf(create(4))).headers['Retry-After']).toBe('1');
    now = new Date('2026-11-24T10:00:00.000Z');
    expect((await create(5)).status).toBe(201);
    const made = await intents.list({ fromAgent: agent.name, limit: 100 });
    expect(made.items.map((intent) => intent.payload.amount).sort()).toEqual([1, 2, 5]);
  });

  it('counts an idempotent replay once, and answers it even when the quota is used up', async () => {
    now = new Date('2026-11-24T11:00:00.000Z');
    const agent = await agentWith({
      principal: 'agent://myorg/quota-2',
      quota: { intents_per_hour: 2 },
    });
    const create = (amount: number, key?: string) =>
      createIntent(serviceDeps(), agent, intentBody('intent.refund.v1', amount), key);
    const first = await create(1, 'report-1');
    expect(first.status).toBe(201);
    const replay = await create(1, 'report-1');
    expect(replay).toMatchObject({ status: 200, intent: { id: first.intent.id } });
    // The replay gave back what it took: one more intent fits in the hour.
    expect((await create(2)).status).toBe(201);
    expect(await create(1, 'report-1')).toMatchObject({
      status: 200,
      intent: { id: first.intent.id },
    });
    expect((await refusalOf(create(3, 'report-3'))).status).toBe(429);
    expect((await refusalOf(create(4))).status).toBe(429);
  });

  it('never takes more than the limit, however many ask at once', async () => {
    const at = new Date('2026-11-24T12:00:00.000Z');
    const answers = await Promise.all(
      Array.from({ length: 12 }, () => usage.take('key_concurrent', 'intents', 5, at)),
    );
    expect(answers.filter((answer) => answer.ok)).toHaveLength(5);
    const item = await db.send(
      new GetCommand({
        TableName: LOCAL_TABLE_NAME,
        Key: { pk: 'USAGE#key_concurrent', sk: 'intents#2026-11-24T12:00:00.000Z' },
      }),
    );
    // Deleted by the table's TTL an hour after the window ends.
    expect(item.Item).toMatchObject({
      count: 5,
      expires_at: Date.parse('2026-11-24T14:00:00Z') / 1000,
    });
  });

  it('sends no notices over the quota: records notification_failed (reason quota), and the intent still ends', async () => {
    now = new Date('2026-11-24T13:00:00.000Z');
    const agent = await agentWith({
      principal: 'agent://myorg/quota-3',
      quota: { notifications_per_hour: 2 },
    });
    const { intent } = await createIntent(
      serviceDeps(),
      agent,
      {
        ...intentBody('intent.refund.v1'),
        reviewers: ['a@company.com', 'b@company.com', 'c@company.com'],
      },
      undefined,
    );
    const sent: EmailMessage[] = [];
    const stageDeps = stageRunnerDeps(sent);
    const result = await runStage(stageDeps, {
      intent_id: intent.id,
      step: 0,
      stage: 0,
      task_token: 'token-1',
    });
    expect(result.notified).toBe(2);
    expect(sent).toHaveLength(2);
    const trail = await intents.events(intent.id);
    const failed = trail.filter((event) => event.type === 'notification_failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]?.data).toMatchObject({ kind: 'notify', reason: 'quota' });
    expect(trail.filter((event) => event.type === 'notified')).toHaveLength(2);

    const reviewer = sent[0]?.to ?? '';
    const decided = await decideIntent(
      serviceDeps(),
      { role: 'reviewer', name: reviewer, keyId: 'key_reviewer' },
      intent.id,
      { outcome: 'approve' },
    );
    expect(decided.status).toBe('approved');
  });

  it('reads what a window used without taking any: used counts the takes of that window only', async () => {
    const at = new Date('2026-11-24T15:59:15.500Z');
    expect(await usage.used('key_read', 'notifications', at)).toEqual({
      count: 0,
      retryAfterSeconds: 45,
    });
    expect((await usage.take('key_read', 'notifications', 2, at)).ok).toBe(true);
    expect((await usage.take('key_read', 'notifications', 2, at)).ok).toBe(true);
    expect((await usage.used('key_read', 'notifications', at)).count).toBe(2);
    expect((await usage.used('key_read', 'notifications', at)).count).toBe(2);
    // Another counter, another key and the next window are counted apart.
    expect((await usage.used('key_read', 'intents', at)).count).toBe(0);
    expect((await usage.used('key_other', 'notifications', at)).count).toBe(0);
    const next = new Date('2026-11-24T16:00:00.000Z');
    expect(await usage.used('key_read', 'notifications', next)).toEqual({
      count: 0,
      retryAfterSeconds: 3600,
    });
    await usage.giveBack('key_read', 'notifications', at);
    expect((await usage.used('key_read', 'notifications', at)).count).toBe(1);
  });

  it('refuses a create once the notices of the hour are used up: 429, nothing stored, no intent taken', async () => {
    now = new Date('2026-11-24T16:59:20.000Z');
    const agent = await agentWith({
      principal: 'agent://myorg/quota-6',
      quota: { intents_per_hour: 5, notifications_per_hour: 2 },
    });
    const create = (amount: number, key?: string) =>
      createIntent(
        serviceDeps(),
        agent,
        {
          ...intentBody('intent.refund.v1', amount),
          reviewers: ['a@company.com', 'b@company.com'],
        },
        key,
      );
    const first = await create(1, 'first');
    expect(first.status).toBe(201);
    // Accepted while no notice is sent yet; its stage task then uses both notices of the hour.
    expect((await create(2)).status).toBe(201);
    const sent: EmailMessage[] = [];
    await runStage(stageRunnerDeps(sent), {
      intent_id: first.intent.id,
      step: 0,
      stage: 0,
      task_token: 'token-6',
    });
    expect(sent).toHaveLength(2);

    const refused = await refusalOf(create(3));
    expect(refused).toMatchObject({ status: 429, code: 'rate_limited' });
    expect(refused.headers['Retry-After']).toBe('40');
    expect(refused.message).toBe(
      'This key may cause 2 notifications per hour; it has used them all; try again in 40 s.',
    );
    expect((await refusalOf(create(4, 'fourth'))).status).toBe(429);
    // A replay of a used Idempotency-Key still answers its first intent.
    expect(await create(1, 'first')).toMatchObject({
      status: 200,
      intent: { id: first.intent.id },
    });
    const made = await intents.list({ fromAgent: agent.name, limit: 100 });
    expect(made.items.map((intent) => intent.payload.amount).sort()).toEqual([1, 2]);
    // The refused creates took none of the intents of the hour.
    expect((await usage.used(agent.keyId, 'intents', now)).count).toBe(2);

    // The next hour has notices again.
    now = new Date('2026-11-24T17:00:00.000Z');
    expect((await create(5)).status).toBe(201);
    expect((await create(4, 'fourth')).status).toBe(201);
  });

  it('sends the notices of an intent stored before keys had quotas', async () => {
    now = new Date('2026-11-24T14:00:00.000Z');
    const agent = await agentWith({
      principal: 'agent://myorg/quota-4',
      quota: { notifications_per_hour: 1 },
    });
    const { intent } = await createIntent(
      serviceDeps(),
      agent,
      { ...intentBody('intent.refund.v1'), reviewers: ['a@company.com', 'b@company.com'] },
      undefined,
    );
    const stored = await intents.get(intent.id);
    if (!stored) throw new Error('not stored');
    const { creator_key: _key, ...before } = stored;
    expect(await intents.commit({ ...before, version: stored.version + 1 }, stored, [])).toBe(true);
    const sent: EmailMessage[] = [];
    await runStage(stageRunnerDeps(sent), {
      intent_id: intent.id,
      step: 0,
      stage: 0,
      task_token: 'token-2',
    });
    expect(sent.map((message) => message.to).sort()).toEqual(['a@company.com', 'b@company.com']);
  });

  it('refuses a quota on a reviewer or admin key, and limits that are not whole positive numbers', async () => {
    for (const body of [
      { role: 'reviewer', principal: 'r@company.com', quota: { intents_per_hour: 5 } },
      { role: 'admin', principal: 'ops-2', quota: { notifications_per_hour: 5 } },
      { role: 'agent', principal: 'agent://x', quota: { intents_per_hour: 0 } },
      { role: 'agent', principal: 'agent://x', quota: { intents_per_hour: 1.5 } },
      { role: 'agent', principal: 'agent://x', quota: { per_day: 5 } },
    ]) {
      const refused = await refusalOf(createKey(keys, clock, admin, body));
      expect(refused.code, JSON.stringify(body)).toBe('validation_failed');
      expect(refused.fields[0], JSON.stringify(body)).toMatch(/^quota/);
    }
    const created = await createKey(keys, clock, admin, {
      role: 'agent',
      principal: 'agent://myorg/quota-5',
      quota: { intents_per_hour: 100, notifications_per_hour: 1000 },
    });
    expect(created.quota).toEqual({ intents_per_hour: 100, notifications_per_hour: 1000 });
  });
});
