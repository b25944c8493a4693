import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { FetchFunction, WaitSocketConstructor } from '../../sdk/src/index';
import { CountersignClient } from '../../sdk/src/index';
import {
  newDataDir,
  rawRequest,
  removeDataDir,
  type StackProcess,
  startStack,
  until,
} from './harness';

/**
 * The wait channel on the local stack (`npm start`): `waitFor` subscribes over the WebSocket the
 * API names in `Countersign-Wait-Url` and resumes on the pushed decision without a long poll (one
 * connection, one subscribe); it
 * keeps waiting through a kill -9 and restart of the stack and through a dropped connection,
 * and finds a decision made while it was disconnected. A key learns nothing about intents it
 * may not read, and the channel answers only this machine's own pages and clients.
 */
let stack: StackProcess;
let dataDir: string;
let reviewerKey: string;
let otherAgentKey: string;

const intentBody = (n: number) => ({
  intent_type: 'intent.wait.v1',
  to_agent: 'agent://myorg/wait',
  payload: { n, reviewer: 'cfo@company.com' },
});

/** A client whose sockets and HTTP paths the test sees; `gate` may hold reconnections. */
function observedAgent(key = stack.settings.api_keys.agent) {
  const sockets: WebSocket[] = [];
  const paths: string[] = [];
  const sent: string[] = [];
  const gate = { open: true };
  class Observed extends WebSocket {
    constructor(url: string) {
      // A closed gate sends the connection where nothing listens: it fails like a network down.
      super(gate.open ? url : 'ws://127.0.0.1:9/');
      sockets.push(this);
    }
    override send(data: string): void {
      sent.push(data);
      super.send(data);
    }
  }
  const fetchObserved: FetchFunction = (input, init) => {
    paths.push(new URL(String(input)).pathname);
    return fetch(input, init);
  };
  const client = new CountersignClient({
    baseUrl: stack.url,
    apiKey: key,
    webSocket: Observed as unknown as WaitSocketConstructor,
    fetch: fetchObserved,
  });
  return { client, sockets, paths, sent, gate };
}

const reviewer = () => new CountersignClient({ baseUrl: stack.url, apiKey: reviewerKey });
const agent = () =>
  new CountersignClient({ baseUrl: stack.url, apiKey: stack.settings.api_keys.agent });
const openSockets = (sockets: WebSocket[]) =>
  sockets.filter((socket) => socket.readyState === WebSocket.OPEN).length;

/** A raw connection to the channel, collecting every message. */
async function rawChannel() {
  const socket = new WebSocket(`${stack.url.replace(/^http/, 'ws')}/v1/wait`);
  const messages: Record<string, unknown>[] = [];
  socket.on('message', (data) =>
    messages.push(JSON.parse(String(data)) as Record<string, unknown>),
  );
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  return { socket, messages };
}

beforeAll(async () => {
  dataDir = newDataDir();
  stack = await startStack(dataDir);
  const admin = new CountersignClient({
    baseUrl: stack.url,
    apiKey: stack.settings.api_keys.admin,
  });
  reviewerKey = (await admin.createKey({ role: 'reviewer', principal: 'cfo@company.com' })).key;
  otherAgentKey = (await admin.createKey({ role: 'agent', principal: 'agent://myorg/other' })).key;
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  if (dataDir) removeDataDir(dataDir);
});

