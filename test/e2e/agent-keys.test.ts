import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newDataDir, removeDataDir, type StackProcess, startStack } from './harness';

/**
 * Agent keys on the running service: the principal that created an intent can never decide
 * it, whatever the case of its email address; a key scoped to intent types creates only those.
 */
let stack: StackProcess;
let dataDir: string;

async function call(key: string, method: string, path: string, body?: unknown) {
  const response = await fetch(`${stack.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${key}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    body: (text ? JSON.parse(text) : {}) as Record<string, unknown> & {
      error?: { code: string; message: string; details: { field: string; message: string }[] };
    },
  };
}

async function createKey(body: Record<string, unknown>) {
  const { status, body: created } = await call(
    stack.settings.api_keys.admin,
    'POST',
    '/v1/keys',
    body,
  );
  expect(status, JSON.stringify(created)).toBe(201);
  return created as { id: string; key: string; principal: string };
}

const intentBody = (intentType: string, reviewers: string[]) => ({
  intent_type: intentType,
  to_agent: 'agent://myorg/payments',
  payload: { amount: 10 },
  reviewers,
  policy: { timeout: { after: '1h' } },
});

beforeAll(async () => {
  dataDir = newDataDir();
  stack = await startStack(dataDir);
});

afterAll(async () => {
  await stack?.stop();
  removeDataDir(dataDir);
});

describe('email principals', () => {
  it('refuses the creator of an intent as its reviewer under another spelling (403 forbidden)', async () => {
    const agent = await createKey({ role: 'agent', principal: 'Alice@Example.com' });
    expect(agent.principal).toBe('alice@example.com');
    const reviewer = await createKey({ role: 'reviewer', principal: 'alice@example.com' });
    const created = await call(
      agent.key,
      'POST',
      '/v1/intents',
      intentBody('intent.refund.v1', ['ALICE@example.com', 'bob@example.com']),
    );
    expect(created.status, JSON.stringify(created.body)).toBe(201);

    const decided = await call(reviewer.key, 'POST', `/v1/intents/${created.body.id}/decision`, {
      outcome: 'approve',
    });
    expect(decided.status, JSON.stringify(decided.body)).toBe(403);
    expect(decided.body.error?.code).toBe('forbidden');
    const after = await call(
      stack.settings.api_keys.admin,
      'GET',
      `/v1/intents/${created.body.id}`,
    );
    expect(after.body.status).toBe('pending');
    // The agent still reads its own intent.
    expect((await call(agent.key, 'GET', `/v1/intents/${created.body.id}`)).status).toBe(200);
  });
});

describe('agent keys scoped to intent types', () => {
  it('creates the types a key is scoped to and refuses another with 403 forbidden', async () => {
    const scoped = await createKey({
      role: 'agent',
      principal: 'agent://myorg/refunds',
      intent_types: ['intent.refund.*'],
    });
    const allowed = await call(
      scoped.key,
      'POST',
      '/v1/intents',
      intentBody('intent.refund.v1', ['cfo@company.com']),
    );
    expect(allowed.status, JSON.stringify(allowed.body)).toBe(201);
    const refused = await call(
      scoped.key,
      'POST',
      '/v1/intents',
      intentBody('intent.payment.v1', ['cfo@company.com']),
    );
    expect(refused.status).toBe(403);
    expect(refused.body.error?.code).toBe('forbidden');
    expect(refused.body.error?.message).toContain('intent.payment.v1');
    expect(refused.body.error?.details.map((detail) => detail.field)).toEqual(['intent_type']);

    const listed = await call(stack.settings.api_keys.admin, 'GET', '/v1/keys');
    const items = listed.body.items as { id: string; intent_types?: string[] }[];
    expect(items.find((key) => key.id === scoped.id)?.intent_types).toEqual(['intent.refund.*']);
  });

  it('refuses intent_types on a reviewer key with 400 validation_failed', async () => {
    const refused = await call(stack.settings.api_keys.admin, 'POST', '/v1/keys', {
      role: 'reviewer',
      principal: 'someone@company.com',
      intent_types: ['intent.refund.*'],
    });
    expect(refused.status).toBe(400);
    expect(refused.body.error?.code).toBe('validation_failed');
    expect(refused.body.error?.details.map((detail) => detail.field)).toEqual(['intent_types']);
  });
});
