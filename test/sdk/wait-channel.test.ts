import type { ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import {
  CountersignClient,
  CountersignError,
  type WaitSocketConstructor,
  WaitTimeoutError,
} from '../../sdk/src/index.js';
import { approvedIntent, makeIntent, ScriptedServer, sendJson, until } from './scripted-server.js';

/**
 * `waitFor` over the wait channel against scripted servers: it reads the intent once, subscribes
 * on the WebSocket the answer names, resumes on the pushed (or answered) final intent, connects
 * again after a dropped connection or a silent one (finding a decision made meanwhile), throws
 * the contract's permanent errors, and long-polls where no usable channel is named.
 */
const apiKey = 'csk_test-agent-key';
const ID = 'int_01JDTEST';
const Socket = WebSocket as unknown as WaitSocketConstructor;

let http: ScriptedServer | undefined;
let channel: WebSocketServer | undefined;
afterEach(async () => {
  await http?.stop();
  for (const client of channel?.clients ?? []) client.terminate();
  await new Promise((resolve) => (channel ? channel.close(resolve) : resolve(undefined)));
  http = undefined;
  channel = undefined;
});

type Script = (message: Record<string, unknown>, socket: WebSocket, connection: number) => void;

/** A channel whose answers `script` gives; returns what it received, by connection. */
async function startChannel(script: Script) {
  channel = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise((resolve) => channel?.once('listening', resolve));
  const received: Record<string, unknown>[][] = [];
  channel.on('connection', (socket) => {
    const connection = received.length;
    received.push([]);
    socket.on('message', (data) => {
      const message = JSON.parse(String(data)) as Record<string, unknown>;
      received[connection]?.push(message);
      script(message, socket, connection);
    });
  });
  const { port } = channel.address() as AddressInfo;
  return { url: `ws://127.0.0.1:${port}/v1/wait`, received };
}

/** The REST side: GET /v1/intents/{id} answers `intent` naming `waitUrl`; /wait long-polls. */
async function startApi(waitUrl: string | undefined, intent = makeIntent()) {
  http = await ScriptedServer.start((request, response: ServerResponse) => {
    if (request.path.endsWith('/wait')) {
      sendJson(response, 200, approvedIntent());
      return;
    }
    response.writeHead(200, {
      'content-type': 'application/json',
      ...(waitUrl ? { 'countersign-wait-url': waitUrl } : {}),
    });
    response.end(JSON.stringify(intent));
  });
  return http;
}

const client = (baseUrl: string, requestTimeoutMs = 5_000) =>
  new CountersignClient({
    baseUrl,
    apiKey,
    webSocket: Socket,
    requestTimeoutMs,
    sleep: async () => undefined,
  });
const send = (socket: WebSocket, reply: unknown) => socket.send(JSON.stringify(reply));

describe('waitFor over the wait channel', () => {
  it('subscribes with the key and resumes on the pushed decision, without a long poll', async () => {
    const { url, received } = await startChannel((_message, socket) => {
      send(socket, { type: 'intent', intent: makeIntent() });
      setTimeout(() => send(socket, { type: 'intent', intent: approvedIntent() }), 50);
    });
    const api = await startApi(url);
    expect((await client(api.baseUrl).waitFor(ID)).status).toBe('approved');
    expect(received).toEqual([[{ action: 'subscribe', intent_id: ID, key: apiKey }]]);
    expect(api.requestsTo('/wait')).toEqual([]);
  });

  it('connects again after a dropped connection and finds the decision made meanwhile', async () => {
    const { url, received } = await startChannel((_message, socket, connection) => {
      if (connection === 0) {
        send(socket, { type: 'intent', intent: makeIntent() });
        setTimeout(() => socket.terminate(), 20);
      } else {
        send(socket, { type: 'intent', intent: approvedIntent() });
      }
    });
    const api = await startApi(url);
    expect((await client(api.baseUrl).waitFor(ID)).status).toBe('approved');
    expect(received).toHaveLength(2);
  });

  it('treats a connection that answers nothing as dropped', async () => {
    const { url, received } = await startChannel((_message, socket, connection) => {
      if (connection > 0) send(socket, { type: 'intent', intent: approvedIntent() });
    });
    const api = await startApi(url);
    expect((await client(api.baseUrl, 300).waitFor(ID)).status).toBe('approved');
    expect(received).toHaveLength(2);
  });

  it('retries a 5xx answer and throws a 404 at once', async () => {
    const { url, received } = await startChannel((_message, socket, connection) => {
      const error = (status: number, code: string) =>
        send(socket, {
          type: 'error',
          intent_id: ID,
          status,
          error: { code, message: code, details: [] },
        });
      if (connection === 0) error(500, 'internal');
      else error(404, 'not_found');
    });
    const api = await startApi(url);
    const failure = await client(api.baseUrl)
      .waitFor(ID)
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(CountersignError);
    expect(failure).toMatchObject({ code: 'not_found', status: 404 });
    expect(received).toHaveLength(2);
    // The socket is closed behind it, not left open.
    await until(() => (channel?.clients.size ?? 0) === 0);
  });

  it('gives up with WaitTimeoutError after timeoutMs, the intent still pending', async () => {
    const { url } = await startChannel((_message, socket) =>
      send(socket, { type: 'intent', intent: makeIntent() }),
    );
    const api = await startApi(url);
    const failure = await client(api.baseUrl)
      .waitFor(ID, { timeoutMs: 300 })
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(WaitTimeoutError);
    expect((failure as WaitTimeoutError).intent?.status).toBe('pending');
  });

  it('returns a final intent from the first read without connecting', async () => {
    const { url, received } = await startChannel(() => undefined);
    const api = await startApi(url, approvedIntent());
    expect((await client(api.baseUrl).waitFor(ID)).status).toBe('approved');
    expect(received).toEqual([]);
  });
});

describe('where waitFor long-polls instead', () => {
  it('when the channel is unreachable while the API answers (a proxy refusing WebSockets)', async () => {
    const { url } = await startChannel(() => undefined);
    await new Promise((resolve) => channel?.close(resolve));
    const api = await startApi(url);
    expect((await client(api.baseUrl, 500).waitFor(ID)).status).toBe('approved');
    // Read, three connections refused, read again (the API answers), then the long poll.
    expect(api.requests.map((request) => request.path)).toEqual([
      `/v1/intents/${ID}`,
      `/v1/intents/${ID}`,
      `/v1/intents/${ID}/wait`,
    ]);
  });

  it('when no channel is named, or one on another host, or webSocket is false', async () => {
    const { url, received } = await startChannel(() => undefined);
    for (const named of [undefined, url.replace('127.0.0.1', 'localhost')]) {
      const api = await startApi(named);
      expect((await client(api.baseUrl).waitFor(ID)).status).toBe('approved');
      expect(api.requestsTo('/wait')).toHaveLength(1);
      await api.stop();
    }
    const api = await startApi(url);
    const longPolling = new CountersignClient({ baseUrl: api.baseUrl, apiKey, webSocket: false });
    expect((await longPolling.waitFor(ID)).status).toBe('approved');
    expect(api.requests.map((request) => request.path)).toEqual([`/v1/intents/${ID}/wait`]);
    await until(() => true);
    expect(received).toEqual([]);
  });
});