describe('waiting over the WebSocket', () => {
  it('names the channel and resumes on the pushed decision, without a long poll', async () => {
    const id = await agent().sendIntent(intentBody(1));
    const { client, sockets, paths, sent } = observedAgent();
    const waiting = client.waitFor(id, { timeoutMs: 30_000 });
    await until(() => (openSockets(sockets) === 1 ? true : undefined), 10_000, 'a subscription');
    await reviewer().approve(id, 'fine');
    const result = await waiting;
    expect(result.status).toBe('approved');
    // Pushed: one connection, one subscribe (the next is 5 minutes away), no long poll. How fast
    // is the bench's to say (npm run bench, docs/performance.md), not a timed test's.
    expect(paths.filter((path) => path.endsWith('/wait'))).toEqual([]);
    expect(sockets).toHaveLength(1);
    expect(sent.map((data) => JSON.parse(data).action)).toEqual(['subscribe']);
  });

  it('finds a decision made while the connection was down', async () => {
    const id = await agent().sendIntent(intentBody(2));
    const { client, sockets, gate } = observedAgent();
    const waiting = client.waitFor(id, { timeoutMs: 60_000 });
    await until(() => (openSockets(sockets) === 1 ? true : undefined), 10_000, 'a subscription');
    // Drop the connection and keep it down (reconnections fail) while the reviewer decides.
    gate.open = false;
    sockets[0]?.terminate();
    await until(() => (sockets.length >= 2 ? true : undefined), 10_000, 'a failed reconnection');
    await reviewer().approve(id, 'while you were away');
    gate.open = true;
    expect((await waiting).status).toBe('approved');
    expect(sockets.length).toBeGreaterThanOrEqual(3);
  });

  it('keeps waiting through a kill -9 and restart of the stack', async () => {
    const id = await agent().sendIntent(intentBody(3));
    const { client, sockets } = observedAgent();
    const waiting = client.waitFor(id, { timeoutMs: 120_000 });
    await until(() => (openSockets(sockets) === 1 ? true : undefined), 10_000, 'a subscription');
    const port = Number(new URL(stack.url).port);
    await stack.kill();
    stack = await startStack(dataDir, port);
    await reviewer().reject(id, 'after the restart');
    expect((await waiting).status).toBe('rejected');
    expect(sockets.length).toBeGreaterThanOrEqual(2);
  }, 180_000);
});

describe('what a key learns on the channel', () => {
  it('another agent, an unknown key and a reviewer not asked get what GET would give, and no push', async () => {
    const id = await agent().sendIntent(intentBody(4));
    const { socket, messages } = await rawChannel();
    const subscribe = (key: string) =>
      socket.send(JSON.stringify({ action: 'subscribe', intent_id: id, key }));
    subscribe(otherAgentKey);
    subscribe('csk_not-a-key-at-all');
    subscribe(reviewerKey.replace(/.$/, (last) => (last === 'A' ? 'B' : 'A')));
    subscribe(otherAgentKey);
    await until(() => (messages.length === 4 ? true : undefined), 10_000, 'four answers');
    // Answered side by side, so in any order: two unknown keys, and another agent twice.
    expect(
      messages
        .map((message) => `${message.status} ${(message.error as { code: string }).code}`)
        .sort(),
    ).toEqual(['401 unauthenticated', '401 unauthenticated', '404 not_found', '404 not_found']);
    // A subscriber that may read it, on another connection, is told: the other one never is.
    const allowed = await rawChannel();
    allowed.socket.send(
      JSON.stringify({ action: 'subscribe', intent_id: id, key: stack.settings.api_keys.agent }),
    );
    await until(() => (allowed.messages.length === 1 ? true : undefined), 10_000, 'the answer');
    await reviewer().approve(id, 'ok');
    await until(() => (allowed.messages.length === 2 ? true : undefined), 10_000, 'the push');
    expect(allowed.messages[1]).toMatchObject({
      type: 'intent',
      intent: { id, status: 'approved' },
    });
    socket.send(JSON.stringify({ action: 'ping' }));
    await until(() => (messages.length === 5 ? true : undefined), 10_000, 'the pong');
    expect(messages[4]).toEqual({ type: 'pong' });
    socket.close();
    allowed.socket.close();
  });

  it('refuses malformed messages with the contract error, and other hosts and origins', async () => {
    const { socket, messages } = await rawChannel();
    socket.send('not json');
    socket.send(JSON.stringify({ action: 'subscribe', intent_id: 'x', key: 'k', extra: 1 }));
    await until(() => (messages.length === 2 ? true : undefined), 10_000, 'two answers');
    expect(messages.map((message) => message.status)).toEqual([400, 400]);
    socket.close();

    const port = new URL(stack.url).port;
    const upgrade = (headers: Record<string, string>) =>
      rawRequest(`${stack.url}/v1/wait`, {
        headers: {
          connection: 'Upgrade',
          upgrade: 'websocket',
          'sec-websocket-version': '13',
          'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
          ...headers,
        },
      });
    expect((await upgrade({ host: `evil.example:${port}` })).status).toBe(403);
    expect((await upgrade({ origin: 'https://evil.example' })).status).toBe(403);
  });
});
