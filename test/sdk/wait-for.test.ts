import { afterEach, describe, expect, it } from 'vitest';
import {
  CountersignClient,
  CountersignNetworkError,
  WaitTimeoutError,
} from '../../sdk/src/index.js';
import {
  approvedIntent,
  hold,
  makeIntent,
  recordingSleep,
  ScriptedServer,
  sendError,
  sendJson,
  until,
} from './scripted-server.js';

const apiKey = 'csk_test-agent-key';
const WAIT_PATH = '/v1/intents/int_01JDTEST/wait';

let server: ScriptedServer | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

/** A long poll that behaves like the real one: holds for `timeout` seconds, then says pending. */
async function holdThenPending(
  request: { query: URLSearchParams },
  response: Parameters<typeof sendJson>[0],
) {
  await hold(response, Number(request.query.get('timeout')) * 1000);
  sendJson(response, 200, makeIntent());
}

describe('waitFor: surviving failures', () => {
  it('survives the server being stopped mid-poll and restarted on the same port', async () => {
    server = await ScriptedServer.start(() => {
      // The first server never answers: it is stopped while this long poll is open.
    });
    const delays: number[] = [];
    const client = new CountersignClient({
      baseUrl: server.baseUrl,
      apiKey,
      // Record each backoff, but keep the real waiting short so the test stays fast.
      sleep: async (ms) => {
        delays.push(ms);
        await new Promise((resolve) => setTimeout(resolve, 10));
      },
    });
    const port = server.port;

    const waiting = client.waitFor('int_01JDTEST');
    await until(() => server?.requests.length === 1);
    await server.stop();
    // While the server is down every attempt is refused; let a few of them back off.
    await until(() => delays.length >= 4);
    await server.restart((_request, response) => sendJson(response, 200, approvedIntent()));
    const result = await waiting;

    expect(result.status).toBe('approved');
    expect(server.port).toBe(port);
    // Two polls reached a server: the one cut by the stop and the one after the restart.
    expect(server.requestsTo(WAIT_PATH)).toHaveLength(2);
    expect(server.requests.at(-1)?.headers.authorization).toBe(`Bearer ${apiKey}`);
    // Exponential backoff with jitter: each delay is in the upper half of its doubling step.
    const steps = [250, 500, 1000, 2000];
    steps.forEach((step, index) => {
      expect(delays[index]).toBeGreaterThanOrEqual(step / 2);
      expect(delays[index]).toBeLessThanOrEqual(step);
    });
  });

  it('caps the backoff at 5 s and resets it after an answer', async () => {
    const script = [503, 503, 503, 503, 503, 503, 503, 'pending', 503, 'approved'] as const;
    server = await ScriptedServer.start((_request, response) => {
      const next = script[server ? server.requests.length - 1 : 0];
      if (next === 'pending') sendJson(response, 200, makeIntent());
      else if (next === 'approved') sendJson(response, 200, approvedIntent());
      else sendError(response, 503, 'internal', 'unavailable');
    });
    const { sleep, delays } = recordingSleep();
    const client = new CountersignClient({ baseUrl: server.baseUrl, apiKey, sleep });

    const result = await client.waitFor('int_01JDTEST');

    expect(result.status).toBe('approved');
    expect(server.requests).toHaveLength(script.length);
    // Seven failures: 250, 500, 1000, 2000, 4000, then the 5 s cap.
    const backoffs = delays.slice(0, 7);
    expect(backoffs[5]).toBeGreaterThanOrEqual(2_500);
    expect(Math.max(...backoffs)).toBeLessThanOrEqual(5_000);
    // The pending answer came back at once: the client spaces polls at least a second apart...
    expect(delays[7]).toBeGreaterThan(500);
    expect(delays[7]).toBeLessThanOrEqual(1_000);
    // ...and the failure after that answer backs off from the start again.
    expect(delays[8]).toBeLessThanOrEqual(250);
  });

  it.each([
    [401, 'unauthenticated'],
    [403, 'forbidden'],
    [404, 'not_found'],
  ])('throws %i %s at once: it is permanent', async (status, code) => {
    server = await ScriptedServer.start((_request, response) =>
      sendError(response, status, code, 'no'),
    );
    const { sleep, delays } = recordingSleep();
    const client = new CountersignClient({ baseUrl: server.baseUrl, apiKey, sleep });

    await expect(client.waitFor('int_01JDTEST')).rejects.toMatchObject({ status, code });

    expect(server.requests).toHaveLength(1);
    expect(delays).toEqual([]);
  });

  it('returns at once for an intent that is already final', async () => {
    server = await ScriptedServer.start((_request, response) =>
      sendJson(response, 200, makeIntent({ status: 'cancelled' })),
    );
    const client = new CountersignClient({ baseUrl: server.baseUrl, apiKey });

    const result = await client.waitFor('int_01JDTEST', { pollSeconds: 99 });

    expect(result.status).toBe('cancelled');
    // pollSeconds is clamped to the contract's 25.
    expect(server.requests[0]?.query.get('timeout')).toBe('25');
  });
});

