import { generateKeyPairSync, sign } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { HttpCallbackSender } from '../../lambdas/adapters/http-callback';
import {
  type CallbackDeps,
  CallbackRetryableError,
  deliverCallback,
} from '../../lambdas/core/callbacks';
import type { IntentRepository } from '../../lambdas/core/ports';
import { type AuditEvent, sealEvents } from '../../lambdas/domain/audit';
import type { IntentState } from '../../lambdas/domain/intent';
import { CALLBACK_RETRY, signWebhook, verifyWebhookSignature } from '../../lambdas/domain/webhook';
import { encodeJws, JWS_TYPES, verifyCallback } from '../../sdk/src/index';
import { pendingIntent } from '../domain/fixtures';
import { until } from '../sdk/scripted-server';
import { testSigner } from './signing-key';

/** A receiver on loopback that answers with the statuses it is given, in order, and records requests. */
let server: Server;
let receiverUrl: string;
let statuses: number[] = [];
const received: { headers: IncomingMessage['headers']; body: string }[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      const status = statuses.shift() ?? 200;
      if (status === 0) {
        res.destroy(); // the connection drops without an answer
        return;
      }
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
beforeEach(() => {
  statuses = [];
  received.length = 0;
});

/** The few repository calls delivery makes, in memory, with the same versioned commit. */
class MemoryIntents implements Pick<IntentRepository, 'get' | 'commit' | 'events'> {
  intent: IntentState;
  trail: AuditEvent[] = [];
  constructor(intent: IntentState) {
    const sealed = sealEvents(intent, [
      { type: 'created', at: intent.created_at, actor: 'agent', channel: 'api', data: {} },
    ]);
    this.trail = sealed.events;
    this.intent = {
      ...intent,
      event_count: sealed.event_count,
      last_event_hash: sealed.last_event_hash,
    };
  }
  async get(id: string) {
    return id === this.intent.id ? structuredClone(this.intent) : null;
  }
  async commit(next: IntentState, before: IntentState, events: AuditEvent[]) {
    if (this.intent.version !== before.version) return false;
    this.intent = structuredClone(next);
    this.trail.push(...events);
    return true;
  }
  async events() {
    return structuredClone(this.trail);
  }
}

const SECRET = 'whsec-unit';

function setup(callbackUrl: string | null, options: { allowLoopback?: boolean } = {}) {
  const decided: IntentState = {
    ...pendingIntent({}, new Date()),
    status: 'approved',
    decision: {
      outcome: 'approved',
      by: 'cfo@company.com',
      at: new Date().toISOString(),
      comment: 'ok',
      channel: 'api',
    },
    callback_url: callbackUrl,
  };
  const intents = new MemoryIntents(decided);
  const deps: CallbackDeps = {
    intents: intents as unknown as IntentRepository,
    clock: { now: () => new Date() },
    sender: new HttpCallbackSender({ allowLoopback: options.allowLoopback ?? true }),
    signer: testSigner(),
    signingSecret: SECRET,
  };
  return { intents, deps };
}

const callbackEvents = (intents: MemoryIntents) =>
  intents.trail.filter((event) => event.type === 'callback_sent').map((event) => event.data);

describe('deliverCallback', () => {
  it('POSTs the final intent, signed over the raw body, and records the delivery', async () => {
    const { intents, deps } = setup(receiverUrl);
    const before = structuredClone(intents.intent);

    const result = await deliverCallback(deps, { intent_id: before.id, retry_count: 0 });

    expect(result).toEqual({ outcome: 'delivered', attempt: 1, status: 200 });
    expect(received).toHaveLength(1);
    const [request] = received;
    expect(request?.headers['content-type']).toBe('application/json');
    const verdict = verifyWebhookSignature(
      request?.headers['countersign-signature'] as string,
      request?.body ?? '',
      SECRET,
    );
    expect(verdict.ok).toBe(true);
    const body = JSON.parse(request?.body ?? '{}');
    expect(body).toMatchObject({
      id: before.id,
      status: 'approved',
      decision: { by: 'cfo@company.com' },
    });
    expect(body).not.toHaveProperty('task_token');
    expect(callbackEvents(intents)).toEqual([
      { attempt: 1, ok: true, status: '2xx', will_retry: false },
    ]);
    // The decision is untouched; only the trail grew.
    expect(intents.intent.status).toBe('approved');
    expect(intents.intent.decision).toEqual(before.decision);
    expect(intents.intent.updated_at).toBe(before.updated_at);
  });

  it('signs with the deployment key over the time, the URL and the body: no agent can forge one', async () => {
    const { intents, deps } = setup(receiverUrl);
    await deliverCallback(deps, { intent_id: intents.intent.id, retry_count: 0 });
    const [request] = received;
    const header = request?.headers['countersign-jws'] as string;
    const rawBody = request?.body ?? '';
    const keys = await deps.signer.publicKeys();
    const verify = (changes: Partial<Parameters<typeof verifyCallback>[0]> = {}) =>
      verifyCallback({ header, rawBody, url: receiverUrl, keys, ...changes });
    expect(await verify()).toMatchObject({ ok: true, intentId: intents.intent.id });

    // Agent A wants B's receiver to act on B's pending intent. With the shared HMAC secret it
    // can sign anything, and the old header verifies: that is why it is deprecated.
    const forgedBody = JSON.stringify({ ...JSON.parse(rawBody), id: 'int_OF_AGENT_B' });
    const now = Math.floor(Date.now() / 1000);
    expect(
      verifyWebhookSignature(signWebhook(forgedBody, SECRET, now), forgedBody, SECRET).ok,
    ).toBe(true);
    // With its own key, claiming the deployment's kid, the JWS does not verify.
    const { privateKey: agentKey } = generateKeyPairSync('ed25519');
    const kid = keys.keys[0]?.kid ?? '';
    const forged = await encodeJws(
      { alg: 'EdDSA', kid, typ: JWS_TYPES.callback },
      { intent_id: intents.intent.id, iat: now, url: receiverUrl, body_sha256: 'f'.repeat(64) },
      (input) => sign(null, input, agentKey),
    );
    expect(await verify({ header: forged, rawBody: forgedBody })).toMatchObject({
      ok: false,
      reason: 'the signature does not match',
    });
    // A genuine signature replayed with another body, or to another receiver's URL.
    expect(await verify({ rawBody: forgedBody })).toMatchObject({
      ok: false,
      reason: 'the body is not the one that was signed',
    });
    expect(await verify({ url: 'https://agent-b.example.com/hooks/countersign' })).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/^signed for /),
    });
    // Or later than the tolerance, or without the header.
    expect(await verify({ now: Date.now() + 301_000 })).toMatchObject({ ok: false });
    expect(await verify({ header: undefined })).toMatchObject({ ok: false });
  });

  it('records a failed attempt and throws for the state machine to retry; a retry delivers', async () => {
    const { intents, deps } = setup(receiverUrl);
    statuses = [503, 429, 200];
    const id = intents.intent.id;

    await expect(deliverCallback(deps, { intent_id: id, retry_count: 0 })).rejects.toBeInstanceOf(
      CallbackRetryableError,
    );
    await expect(deliverCallback(deps, { intent_id: id, retry_count: 1 })).rejects.toBeInstanceOf(
      CallbackRetryableError,
    );
    expect(await deliverCallback(deps, { intent_id: id, retry_count: 2 })).toMatchObject({
      outcome: 'delivered',
      attempt: 3,
    });
    expect(callbackEvents(intents)).toEqual([
      { attempt: 1, ok: false, status: '5xx', error: 'HTTP 5xx', will_retry: true },
      { attempt: 2, ok: false, status: '4xx', error: 'HTTP 4xx', will_retry: true },
      { attempt: 3, ok: true, status: '2xx', will_retry: false },
    ]);
    // A task retried after the delivery (a crash before it returned) sends nothing more.
    expect(await deliverCallback(deps, { intent_id: id, retry_count: 3 })).toMatchObject({
      outcome: 'skipped',
    });
    expect(received).toHaveLength(3);
  });

  it('gives up without throwing on the last scheduled attempt and on a 4xx', async () => {
    const last = setup(receiverUrl);
    statuses = [500];
    expect(
      await deliverCallback(last.deps, {
        intent_id: last.intents.intent.id,
        retry_count: CALLBACK_RETRY.maxRetries,
      }),
    ).toMatchObject({ outcome: 'gave_up', status: 500 });
    expect(callbackEvents(last.intents)[0]).toMatchObject({ ok: false, will_retry: false });

    const refused = setup(receiverUrl);
    statuses = [410];
    expect(
      await deliverCallback(refused.deps, { intent_id: refused.intents.intent.id, retry_count: 0 }),
    ).toMatchObject({ outcome: 'gave_up', status: 410 });
  });

  it('retries when the connection drops or nothing listens', async () => {
    const { intents, deps } = setup(receiverUrl);
    statuses = [0];
    await expect(
      deliverCallback(deps, { intent_id: intents.intent.id, retry_count: 0 }),
    ).rejects.toBeInstanceOf(CallbackRetryableError);
    const closed = setup('http://127.0.0.1:9/hook');
    await expect(
      deliverCallback(closed.deps, { intent_id: closed.intents.intent.id, retry_count: 0 }),
    ).rejects.toBeInstanceOf(CallbackRetryableError);
    expect(callbackEvents(closed.intents)[0]).toMatchObject({
      ok: false,
      status: null,
      error: 'network error: ECONNREFUSED',
    });
    // The trail names no address the receiver's host led to.
    expect(JSON.stringify(callbackEvents(closed.intents))).not.toContain('127.0.0.1');
  });

  it('outside local mode refuses a loopback receiver without sending, and does not retry', async () => {
    const { intents, deps } = setup(receiverUrl, { allowLoopback: false });
    expect(
      await deliverCallback(deps, { intent_id: intents.intent.id, retry_count: 0 }),
    ).toMatchObject({ outcome: 'gave_up', status: null });
    expect(received).toHaveLength(0);
    expect(callbackEvents(intents)[0]).toMatchObject({
      ok: false,
      error: expect.stringMatching(/^refused: /),
      will_retry: false,
    });
    expect(JSON.stringify(callbackEvents(intents))).not.toContain('127.0.0.1');
  });

  it('records what a host name resolved to nowhere in the trail', async () => {
    const { intents, deps } = setup('https://wiki.internal.example/hook');
    deps.sender = new HttpCallbackSender({
      allowLoopback: false,
      resolve: (_host, callback) => callback(null, [{ address: '10.20.30.40', family: 4 }]),
    });
    expect(
      await deliverCallback(deps, { intent_id: intents.intent.id, retry_count: 0 }),
    ).toMatchObject({ outcome: 'gave_up' });
    const trail = JSON.stringify(callbackEvents(intents));
    expect(trail).toContain('refused');
    expect(trail).not.toContain('10.20.30.40');
    expect(trail).not.toContain('wiki.internal.example');
  });

  it('sends nothing for an intent without a callback_url or still pending', async () => {
    const none = setup(null);
    expect(
      await deliverCallback(none.deps, { intent_id: none.intents.intent.id, retry_count: 0 }),
    ).toMatchObject({ outcome: 'skipped' });
    const pending = setup(receiverUrl);
    pending.intents.intent = { ...pending.intents.intent, status: 'pending', decision: null };
    expect(
      await deliverCallback(pending.deps, { intent_id: pending.intents.intent.id, retry_count: 0 }),
    ).toMatchObject({ outcome: 'skipped' });
    expect(received).toHaveLength(0);
  });
});

