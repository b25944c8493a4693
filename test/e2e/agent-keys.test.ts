import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CountersignClient } from '../../sdk/src/index';
import { newDataDir, removeDataDir, type StackProcess, startStack, until } from './harness';

/**
 * Agent keys on the running service: the principal that created an intent can never decide
 * it, whatever the case of its email address; a key scoped to intent types creates only those;
 * a key over its hourly quota of intents, or whose notices of the hour are used up, gets 429
 * with Retry-After. The stack runs with quota windows of QUOTA_WINDOW seconds instead of an
 * hour (a test-only setting), so that one ends during the test.
 */
const QUOTA_WINDOW = 6;
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
  stack = await startStack(dataDir, undefined, {
    COUNTERSIGN_TEST_QUOTA_WINDOW_SECONDS: String(QUOTA_WINDOW),
  });
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

describe('hourly quotas', () => {
  it('answers 429 rate_limited with Retry-After over the quota, then takes intents again', async () => {
    const agent = await createKey({
      role: 'agent',
      principal: 'agent://myorg/bursty',
      quota: { intents_per_hour: 2 },
    });
    let created = 0;
    const create = () => {
      created += 1;
      return call(agent.key, 'POST', '/v1/intents', {
        ...intentBody('intent.refund.v1', ['cfo@company.com']),
        payload: { amount: created },
      });
    };
    // Use the window up, in a window with at least 2 s left, so that the SDK below is refused too.
    const refused = await until(
      async () => {
        const answer = await create();
        if (answer.status === 429 && Number(answer.headers.get('retry-after')) >= 2) return answer;
        expect([201, 429], JSON.stringify(answer.body)).toContain(answer.status);
        return undefined;
      },
      4 * QUOTA_WINDOW * 1000,
      'a refusal with 2 s or more left in the window',
    );
    expect(refused.body.error?.code).toBe('rate_limited');
    expect(Number(refused.headers.get('retry-after'))).toBeLessThanOrEqual(QUOTA_WINDOW);

    // The SDK retries a create refused with 429 after Retry-After, with the same
    // Idempotency-Key: once the window frees up it creates the intent, once.
    const delays: number[] = [];
    const client = new CountersignClient({
      baseUrl: stack.url,
      apiKey: agent.key,
      sleep: (ms) => {
        delays.push(ms);
        return new Promise((resolve) => setTimeout(resolve, ms));
      },
    });
    const intent = await client.createIntent(
      { ...intentBody('intent.refund.v1', ['cfo@company.com']), payload: { amount: -1 } },
      { idempotencyKey: 'after-the-window' },
    );
    expect(intent.status).toBe('pending');
    expect(Math.max(...delays)).toBeGreaterThanOrEqual(1000);
    const listed = await call(agent.key, 'GET', '/v1/intents?limit=100');
    const items = listed.body.items as { payload: { amount: number } }[];
    expect(items.filter((item) => item.payload.amount === -1)).toHaveLength(1);
  });

  it('answers 429 with Retry-After once the notices of the window are used up, then creates again', async () => {
    const agent = await createKey({
      role: 'agent',
      principal: 'agent://myorg/chatty',
      quota: { notifications_per_hour: 1 },
    });
    const create = () =>
      call(agent.key, 'POST', '/v1/intents', intentBody('intent.refund.v1', ['cfo@company.com']));
    const noticeOf = (id: string) =>
      until(
        async () => {
          const trail = await call(agent.key, 'GET', `/v1/intents/${id}/events`);
          const types = (trail.body.items as { type: string }[]).map((event) => event.type);
          return types.includes('notified') || types.includes('notification_failed')
            ? true
            : undefined;
        },
        30_000,
        `the notice of ${id}`,
      );
    // Each accepted create's notice is sent (or refused) before the next create: the first in a
    // window uses the window's one notice, so the next create in that window is refused.
    let accepted = 0;
    const refused = await until(
      async () => {
        const answer = await create();
        if (answer.status === 429) return answer;
        expect(answer.status, JSON.stringify(answer.body)).toBe(201);
        accepted += 1;
        await noticeOf(String(answer.body.id));
        return undefined;
      },
      6 * QUOTA_WINDOW * 1000,
      'a create refused for its notices',
    );
    expect(refused.body.error?.code).toBe('rate_limited');
    expect(refused.body.error?.message).toContain('may cause 1 notifications per hour');
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(QUOTA_WINDOW);
    const listed = await call(agent.key, 'GET', '/v1/intents?limit=100');
    expect(listed.body.items as unknown[]).toHaveLength(accepted);

    // Once the window ends, the key has its notice again.
    await new Promise((resolve) => setTimeout(resolve, retryAfter * 1000));
    const again = await create();
    expect(again.status, JSON.stringify(again.body)).toBe(201);
  }, 90_000);
});
