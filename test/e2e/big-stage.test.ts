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
 * Big stages on the local stack: 50 reviewers on email and Slack, and a 100-member team on
 * email. Their notices (100 each) used to be recorded in one DynamoDB transaction, over its 100
 * items: the stage task failed after sending, its retries sent everything again, and the trail
 * showed none. Each person must be told exactly once, and every notice be in the trail.
 */
let stack: StackProcess;
let dataDir: string;
let agent: CountersignClient;
let admin: CountersignClient;

beforeAll(async () => {
  dataDir = newDataDir();
  stack = await startStack(dataDir);
  agent = new CountersignClient({ baseUrl: stack.url, apiKey: stack.settings.api_keys.agent });
  admin = new CountersignClient({ baseUrl: stack.url, apiKey: stack.settings.api_keys.admin });
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  removeDataDir(dataDir);
});

/** Waits for `count` notices in the trail, then counts what the stand-ins sent, per person and channel. */
async function settledStage(id: string, count: number) {
  const notified = await until(
    async () => {
      const events = (await agent.events(id)).items.filter((e) => e.type === 'notified');
      return events.length >= count ? events : undefined;
    },
    60_000,
    `${count} notified events`,
  );
  const sent = new Map<string, number>();
  for (const item of await outboxItems(stack)) {
    if (item.intent_id !== id) continue;
    const key = `${item.channel}:${item.to}`;
    sent.set(key, (sent.get(key) ?? 0) + 1);
  }
  return { notified, sent };
}

describe('a stage with many notices', () => {
  it('tells 50 reviewers on email and Slack once each, every notice in the trail', async () => {
    const reviewers = Array.from({ length: 50 }, (_, i) => `big${i}@company.com`);
    const id = await agent.sendIntent({
      intent_type: 'intent.big_stage.v1',
      to_agent: 'agent://myorg/payments',
      payload: { amount: 100 },
      reviewers,
      policy: { channels: ['email', 'slack'], timeout: { after: '1h' } },
    } as Parameters<CountersignClient['sendIntent']>[0]);

    const { notified, sent } = await settledStage(id, 100);

    expect(notified).toHaveLength(100);
    expect(notified.map((event) => `${event.channel}:${String(event.data.to)}`).sort()).toEqual(
      reviewers.flatMap((r) => [`email:${r}`, `slack:${r}`]).sort(),
    );
    expect([...sent.values()].every((n) => n === 1)).toBe(true);
    expect([...sent.keys()].filter((key) => key.startsWith('email:')).sort()).toEqual(
      reviewers.map((r) => `email:${r}`).sort(),
    );
    expect([...sent.keys()].filter((key) => key.startsWith('slack:'))).toHaveLength(50);
  }, 120_000);

  it('tells a 100-member team by email once each', async () => {
    const members = Array.from({ length: 100 }, (_, i) => `member${i}@company.com`);
    await admin.putTeam({ name: 'everyone', members });
    const id = await agent.sendIntent({
      intent_type: 'intent.big_stage.v1',
      to_agent: 'agent://myorg/payments',
      payload: { amount: 100 },
      reviewers: ['team:everyone'],
      policy: { channels: ['email'], timeout: { after: '1h' } },
    } as Parameters<CountersignClient['sendIntent']>[0]);

    const { notified, sent } = await settledStage(id, 100);

    expect(notified).toHaveLength(100);
    expect(sent).toEqual(new Map(members.map((m) => [`email:${m}`, 1])));
  }, 120_000);
});
