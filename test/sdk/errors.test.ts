import { afterEach, describe, expect, it } from 'vitest';
import {
  CountersignClient,
  CountersignError,
  CountersignNetworkError,
  isCountersignError,
} from '../../sdk/src/index.js';
import {
  approvedIntent,
  recordingSleep,
  ScriptedServer,
  sendError,
  sendJson,
} from './scripted-server.js';

const apiKey = 'csk_secret-key-that-must-not-leak';

let server: ScriptedServer | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

/** Runs `call` against a server giving one scripted answer to every request; returns the error. */
async function errorFrom(
  answer: Parameters<typeof ScriptedServer.start>[0],
  call: (client: CountersignClient) => Promise<unknown>,
): Promise<CountersignError> {
  server = await ScriptedServer.start(answer);
  const client = new CountersignClient({
    baseUrl: server.baseUrl,
    apiKey,
    sleep: recordingSleep().sleep,
  });
  const error = await call(client).then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  if (!(error instanceof CountersignError))
    throw new Error(`expected a CountersignError, got ${String(error)}`);
  return error;
}

describe('CountersignError: mapping the contract’s error responses', () => {
  it('400 validation_failed carries the details naming each field, and the request id', async () => {
    const details = [
      { field: 'intent_type', message: 'is required' },
      { field: 'policy.timeout.after', message: 'must be at least 1 second' },
    ];
    const error = await errorFrom(
      (_request, response) =>
        sendError(response, 400, 'validation_failed', 'The request has invalid fields.', {
          details,
          headers: { 'x-amzn-RequestId': 'req-123' },
        }),
      (client) => client.sendIntent({ intent_type: '', to_agent: 'a', payload: {} }),
    );

    expect(error).toBeInstanceOf(CountersignError);
    expect(error.name).toBe('CountersignError');
    expect(error.status).toBe(400);
    expect(error.code).toBe('validation_failed');
    expect(error.message).toBe('The request has invalid fields.');
    expect(error.details).toEqual(details);
    expect(error.requestId).toBe('req-123');
    expect(error.intent).toBeUndefined();
    expect(server?.requests).toHaveLength(1);
  });

  it('401 is permanent, and the API key never appears in the error even when the server echoes it', async () => {
    const error = await errorFrom(
      (request, response) =>
        sendError(
          response,
          401,
          'unauthenticated',
          `Unknown key in "${request.headers.authorization}".`,
        ),
      (client) => client.getIntent('int_1'),
    );

    expect(error).toMatchObject({ status: 401, code: 'unauthenticated' });
    expect(error.message).toBe('Unknown key in "Bearer [redacted]".');
    expect(JSON.stringify({ ...error, message: error.message, stack: error.stack })).not.toContain(
      apiKey,
    );
    expect(server?.requests).toHaveLength(1);
  });

  it.each([
    [403, 'not_a_reviewer', 'You are not a reviewer of this intent.'],
    [404, 'not_found', 'No such intent.'],
    [413, 'payload_too_large', 'The payload is larger than 128 KiB.'],
  ])('%i %s keeps status, code and message and is not retried', async (status, code, message) => {
    const error = await errorFrom(
      (_request, response) => sendError(response, status, code, message),
      (client) => client.getIntent('int_1'),
    );

    expect(error).toMatchObject({ status, code, message, details: [] });
    expect(isCountersignError(error)).toBe(true);
    expect(server?.requests).toHaveLength(1);
  });

  it('409 carries the intent as it is now', async () => {
    const error = await errorFrom(
      (_request, response) =>
        sendError(response, 409, 'already_decided', 'This intent was already decided.', {
          intent: approvedIntent({ id: 'int_1' }),
        }),
      (client) => client.approve('int_1', 'ok'),
    );

    expect(error).toMatchObject({ status: 409, code: 'already_decided' });
    expect(error.intent?.id).toBe('int_1');
    expect(error.intent?.status).toBe('approved');
    expect(error.intent?.decision?.by).toBe('cfo@company.com');
  });

  it('a non-JSON 502 from a proxy still gives status, an http_502 code and the gist, after retries', async () => {
    const error = await errorFrom(
      (_request, response) => {
        response.writeHead(502, { 'Content-Type': 'text/html' });
        response.end('<html><body><h1>502 Bad Gateway</h1>\n<p>nginx</p></body></html>');
      },
      (client) => client.getIntent('int_1'),
    );

    expect(error).toMatchObject({ status: 502, code: 'http_502', details: [] });
    expect(error.message).toContain('GET /v1/intents/int_1 failed with HTTP 502 Bad Gateway');
    expect(error.message).toContain('502 Bad Gateway</h1> <p>nginx');
    // A read is safe to repeat: the first try and three retries.
    expect(server?.requests).toHaveLength(4);
  });

  it('API Gateway’s own {"message"} bodies give their message', async () => {
    const error = await errorFrom(
      (_request, response) => sendJson(response, 403, { message: 'Missing Authentication Token' }),
      (client) => client.listTeams(),
    );

    expect(error).toMatchObject({ status: 403, code: 'http_403' });
    expect(error.message).toBe(
      'GET /v1/teams failed with HTTP 403 Forbidden: Missing Authentication Token',
    );
  });

  it('a 2xx body that is not JSON is an invalid_response, not a crash', async () => {
    const error = await errorFrom(
      (_request, response) => {
        response.writeHead(200, { 'Content-Type': 'text/plain' });
        response.end('ok');
      },
      (client) => client.health(),
    );

    expect(error).toMatchObject({ status: 200, code: 'invalid_response' });
    expect(error.cause).toBeInstanceOf(SyntaxError);
  });
});