describe('waitFor: timeoutMs', () => {
  it('throws WaitTimeoutError with the last pending intent, shrinking the last poll to fit', async () => {
    server = await ScriptedServer.start(holdThenPending);
    const client = new CountersignClient({ baseUrl: server.baseUrl, apiKey });
    const startedAt = Date.now();

    const error = await client
      .waitFor('int_01JDTEST', { timeoutMs: 2_500, pollSeconds: 2 })
      .catch((thrown: unknown) => thrown);
    const elapsed = Date.now() - startedAt;

    expect(error).toBeInstanceOf(WaitTimeoutError);
    expect(error).toMatchObject({
      name: 'WaitTimeoutError',
      code: 'wait_timeout',
      status: undefined,
      intentId: 'int_01JDTEST',
      timeoutMs: 2_500,
    });
    expect((error as WaitTimeoutError).intent?.status).toBe('pending');
    // 2 s, then the ~0.5 s left rounded up to the API's 1 s minimum.
    expect(server.requests.map((request) => request.query.get('timeout'))).toEqual(['2', '1']);
    expect(elapsed).toBeGreaterThanOrEqual(2_500);
    expect(elapsed).toBeLessThan(2_500 + 1_000 + 250);
  });

  it('does not overshoot by more than a second when the server holds the poll too long', async () => {
    server = await ScriptedServer.start(async (_request, response) => {
      await hold(response, 60_000);
      sendJson(response, 200, makeIntent());
    });
    const client = new CountersignClient({ baseUrl: server.baseUrl, apiKey });
    const startedAt = Date.now();

    const error = await client
      .waitFor('int_01JDTEST', { timeoutMs: 1_200 })
      .catch((thrown: unknown) => thrown);
    const elapsed = Date.now() - startedAt;

    expect(error).toBeInstanceOf(WaitTimeoutError);
    expect((error as WaitTimeoutError).intent).toBeUndefined();
    expect((error as WaitTimeoutError).cause).toBeInstanceOf(CountersignNetworkError);
    expect(elapsed).toBeGreaterThanOrEqual(1_200);
    expect(elapsed).toBeLessThan(1_200 + 1_000 + 250);
  });

  it('times out on schedule while the server is down, citing the last failure', async () => {
    const closed = await ScriptedServer.start(() => undefined);
    const baseUrl = closed.baseUrl;
    await closed.stop();
    const client = new CountersignClient({ baseUrl, apiKey });
    const startedAt = Date.now();

    const error = await client
      .waitFor('int_01JDTEST', { timeoutMs: 1_500 })
      .catch((thrown: unknown) => thrown);
    const elapsed = Date.now() - startedAt;

    expect(error).toBeInstanceOf(WaitTimeoutError);
    expect((error as Error).message).toContain('without an answer from the API');
    expect((error as WaitTimeoutError).cause).toMatchObject({ code: 'network_error' });
    expect(elapsed).toBeGreaterThanOrEqual(1_500);
    expect(elapsed).toBeLessThan(1_500 + 500);
  });
});

describe('waitFor: abort', () => {
  it('rejects with an AbortError promptly while a long poll is open', async () => {
    server = await ScriptedServer.start(holdThenPending);
    const client = new CountersignClient({ baseUrl: server.baseUrl, apiKey });
    const controller = new AbortController();

    const waiting = client.waitFor('int_01JDTEST', { signal: controller.signal });
    await until(() => server?.requests.length === 1);
    const abortedAt = Date.now();
    controller.abort();
    const error = await waiting.catch((thrown: unknown) => thrown);

    expect(error).toBeInstanceOf(DOMException);
    expect((error as DOMException).name).toBe('AbortError');
    expect(Date.now() - abortedAt).toBeLessThan(250);
  });

  it('rejects with the signal’s own reason mid-backoff, even if the injected sleep ignores the signal', async () => {
    server = await ScriptedServer.start((_request, response) =>
      sendError(response, 503, 'internal', 'down'),
    );
    const delays: number[] = [];
    const client = new CountersignClient({
      baseUrl: server.baseUrl,
      apiKey,
      sleep: (ms) => {
        delays.push(ms);
        return new Promise<void>(() => {
          // Never resolves: only the abort can end this wait.
        });
      },
    });
    const controller = new AbortController();
    const reason = new Error('agent shutting down');

    const waiting = client.waitFor('int_01JDTEST', { signal: controller.signal });
    await until(() => delays.length === 1);
    controller.abort(reason);

    await expect(waiting).rejects.toBe(reason);
    expect(server.requests).toHaveLength(1);
  });

  it('sends nothing when the signal is already aborted', async () => {
    server = await ScriptedServer.start((_request, response) =>
      sendJson(response, 200, approvedIntent()),
    );
    const client = new CountersignClient({ baseUrl: server.baseUrl, apiKey });

    await expect(
      client.waitFor('int_01JDTEST', { signal: AbortSignal.abort() }),
    ).rejects.toMatchObject({
      name: 'AbortError',
    });
    expect(server.requests).toHaveLength(0);
  });

  it('aborts other calls too, mid-request', async () => {
    server = await ScriptedServer.start(async (_request, response) => {
      await hold(response, 10_000);
      sendJson(response, 200, {});
    });
    const client = new CountersignClient({ baseUrl: server.baseUrl, apiKey });
    const controller = new AbortController();

    const listing = client.listIntents({}, { signal: controller.signal });
    await until(() => server?.requests.length === 1);
    controller.abort();

    await expect(listing).rejects.toMatchObject({ name: 'AbortError' });
  });
});
