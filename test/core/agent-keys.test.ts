import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoIntentRepository, DynamoKeyRepository } from '../../lambdas/adapters/dynamo-store';
import { createKey, listKeys } from '../../lambdas/core/admin';
import { authenticate, type Principal } from '../../lambdas/core/auth';
import { createIntent, type IntentServiceDeps } from '../../lambdas/core/intents';
import { errorResult } from '../../lambdas/shared/http';
import { LOCAL_TABLE_NAME } from '../../local/stack';
import { startLocalTable } from '../adapters/local-table';
import { T0 } from '../domain/fixtures';

/**
 * Agent key limits through the core services on DynamoDB Local: the key record as stored and
 * listed, and what `createIntent` lets a scoped key do.
 */
let stop: () => Promise<void>;
let keys: DynamoKeyRepository;
let intents: DynamoIntentRepository;
const clock = { now: () => T0 };
const admin: Principal = { role: 'admin', name: 'ops', keyId: 'key_admin' };

beforeAll(async () => {
  const local = await startLocalTable('ddb-agent-keys');
  stop = local.stop;
  const db = DynamoDBDocumentClient.from(local.client, {
    marshallOptions: { removeUndefinedValues: true },
  });
  keys = new DynamoKeyRepository(db, LOCAL_TABLE_NAME);
  intents = new DynamoIntentRepository(db, LOCAL_TABLE_NAME);
}, 90_000);
afterAll(() => stop?.());

function serviceDeps(): IntentServiceDeps {
  return {
    intents,
    workflow: { start: async () => undefined, wake: async () => 'delivered' },
    clock,
    configuredChannels: ['email'],
    defaultsFor: () => undefined,
    allowLoopbackCallbacks: false,
    waitPollMs: 50,
  };
}

const intentBody = (intentType: string) => ({
  intent_type: intentType,
  to_agent: 'agent://myorg/payments',
  payload: { amount: 10 },
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
