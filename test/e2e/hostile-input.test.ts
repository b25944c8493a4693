import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CountersignClient } from '../../sdk/src/index';
import {
  newDataDir,
  outboxItems,
  removeDataDir,
  type StackProcess,
  startStack,
  until,
} from './harness';

/**
 * Property-based hostile input against the running service: whatever the body, query, headers
 * or review token, the answer is a 4xx in the contract's shape (or a success for input that is
 * in fact valid), never a 5xx, and a refused request changes nothing.
 */
let stack: StackProcess;
let dataDir: string;
let agent: CountersignClient;
let admin: CountersignClient;
let reviewerKey: string;
let pendingId: string;
let reviewUrl: string;

beforeAll(async () => {
  dataDir = newDataDir();
  stack = await startStack(dataDir);
  agent = new CountersignClient({ baseUrl: stack.url, apiKey: stack.settings.api_keys.agent });
  admin = new CountersignClient({ baseUrl: stack.url, apiKey: stack.settings.api_keys.admin });
  reviewerKey = (await admin.createKey({ role: 'reviewer', principal: 'cfo@company.com' })).key;
  pendingId = await agent.sendIntent({
    intent_type: 'intent.fuzz.v1',
    to_agent: 'agent://myorg/fuzz',
    payload: { reviewer: 'cfo@company.com' },
    policy: { timeout: { after: '1h' } },
  });
  reviewUrl = await until(
    async () =>
      (await outbox()).find((item) => item.intent_id === pendingId && item.channel === 'email')
        ?.review_url ?? undefined,
    15_000,
    'the review email',
  );
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  removeDataDir(dataDir);
});

const outbox = () => outboxItems(stack);

async function send(
  method: string,
  path: string,
  options: { key?: string; body?: string; headers?: Record<string, string> } = {},
) {
  const response = await fetch(`${stack.url}${path}`, {
    method,
    headers: {
      ...(options.key ? { authorization: `Bearer ${options.key}` } : {}),
      ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...options.headers,
    },
    body: options.body,
  });
  return {
    status: response.status,
    text: await response.text(),
    type: response.headers.get('content-type'),
  };
}

/** A 4xx must be the contract's error object; nothing may be a 5xx. */
function expectContractAnswer(answer: { status: number; text: string }) {
  expect(answer.status, answer.text).toBeLessThan(500);
  if (answer.status >= 400) {
    const body = JSON.parse(answer.text) as {
      error: { code: string; message: string; details: unknown[] };
    };
    expect(body.error.code).toMatch(/^[a-z_]+$/);
    expect(typeof body.error.message).toBe('string');
    expect(Array.isArray(body.error.details)).toBe(true);
    expect(answer.text).not.toMatch(/\bat .+\.(ts|js):\d+/);
  }
}

async function stateOf(id: string) {
  const intent = await admin.getIntent(id);
  return { status: intent.status, events: (await admin.events(id)).items.length };
}

async function intentCount(): Promise<number> {
  let count = 0;
  for await (const _intent of admin.iterateIntents({ limit: 100 })) count += 1;
  return count;
}

const jsonish = fc.oneof(
  fc.json({ depthSize: 'small' }),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.jsonValue().map((value) => JSON.stringify(value)),
  fc
    .record(
      {
        intent_type: fc.oneof(fc.string(), fc.integer(), fc.constant(null)),
        to_agent: fc.oneof(fc.string(), fc.constant('')),
        payload: fc.oneof(fc.jsonValue(), fc.dictionary(fc.string(), fc.jsonValue())),
        reviewers: fc.array(fc.string({ unit: 'binary' })),
        policy: fc.dictionary(fc.string(), fc.jsonValue()),
        callback_url: fc.oneof(fc.webUrl(), fc.string()),
      },
      { requiredKeys: [] },
    )
    .map((value) => JSON.stringify(value)),
);

