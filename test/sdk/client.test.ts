import { afterEach, describe, expect, it } from 'vitest';
import { CountersignClient, type Intent } from '../../sdk/src/index.js';
import {
  AGENT,
  approvedIntent,
  dropConnection,
  hold,
  makeIntent,
  recordingSleep,
  ScriptedServer,
  sendError,
  sendJson,
} from './scripted-server.js';

const apiKey = 'csk_test-agent-key';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

let server: ScriptedServer | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

describe('CountersignClient: the four-line flow', () => {
  it('creates an intent, long-polls while it is pending, and returns the approved intent', async () => {
    let waits = 0;
    server = await ScriptedServer.start(async (request, response) => {
      if (request.method === 'POST' && request.path === '/v1/intents') {
        sendJson(response, 201, makeIntent());
      } else if (request.path === '/v1/intents/int_01JDTEST/wait') {
        waits += 1;
        if (waits === 1) {
          // The first long poll runs out with nobody having decided yet.
          await hold(response, 1_000);
          sendJson(response, 200, makeIntent());
        } else {
          sendJson(response, 200, approvedIntent());
        }
      } else {
        sendError(response, 404, 'not_found', 'No such resource.');
      }
    });
    const baseUrl = server.baseUrl;

    const client = new CountersignClient({ baseUrl, apiKey });
    const id = await client.sendIntent({
      intent_type: 'intent.report.review_approval.v1',
      to_agent: 'agent://myorg/production/report-generator',
      payload: { report: 'Q1 Financial Summary', pii_detected: false, reviewer: 'cfo@company.com' },
    });
    const result = await client.waitFor(id);

    expect(id).toBe('int_01JDTEST');
    expect(result.status).toBe('approved');
    expect(result.decision).toMatchObject({ outcome: 'approved', by: 'cfo@company.com' });

    const [create, ...polls] = server.requests;
    expect(create?.headers.authorization).toBe(`Bearer ${apiKey}`);
    expect(create?.headers['content-type']).toBe('application/json');
    expect(create?.headers['user-agent']).toMatch(/^countersign-sdk-typescript\/\d+\.\d+\.\d+$/);
    expect(create?.headers['idempotency-key']).toMatch(UUID);
    expect(JSON.parse(create?.body ?? '')).toEqual({
      intent_type: 'intent.report.review_approval.v1',
      to_agent: AGENT,
      payload: { report: 'Q1 Financial Summary', pii_detected: false, reviewer: 'cfo@company.com' },
    });
    expect(polls.map((poll) => `${poll.method} ${poll.path}?${poll.query}`)).toEqual([
      'GET /v1/intents/int_01JDTEST/wait?timeout=20',
      'GET /v1/intents/int_01JDTEST/wait?timeout=20',
    ]);
  });
});

