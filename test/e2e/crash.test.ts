import { afterAll, describe, expect, it } from 'vitest';
import { CountersignClient, CountersignError, type Intent } from '../../sdk/src/index';
import {
  newDataDir,
  outboxItems,
  removeDataDir,
  type StackProcess,
  startStack,
  until,
} from './harness';

/**
 * kill -9 of the whole service (node and DynamoDB Local) while intents wait on timers, while
 * decisions are in flight and while intents are being created; then a restart on the same data.
 * The promise under test: every intent acknowledged with a 201 reaches exactly one final state,
 * nothing is half-written, timers set before the crash still fire, waiting agents resume, and
 * notifications are repeated at most once (at-least-once delivery, visible in the outbox).
 */
const FINAL_EVENTS = ['approved', 'rejected', 'timed_out', 'cancelled'];
let stack: StackProcess | undefined;
let dataDir: string | undefined;

afterAll(async () => {
  await stack?.stop();
  if (dataDir) removeDataDir(dataDir);
});

describe('kill -9 and restart', () => {
  it('loses no acknowledged intent, fires the timers, resumes the waiters, decides once', async () => {
    dataDir = newDataDir();
    stack = await startStack(dataDir);
    const port = Number(new URL(stack.url).port);
    const { agent: agentKey, admin: adminKey } = stack.settings.api_keys;
    const agent = new CountersignClient({ baseUrl: stack.url, apiKey: agentKey });
    const admin = new CountersignClient({ baseUrl: stack.url, apiKey: adminKey });
    const { key: reviewerKey } = await admin.createKey({
      role: 'reviewer',
      principal: 'cfo@company.com',
    });
    const reviewer = new CountersignClient({ baseUrl: stack.url, apiKey: reviewerKey });
    const body = (n: number, policy: Record<string, unknown>) => ({
      intent_type: 'intent.crash.v1',
      to_agent: 'agent://myorg/crash',
      payload: { n, reviewer: 'cfo@company.com' },
      policy,
    });

    // Waiting on timers: reminders due during the outage, and timeouts due during or after it.
    const reminded = await Promise.all(
      Array.from({ length: 6 }, (_, n) =>
        agent.sendIntent(body(n, { remind_after: ['3s'], timeout: { after: '1h' } })),
      ),
    );
    const timingOut = await Promise.all(
      Array.from({ length: 6 }, (_, n) =>
        agent.sendIntent(body(50 + n, { remind_after: ['1h'], timeout: { after: '10s' } })),
      ),
    );
    const timed = [...reminded, ...timingOut];
    await until(
      async () => {
        const sent = await outboxItems(stack as StackProcess);
        return timed.every((id) => sent.some((item) => item.intent_id === id)) ? true : undefined;
      },
      20_000,
      'the first notices',
    );
    const waiters = timed.map((id) => agent.waitFor(id, { timeoutMs: 120_000 }));
    // To be decided while the service dies.
    const toDecide = await Promise.all(
      Array.from({ length: 8 }, (_, n) =>
        agent.sendIntent(body(100 + n, { timeout: { after: '1h' } })),
      ),
    );

    // The burst in flight at the moment of the kill: creates (with a timeout, so that each
    // acknowledged one must end on its own) and decisions.
    const creates = Array.from({ length: 24 }, (_, n) =>
      agent.createIntent(body(200 + n, { timeout: { after: '8s' } }), {
        idempotencyKey: `crash-create-${n}`,
      }),
    );
    const decisions = Promise.allSettled(
      toDecide.map((id) => reviewer.decide(id, { outcome: 'approve' })),
    );
    const createsSettled = Promise.allSettled(creates);
    await new Promise((resolve) => setTimeout(resolve, 120));
    await stack.kill();
    const createResults = await createsSettled;
    const decisionResults = await decisions;

    stack = await startStack(dataDir, port);

    // Every acknowledged create exists; unacknowledged ones are retried with their idempotency
    // key, as a client would, and must then exist exactly once.
    const acknowledged = createResults.flatMap((result) =>
      result.status === 'fulfilled' ? [result.value.id] : [],
    );
    const retried = await Promise.all(
      createResults.map((result, n) =>
        result.status === 'fulfilled'
          ? result.value
          : agent.createIntent(body(200 + n, { timeout: { after: '8s' } }), {
              idempotencyKey: `crash-create-${n}`,
            }),
      ),
    );
    const createdIds = retried.map((intent) => intent.id);
    expect(new Set(createdIds).size).toBe(24);
    for (const id of acknowledged) expect(createdIds).toContain(id);

    // Decisions that failed with the connection are retried: 200, or 409 if the first landed.
    for (const [index, result] of decisionResults.entries()) {
      if (result.status === 'fulfilled') continue;
      const id = toDecide[index] as string;
      const retry = await reviewer
        .decide(id, { outcome: 'approve' })
        .catch((error: unknown) => error);
      if (retry instanceof CountersignError) expect(retry.code).toBe('already_decided');
    }

    // Timers set before the crash fire after it: each reminder, then each timeout.
    await until(
      async () => {
        const sent = await outboxItems(stack as StackProcess);
        const remindedAll = reminded.every((id) =>
          sent.some((item) => item.intent_id === id && item.kind === 'remind'),
        );
        return remindedAll ? true : undefined;
      },
      30_000,
      'the reminders due during the outage',
    );
    for (const id of reminded) await reviewer.decide(id, { outcome: 'approve' });
    // The waiters from before the crash resume, with the decision or the timeout's outcome.
    const resumed = await Promise.all(waiters);
    for (const intent of resumed.slice(0, reminded.length)) expect(intent.status).toBe('approved');
    for (const intent of resumed.slice(reminded.length)) {
      expect(intent.status).toBe('timed_out');
      expect(intent.decision).toMatchObject({ by: 'timeout', outcome: 'rejected' });
    }
    const sent = await outboxItems(stack);

    // Everything the service holds, acknowledged or not, ends in exactly one final state.
    const finals = new Map<string, Intent>();
    await until(
      async () => {
        for await (const intent of admin.iterateIntents({ limit: 100 })) {
          if (intent.status !== 'pending') finals.set(intent.id, intent);
        }
        const all: string[] = [];
        for await (const intent of admin.iterateIntents({ limit: 100 })) all.push(intent.id);
        return all.every((id) => finals.has(id)) ? all : undefined;
      },
      40_000,
      'every intent to reach a final state',
    );
    for (const id of [...toDecide, ...reminded]) expect(finals.get(id)?.status).toBe('approved');
    for (const id of createdIds) expect(finals.get(id)?.status).toBe('timed_out');
    for (const [id, intent] of finals) {
      const trail = (await admin.events(id)).items.map((event) => event.type);
      expect(trail[0]).toBe('created');
      expect(
        trail.filter((type) => FINAL_EVENTS.includes(type)),
        id,
      ).toEqual([intent.status === 'timed_out' ? 'timed_out' : intent.status]);
      // At least once per channel, and at most one repeat when a crash cut a stage short.
      for (const channel of ['email', 'slack']) {
        const notices = sent.filter(
          (item) => item.intent_id === id && item.kind === 'notify' && item.channel === channel,
        );
        expect(notices.length, `${id} ${channel}`).toBeLessThanOrEqual(2);
      }
    }
  }, 240_000);
});