describe('hostile input', () => {
  it('any body to POST /v1/intents: a contract answer, and a refusal creates nothing', async () => {
    await fc.assert(
      fc.asyncProperty(jsonish, async (body) => {
        const before = await intentCount();
        const answer = await send('POST', '/v1/intents', {
          key: stack.settings.api_keys.agent,
          body,
        });
        expectContractAnswer(answer);
        if (answer.status >= 400) expect(await intentCount()).toBe(before);
      }),
      { numRuns: 60 },
    );
  }, 180_000);

  it('any decision body: a contract answer, and a refusal changes nothing', async () => {
    await fc.assert(
      fc.asyncProperty(
        jsonish.filter((body) => !/"outcome"\s*:\s*"(approve|reject)"/.test(body)),
        async (body) => {
          const before = await stateOf(pendingId);
          const answer = await send('POST', `/v1/intents/${pendingId}/decision`, {
            key: reviewerKey,
            body,
          });
          expectContractAnswer(answer);
          expect(answer.status).toBeGreaterThanOrEqual(400);
          expect(await stateOf(pendingId)).toEqual(before);
        },
      ),
      { numRuns: 40 },
    );
  }, 180_000);

  it('any query, path id and header: a contract answer', async () => {
    const text = fc.string({ unit: 'grapheme', maxLength: 60 });
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          query: fc.dictionary(
            fc.constantFrom('status', 'limit', 'cursor', 'reviewer', 'timeout', 'x'),
            text,
          ),
          id: text,
          authorization: fc.oneof(
            fc.constant(`Bearer ${stack.settings.api_keys.agent}`),
            fc.string({ maxLength: 80 }).map((value) => value.replace(/[^\x20-\x7e]/g, '')),
          ),
          idempotencyKey: fc.string({ maxLength: 300 }).map((v) => v.replace(/[^\x20-\x7e]/g, '')),
          path: fc.constantFrom('', '/wait', '/events'),
        }),
        async ({ query, id, authorization, idempotencyKey, path }) => {
          const search = new URLSearchParams(query).toString();
          const target = `/v1/intents/${encodeURIComponent(id) || 'x'}${path}?${search}`;
          expectContractAnswer(await send('GET', target, { headers: { authorization } }));
          expectContractAnswer(
            await send('GET', `/v1/intents?${search}`, { headers: { authorization } }),
          );
          expectContractAnswer(
            await send('POST', '/v1/intents', {
              headers: { authorization, 'idempotency-key': idempotencyKey },
              body: '{"intent_type":"x"}',
            }),
          );
        },
      ),
      { numRuns: 40 },
    );
  }, 180_000);

  it('forged, mutated and random review tokens: a clear page, never a decision', async () => {
    const token = reviewUrl.slice(reviewUrl.lastIndexOf('/') + 1);
    const mutated = fc
      .tuple(fc.nat({ max: token.length - 1 }), fc.constantFrom(...'AZaz09-_.'.split('')))
      .map(([index, char]) => token.slice(0, index) + char + token.slice(index + 1))
      .filter((candidate) => candidate !== token);
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(mutated, fc.string({ minLength: 1, maxLength: 300 })),
        fc.constantFrom('approve', 'reject'),
        async (candidate, outcome) => {
          const before = await stateOf(pendingId);
          const url = `/review/${encodeURIComponent(candidate)}`;
          const page = await send('GET', url);
          expect(page.status).toBeLessThan(500);
          const post = await fetch(`${stack.url}${url}`, {
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            body: new URLSearchParams({ outcome, comment: 'forged', nonce: 'x' }).toString(),
          });
          expect(post.status).toBeGreaterThanOrEqual(400);
          expect(post.status).toBeLessThan(500);
          expect(await stateOf(pendingId)).toEqual(before);
        },
      ),
      { numRuns: 40 },
    );
  }, 180_000);

  it('oversized, deeply nested and mis-typed bodies are refused with the contract shape', async () => {
    const key = stack.settings.api_keys.agent;
    const deep = `${'['.repeat(20_000)}${']'.repeat(20_000)}`;
    const cases = [
      { body: 'x'.repeat(11 * 1024 * 1024), status: 413 },
      { body: deep, status: 400 },
      { body: `{"intent_type":"a.b","to_agent":"x","payload":${deep}}`, status: 400 },
      { body: '\u0000\u0001', status: 400 },
      // A lone surrogate escaped in JSON: valid JSON, not valid Unicode.
      {
        body: '{"intent_type":"a.b","to_agent":"x","payload":{"\\ud800":"\\udfff"},"reviewers":["a@b.co"]}',
        status: 400,
      },
    ];
    for (const { body, status } of cases) {
      const answer = await send('POST', '/v1/intents', { key, body });
      expectContractAnswer(answer);
      expect([status].flat()).toContain(answer.status);
    }
  }, 60_000);

  it('accepts any JSON object within the limits and gives it back unchanged', async () => {
    let nested: Record<string, unknown> = { leaf: 'bottom' };
    for (let level = 0; level < 40; level += 1) nested = { level, nested };
    const payload = {
      reviewer: 'cfo@company.com',
      huge: 1.7976931348623157e308,
      tiny: 5e-324,
      long: 1.2345678901234568e29,
      '': 'empty key',
      emoji: '👩🏽‍💻 résumé',
      nested,
    };
    const id = await agent.sendIntent({
      intent_type: 'intent.fuzz.v1',
      to_agent: 'agent://myorg/fuzz',
      payload,
    });
    expect((await agent.getIntent(id)).payload).toEqual(payload);
  });

  it('CR/LF in a summary never reaches an email header; markup in a payload is escaped', async () => {
    const id = await agent.sendIntent({
      intent_type: 'intent.fuzz.v1',
      to_agent: 'agent://myorg/fuzz',
      summary: 'Pay invoice\r\nBcc: everyone@company.com',
      payload: {
        reviewer: 'cfo@company.com',
        note: '<script>alert(1)</script><img src=x onerror=alert(2)>',
      },
    });
    const message = await until(
      async () =>
        (await outbox()).find((item) => item.intent_id === id && item.channel === 'email'),
      15_000,
      'the email',
    );
    expect(message.subject).not.toMatch(/[\r\n]/);
    const page = await (await fetch(message.review_url ?? '')).text();
    expect(page).not.toContain('<script>alert(1)</script>');
    expect(page).not.toContain('<img src=x');
    expect(page).toContain('&lt;script&gt;');
  });
});