describe('CountersignNetworkError', () => {
  it('says the API could not be reached, keeps fetch’s error as cause, and hides the key', async () => {
    const closed = await ScriptedServer.start(() => undefined);
    const baseUrl = closed.baseUrl;
    await closed.stop();
    const { sleep, delays } = recordingSleep();
    const client = new CountersignClient({ baseUrl, apiKey, sleep, maxRetries: 1 });

    const error = await client.getIntent('int_1').catch((thrown: unknown) => thrown);

    expect(error).toBeInstanceOf(CountersignNetworkError);
    expect(error).toBeInstanceOf(CountersignError);
    expect(error).toMatchObject({
      name: 'CountersignNetworkError',
      code: 'network_error',
      status: undefined,
    });
    expect((error as Error).message).toMatch(
      /GET \/v1\/intents\/int_1 failed: could not reach http:\/\/127\.0\.0\.1:\d+ \(.*ECONNREFUSED/,
    );
    expect((error as Error).message).not.toContain(apiKey);
    expect((error as Error).cause).toBeInstanceOf(TypeError);
    expect(delays).toHaveLength(1);
  });

  it('a call slower than requestTimeoutMs fails with request_timeout', async () => {
    server = await ScriptedServer.start(() => {
      // Never answers.
    });
    const client = new CountersignClient({
      baseUrl: server.baseUrl,
      apiKey,
      requestTimeoutMs: 200,
      maxRetries: 0,
    });
    const startedAt = Date.now();

    const error = await client.getIntent('int_1').catch((thrown: unknown) => thrown);

    expect(error).toBeInstanceOf(CountersignNetworkError);
    expect(error).toMatchObject({ code: 'request_timeout' });
    expect(Date.now() - startedAt).toBeLessThan(1_000);
  });
});

describe('isCountersignError', () => {
  it('recognises the SDK’s errors and nothing else', () => {
    expect(isCountersignError(new CountersignError('x', { code: 'not_found', status: 404 }))).toBe(
      true,
    );
    expect(isCountersignError(new Error('x'))).toBe(false);
    expect(isCountersignError({ code: 'not_found', status: 404 })).toBe(false);
    expect(isCountersignError(undefined)).toBe(false);
  });
});