describe('CountersignClient: creating intents', () => {
  it('retries a create whose connection dropped, with the same Idempotency-Key, creating once', async () => {
    const createdByKey = new Map<string, Intent>();
    let attempts = 0;
    server = await ScriptedServer.start((request, response) => {
      attempts += 1;
      const key = String(request.headers['idempotency-key']);
      if (attempts === 1) {
        // The server stored the intent, then the connection died before the answer left.
        createdByKey.set(key, makeIntent({ id: 'int_first' }));
        dropConnection(response);
        return;
      }
      const existing = createdByKey.get(key);
      if (existing) {
        sendJson(response, 200, existing);
      } else {
        const intent = makeIntent({ id: `int_${createdByKey.size + 1}` });
        createdByKey.set(key, intent);
        sendJson(response, 201, intent);
      }
    });
    const { sleep, delays } = recordingSleep();
    const client = new CountersignClient({ baseUrl: server.baseUrl, apiKey, sleep });

    const id = await client.sendIntent({
      intent_type: 't.v1',
      to_agent: AGENT,
      payload: { reviewer: 'a@x.com' },
    });

    expect(id).toBe('int_first');
    expect(createdByKey.size).toBe(1);
    const keys = server.requests.map((request) => request.headers['idempotency-key']);
    expect(keys).toHaveLength(2);
    expect(keys[0]).toMatch(UUID);
    expect(keys[1]).toBe(keys[0]);
    expect(server.requests[1]?.body).toBe(server.requests[0]?.body);
    expect(delays).toHaveLength(1);
    expect(delays[0]).toBeGreaterThanOrEqual(125);
    expect(delays[0]).toBeLessThanOrEqual(250);
  });

  it('retries 503 and 429 (honouring Retry-After) and then returns the whole intent', async () => {
    const answers = [
      () => ({
        status: 503,
        body: { error: { code: 'internal', message: 'busy', details: [] } },
        headers: {},
      }),
      () => ({
        status: 429,
        body: { message: 'Too Many Requests' },
        headers: { 'Retry-After': '2' },
      }),
      () => ({ status: 201, body: makeIntent({ id: 'int_after_retries' }), headers: {} }),
    ];
    server = await ScriptedServer.start((_request, response) => {
      const answer = answers.shift()?.();
      if (answer) sendJson(response, answer.status, answer.body, answer.headers);
    });
    const { sleep, delays } = recordingSleep();
    const client = new CountersignClient({ baseUrl: server.baseUrl, apiKey, sleep });

    const intent = await client.createIntent(
      { intent_type: 't.v1', to_agent: AGENT, payload: {} },
      { idempotencyKey: 'report-2026-q1' },
    );

    expect(intent.id).toBe('int_after_retries');
    expect(server.requests.map((request) => request.headers['idempotency-key'])).toEqual([
      'report-2026-q1',
      'report-2026-q1',
      'report-2026-q1',
    ]);
    expect(delays[0]).toBeLessThanOrEqual(250);
    expect(delays[1]).toBe(2_000);
  });

  it('gives each create call its own key, and gives up after maxRetries', async () => {
    server = await ScriptedServer.start((_request, response) => {
      sendError(response, 500, 'internal', 'Internal server error.');
    });
    let generated = 0;
    const client = new CountersignClient({
      baseUrl: server.baseUrl,
      apiKey,
      sleep: recordingSleep().sleep,
      maxRetries: 2,
      generateIdempotencyKey: () => `key-${++generated}`,
    });
    const request = { intent_type: 't.v1', to_agent: AGENT, payload: {} };

    await expect(client.sendIntent(request)).rejects.toMatchObject({
      status: 500,
      code: 'internal',
    });
    await expect(client.sendIntent(request)).rejects.toMatchObject({ status: 500 });

    expect(server.requests.map((r) => r.headers['idempotency-key'])).toEqual([
      'key-1',
      'key-1',
      'key-1',
      'key-2',
      'key-2',
      'key-2',
    ]);
  });
});

describe('CountersignClient: listing intents', () => {
  const all = ['int_5', 'int_4', 'int_3', 'int_2', 'int_1'].map((id) => makeIntent({ id }));

  async function startPagingServer(): Promise<ScriptedServer> {
    return ScriptedServer.start((request, response) => {
      const limit = Number(request.query.get('limit') ?? 50);
      const start = Number(request.query.get('cursor')?.replace('c', '') ?? 0);
      const items = all.slice(start, start + limit);
      const next = start + limit < all.length ? `c${start + limit}` : null;
      sendJson(response, 200, { items, next_cursor: next });
    });
  }

  it('returns one page with its cursor and sends the query', async () => {
    server = await startPagingServer();
    const client = new CountersignClient({ baseUrl: server.baseUrl, apiKey });

    const page = await client.listIntents({ status: 'pending', reviewer: 'me', limit: 2 });

    expect(page.items.map((intent) => intent.id)).toEqual(['int_5', 'int_4']);
    expect(page.next_cursor).toBe('c2');
    expect(server.requests[0]?.path).toBe('/v1/intents');
    expect(Object.fromEntries(server.requests[0]?.query ?? [])).toEqual({
      status: 'pending',
      reviewer: 'me',
      limit: '2',
    });
  });

  it('iterates every page by following next_cursor until it is null', async () => {
    server = await startPagingServer();
    const client = new CountersignClient({ baseUrl: server.baseUrl, apiKey });

    const ids: string[] = [];
    for await (const intent of client.iterateIntents({ status: 'pending', limit: 2 })) {
      ids.push(intent.id);
    }

    expect(ids).toEqual(['int_5', 'int_4', 'int_3', 'int_2', 'int_1']);
    expect(server.requests.map((request) => request.query.get('cursor'))).toEqual([
      null,
      'c2',
      'c4',
    ]);
    expect(server.requests.every((request) => request.query.get('status') === 'pending')).toBe(
      true,
    );
  });
});

