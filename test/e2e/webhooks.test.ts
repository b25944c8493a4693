import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CountersignClient, CountersignError, verifyWebhookSignature } from '../../sdk/src/index';
import {
  newDataDir,
  outboxItems,
  removeDataDir,
  type StackProcess,
  startStack,
  until,
} from './harness';

/**
 * Signed callbacks on the local stack: the agent's receiver gets the final intent, signed with
 * the webhook secret of local.json; failures are retried with backoff and every attempt is in
 * the trail and the outbox; the decision never waits on the receiver.
 */
let stack: StackProcess;
let dataDir: string;
let agent: CountersignClient;
let admin: CountersignClient;
let cfo: CountersignClient;

/** The agent's receiver: answers with the statuses queued (200 once they run out). */
let receiver: Server;
let hookUrl: string;
let statuses: number[] = [];
const deliveries: { at: number; headers: IncomingMessage['headers']; body: string }[] = [];

beforeAll(async () => {
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      deliveries.push({
        at: Date.now(),
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      });
      res.writeHead(statuses.shift() ?? 200).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks/countersign`;

  dataDir = newDataDir();
  stack = await startStack(dataDir);
  agent = new CountersignClient({ baseUrl: stack.url, apiKey: stack.settings.api_keys.agent });
  admin = new CountersignClient({ baseUrl: stack.url, apiKey: stack.settings.api_keys.admin });
  const key = await admin.createKey({ role: 'reviewer', principal: 'cfo@company.com' });
  cfo = new CountersignClient({ baseUrl: stack.url, apiKey: key.key });
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  removeDataDir(dataDir);
  await new Promise<void>((resolve) => receiver.close(() => resolve()));
});

beforeEach(() => {
  statuses = [];
});

const deliveriesFor = (id: string) =>
  deliveries.filter((delivery) => (JSON.parse(delivery.body) as { id: string }).id === id);

async function outboxWebhooks(intentId: string) {
  return (await outboxItems(stack)).filter(
    (item) => item.intent_id === intentId && item.channel === 'webhook',
  );
}

async function callbackEvents(id: string) {
  return (await agent.events(id)).items.filter((event) => event.type === 'callback_sent');
}

function send(extra: Record<string, unknown> = {}) {
  return agent.sendIntent({
    intent_type: 'intent.payment.v1',
    to_agent: 'agent://myorg/payments',
    payload: { amount: 42, reviewer: 'cfo@company.com' },
    callback_url: hookUrl,
    ...extra,
  });
}

describe('signed callbacks', () => {
  it('POSTs the final intent, signed with the webhook secret, and records it in the trail and the outbox', async () => {
    const id = await send();
    await cfo.decide(id, { outcome: 'approve', comment: 'fine' });

    const [delivery] = await until(
      () => (deliveriesFor(id).length > 0 ? deliveriesFor(id) : undefined),
      10_000,
      'the callback',
    );
    const verdict = verifyWebhookSignature(
      delivery?.headers['countersign-signature'] as string | undefined,
      delivery?.body ?? '',
      stack.settings.webhook_signing_secret,
    );
    expect(verdict.ok).toBe(true);
    expect(delivery?.headers['content-type']).toBe('application/json');
    const body = JSON.parse(delivery?.body ?? '{}');
    const intent = await agent.getIntent(id);
    expect(body).toMatchObject({
      id,
      status: 'approved',
      decision: intent.decision,
      callback_url: hookUrl,
      payload: { amount: 42 },
    });

    const [sent] = await until(
      async () => ((await callbackEvents(id)).length > 0 ? callbackEvents(id) : undefined),
      5000,
      'the callback_sent event',
    );
    expect(sent).toMatchObject({
      actor: 'countersign',
      channel: 'webhook',
      data: { attempt: 1, ok: true, status: '2xx' },
    });
    const webhooks = await outboxWebhooks(id);
    expect(webhooks).toHaveLength(1);
    expect(webhooks[0]).toMatchObject({
      to: hookUrl,
      kind: 'decided',
      text: delivery?.body,
      webhook: { attempt: 1, ok: true, status: 200 },
    });
    // The decision is as it was, and the receiver got it once.
    expect((await agent.getIntent(id)).status).toBe('approved');
    expect(deliveriesFor(id)).toHaveLength(1);
  });

  it('retries a failing receiver with backoff, each attempt in the trail, without holding up the decision', async () => {
    statuses = [503, 500];
    const id = await send();
    const waiting = agent.waitFor(id, { timeoutMs: 10_000 });
    const decidedAt = Date.now();
    await cfo.decide(id, { outcome: 'reject', comment: 'not this quarter' });
    expect((await waiting).status).toBe('rejected');
    // The waiting agent resumed at once, long before the receiver accepted anything.
    expect(Date.now() - decidedAt).toBeLessThan(2000);

    await until(
      () => (deliveriesFor(id).length >= 3 ? true : undefined),
      20_000,
      'the third attempt',
    );
    const times = deliveriesFor(id).map((delivery) => delivery.at);
    // Backoff: about 2 s, then about 4 s (the engine's Retry; generous upper bounds for a loaded machine).
    const [first = 0, second = 0, third = 0] = times;
    expect(second - first).toBeGreaterThanOrEqual(1900);
    expect(second - first).toBeLessThan(4000);
    expect(third - second).toBeGreaterThanOrEqual(3900);
    expect(third - second).toBeLessThan(6500);

    const attempts = await until(
      async () => {
        const events = await callbackEvents(id);
        return events.length >= 3 ? events : undefined;
      },
      5000,
      'three callback_sent events',
    );
    expect(attempts.map((event) => event.data)).toEqual([
      { attempt: 1, ok: false, status: '5xx', error: 'HTTP 5xx', will_retry: true },
      { attempt: 2, ok: false, status: '5xx', error: 'HTTP 5xx', will_retry: true },
      { attempt: 3, ok: true, status: '2xx', will_retry: false },
    ]);
    const webhooks = await outboxWebhooks(id);
    expect(webhooks.map((item) => item.webhook?.status)).toEqual([503, 500, 200]);
    const final = await agent.getIntent(id);
    expect(final.status).toBe('rejected');
    expect(final.decision).toMatchObject({ outcome: 'rejected', by: 'cfo@company.com' });
  }, 40_000);

  it('calls back on a timeout and on a cancel too', async () => {
    const timedOut = await send({ policy: { timeout: { after: '1s', action: 'approve' } } });
    const cancelled = await send();
    await agent.cancel(cancelled, 'no longer needed');
    await until(
      () =>
        deliveriesFor(timedOut).length > 0 && deliveriesFor(cancelled).length > 0
          ? true
          : undefined,
      15_000,
      'both callbacks',
    );
    expect(JSON.parse(deliveriesFor(timedOut)[0]?.body ?? '{}')).toMatchObject({
      status: 'timed_out',
      decision: { outcome: 'approved', by: 'timeout' },
    });
    expect(JSON.parse(deliveriesFor(cancelled)[0]?.body ?? '{}')).toMatchObject({
      status: 'cancelled',
      decision: { outcome: 'cancelled', by: 'agent://local/default' },
    });
  });

  it.each([
    'http://10.0.0.7/hook',
    'https://169.254.169.254/latest/meta-data/',
    'http://[fd00:ec2::254]/hook',
    'https://user:secret@agent.example.com/hook',
    'http://agent.example.com/hook',
  ])('refuses callback_url %s at creation with a validation error', async (callbackUrl) => {
    const refused = await send({ callback_url: callbackUrl }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(CountersignError);
    expect((refused as CountersignError).status).toBe(400);
    expect((refused as CountersignError).code).toBe('validation_failed');
    expect(JSON.stringify((refused as CountersignError).details)).toContain('callback_url');
  });
});
