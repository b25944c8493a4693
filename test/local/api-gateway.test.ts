import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { afterEach, describe, expect, it } from 'vitest';
import { createApiGatewayServer } from '../../local/api-gateway';

/**
 * The local API Gateway must hand the handlers the event API Gateway would, and answer for
 * itself where API Gateway does (no route, too large, a crashed handler) in the contract's shape.
 */
let server: Server | undefined;
const received: { target: string; event: APIGatewayProxyEvent }[] = [];

afterEach(async () => {
  received.length = 0;
  await new Promise<void>((resolve) => {
    if (!server) return resolve();
    server.close(() => resolve());
    server.closeAllConnections();
  });
  server = undefined;
});

async function start(
  answer: (event: APIGatewayProxyEvent) => APIGatewayProxyResult = () => ({
    statusCode: 200,
    body: JSON.stringify({ ok: true }),
  }),
): Promise<string> {
  const created = createApiGatewayServer({
    routes: [
      { method: 'GET', path: '/v1/intents/{id}/wait', target: 'read' },
      { method: 'POST', path: '/v1/intents', target: 'write' },
      { method: 'HEAD', path: '/review/{token}', target: 'review' },
      { method: 'GET', path: '/review/{token}', target: 'review' },
    ],
    invoke: async (target, event) => {
      received.push({ target, event });
      return answer(event);
    },
    extra: (req, res) => {
      if (req.url !== '/_local/ping') return false;
      res.end('pong');
      return true;
    },
  });
  server = created;
  await new Promise<void>((resolve) => created.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(created.address() as AddressInfo).port}`;
}

describe('local API Gateway', () => {
  it('builds the proxy event: resource, decoded path parameters, queries, headers as sent', async () => {
    const url = await start();
    const response = await fetch(`${url}/v1/intents/int%5F01/wait?timeout=5&tag=a&tag=b`, {
      headers: { 'X-Custom-Header': 'kept', Authorization: 'Bearer k' },
    });
    expect(response.status).toBe(200);
    const [call] = received;
    expect(call?.target).toBe('read');
    expect(call?.event).toMatchObject({
      resource: '/v1/intents/{id}/wait',
      path: '/v1/intents/int%5F01/wait',
      httpMethod: 'GET',
      pathParameters: { id: 'int_01' },
      queryStringParameters: { timeout: '5', tag: 'b' },
      multiValueQueryStringParameters: { timeout: ['5'], tag: ['a', 'b'] },
      body: null,
      isBase64Encoded: false,
      requestContext: { stage: 'v1', resourcePath: '/v1/intents/{id}/wait' },
    });
    expect(call?.event.headers['X-Custom-Header']).toBe('kept');
    expect(call?.event.headers.Authorization).toBe('Bearer k');
  });

  it('passes the body as text and writes the handler status, headers and body back', async () => {
    const url = await start((event) => ({
      statusCode: 201,
      headers: { 'X-Echo': 'yes' },
      body: event.body ?? '',
    }));
    const response = await fetch(`${url}/v1/intents`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"é":"ü"}',
    });
    expect(response.status).toBe(201);
    expect(response.headers.get('x-echo')).toBe('yes');
    expect(await response.text()).toBe('{"é":"ü"}');
    expect(received[0]?.event.queryStringParameters).toBeNull();
  });

  it('answers HEAD with the headers of the page and no body', async () => {
    const url = await start(() => ({
      statusCode: 200,
      headers: { 'content-type': 'text/html' },
      body: '<p>page</p>',
    }));
    const response = await fetch(`${url}/review/abc`, { method: 'HEAD' });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-length')).toBe('11');
    expect(await response.text()).toBe('');
    expect(received[0]?.event.httpMethod).toBe('HEAD');
  });

  it.each([
    ['an unknown path', 'GET', '/v1/nothing'],
    ['a known path with another method', 'DELETE', '/v1/intents'],
    ['an empty path parameter', 'GET', '/v1/intents//wait'],
  ])(
    'answers %s with 404 not_found in the contract shape, invoking nothing',
    async (_name, method, path) => {
      const url = await start();
      const response = await fetch(`${url}${path}`, { method });
      expect(response.status).toBe(404);
      expect(await response.json()).toEqual({
        error: { code: 'not_found', message: 'No such route.', details: [] },
      });
      expect(received).toHaveLength(0);
    },
  );

  it('refuses a body over 10 MB with 413 before any handler runs', async () => {
    const url = await start();
    const response = await fetch(`${url}/v1/intents`, {
      method: 'POST',
      body: 'x'.repeat(10 * 1024 * 1024 + 1),
    });
    expect(response.status).toBe(413);
    expect(await response.json()).toMatchObject({ error: { code: 'payload_too_large' } });
    expect(received).toHaveLength(0);
  });

  it('turns a handler that throws into a 5xx in the contract shape without its message', async () => {
    const url = await start(() => {
      throw new Error('secret internals');
    });
    const response = await fetch(`${url}/v1/intents`, { method: 'POST', body: '{}' });
    expect(response.status).toBe(502);
    const text = await response.text();
    expect(JSON.parse(text)).toMatchObject({ error: { code: 'internal' } });
    expect(text).not.toContain('secret internals');
  });

  it('lets the local routes answer first', async () => {
    const url = await start();
    expect(await (await fetch(`${url}/_local/ping`)).text()).toBe('pong');
    expect(received).toHaveLength(0);
  });
});