describe('CountersignClient: every other call', () => {
  async function startEchoServer(): Promise<ScriptedServer> {
    return ScriptedServer.start((request, response) => {
      sendJson(response, 200, { echoed: `${request.method} ${request.path}` });
    });
  }

  it('sends each call to its route with its body', async () => {
    server = await startEchoServer();
    const client = new CountersignClient({ baseUrl: `${server.baseUrl}/`, apiKey });

    await client.getIntent('int/1');
    await client.decide('int_1', { outcome: 'approve', comment: 'ok', channel: 'cli' });
    await client.approve('int_1');
    await client.reject('int_1', 'names customers');
    await client.cancel('int_1', 'withdrawn');
    await client.cancel('int_1');
    await client.events('int_1');
    await client.createKey({ role: 'reviewer', principal: 'cfo@company.com' });
    await client.listKeys();
    await client.revokeKey('key_1');
    await client.putTeam({ name: 'finance', members: ['a@x.com'], slack_channel: 'C0123' });
    await client.listTeams();
    await client.deleteTeam('finance');
    await client.health();

    expect(server.requests.map((r) => [`${r.method} ${r.path}`, r.body])).toEqual([
      ['GET /v1/intents/int%2F1', ''],
      ['POST /v1/intents/int_1/decision', '{"outcome":"approve","comment":"ok","channel":"cli"}'],
      ['POST /v1/intents/int_1/decision', '{"outcome":"approve"}'],
      ['POST /v1/intents/int_1/decision', '{"outcome":"reject","comment":"names customers"}'],
      ['POST /v1/intents/int_1/cancel', '{"reason":"withdrawn"}'],
      ['POST /v1/intents/int_1/cancel', '{}'],
      ['GET /v1/intents/int_1/events', ''],
      ['POST /v1/keys', '{"role":"reviewer","principal":"cfo@company.com"}'],
      ['GET /v1/keys', ''],
      ['DELETE /v1/keys/key_1', ''],
      ['POST /v1/teams', '{"name":"finance","members":["a@x.com"],"slack_channel":"C0123"}'],
      ['GET /v1/teams', ''],
      ['DELETE /v1/teams/finance', ''],
      ['GET /healthz', ''],
    ]);
    const authorizations = server.requests.map((request) => request.headers.authorization);
    expect(authorizations.slice(0, -1).every((value) => value === `Bearer ${apiKey}`)).toBe(true);
    // The health check needs no key, so it is not sent.
    expect(authorizations.at(-1)).toBeUndefined();
    // Only intent creation carries an idempotency key.
    expect(
      server.requests.some((request) => request.headers['idempotency-key'] !== undefined),
    ).toBe(false);
  });

  it('keeps a base URL path prefix, such as an API Gateway stage', async () => {
    server = await startEchoServer();
    const client = new CountersignClient({ baseUrl: `${server.baseUrl}/prod/`, apiKey });

    await client.health();

    expect(server.requests[0]?.path).toBe('/prod/healthz');
  });

  it('puts the caller’s product token in front of the SDK’s User-Agent', async () => {
    server = await startEchoServer();
    const client = new CountersignClient({
      baseUrl: server.baseUrl,
      apiKey,
      userAgent: 'my-agent/1.2',
    });

    await client.health();

    expect(server.requests[0]?.headers['user-agent']).toMatch(
      /^my-agent\/1\.2 countersign-sdk-typescript\//,
    );
  });

  it('does not retry a decision, which the server would answer with 409 the second time', async () => {
    server = await ScriptedServer.start((_request, response) => dropConnection(response));
    const client = new CountersignClient({
      baseUrl: server.baseUrl,
      apiKey,
      sleep: recordingSleep().sleep,
    });

    await expect(client.approve('int_1', 'ok')).rejects.toMatchObject({ code: 'network_error' });

    expect(server.requests).toHaveLength(1);
  });

  it('refuses a configuration it cannot work with, naming the option', () => {
    expect(() => new CountersignClient({ baseUrl: 'localhost', apiKey })).toThrow(/baseUrl/);
    expect(() => new CountersignClient({ baseUrl: 'http://127.0.0.1:4700', apiKey: '' })).toThrow(
      /apiKey/,
    );
  });
});