describe('HttpCallbackSender (SSRF after DNS resolution)', () => {
  const request = (url: string) => ({ url, body: '{}', headers: {} });

  it.each([
    ['loopback', '127.0.0.1'],
    ['the metadata service', '169.254.169.254'],
    ['a private network', '10.0.0.7'],
    ['a unique-local IPv6 address', 'fd00:ec2::254'],
    ['a link-local IPv6 address', 'fe80::1'],
  ])('refuses a public-looking name that resolves to %s', async (_what, address) => {
    const sender = new HttpCallbackSender({
      allowLoopback: false,
      resolve: (_host, callback) =>
        callback(null, [{ address, family: address.includes(':') ? 6 : 4 }]),
    });
    const result = await sender.post(request('https://hooks.agent.example/countersign'));
    expect(result).toEqual({ kind: 'refused', reason: expect.stringContaining(address) });
  });

  it('refuses when any one of several addresses is private (no picking the safe one)', async () => {
    const sender = new HttpCallbackSender({
      allowLoopback: false,
      resolve: (_host, callback) =>
        callback(null, [
          { address: '8.8.8.8', family: 4 },
          { address: '192.168.0.10', family: 4 },
        ]),
    });
    expect((await sender.post(request('https://hooks.agent.example/x'))).kind).toBe('refused');
  });

  it('in local mode connects to a name that resolves to loopback', async () => {
    const port = new URL(receiverUrl).port;
    const sender = new HttpCallbackSender({ allowLoopback: true });
    expect(await sender.post(request(`http://localhost:${port}/hook`))).toEqual({
      kind: 'response',
      status: 200,
    });
  });

  it('takes the status and hangs up: a body that never ends holds nothing', async () => {
    let closed = false;
    const trickle = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      const drip = setInterval(() => res.write('x'.repeat(64 * 1024)), 5);
      res.on('close', () => {
        clearInterval(drip);
        closed = true;
      });
    });
    await new Promise<void>((resolve) => trickle.listen(0, '127.0.0.1', resolve));
    const port = (trickle.address() as AddressInfo).port;
    const sender = new HttpCallbackSender({ allowLoopback: true, timeoutMs: 60_000 });
    try {
      expect(await sender.post(request(`http://127.0.0.1:${port}/endless`))).toEqual({
        kind: 'response',
        status: 200,
      });
      await until(() => closed, 2000);
    } finally {
      trickle.closeAllConnections();
      trickle.close();
    }
  });

  it('counts no answer in time as a network error', async () => {
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as AddressInfo).port;
    const sender = new HttpCallbackSender({ allowLoopback: true, timeoutMs: 200 });
    const result = await sender.post(request(`http://127.0.0.1:${port}/slow`));
    silent.closeAllConnections();
    silent.close();
    expect(result).toEqual({ kind: 'network_error', error: expect.stringContaining('200 ms') });
  });
});
