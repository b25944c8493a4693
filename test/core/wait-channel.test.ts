import { describe, expect, it } from 'vitest';
import { hashApiKey } from '../../lambdas/core/auth';
import type { Role } from '../../lambdas/core/ports';
import {
  parseWaitMessage,
  pushFinal,
  subscribe,
  type WaitReply,
  type WaitSubscriber,
} from '../../lambdas/core/wait-channel';
import { DomainError } from '../../lambdas/domain/errors';
import type { IntentState } from '../../lambdas/domain/intent';
import { leftPending } from '../../lambdas/handlers/wait-push';
import { pendingIntent } from '../domain/fixtures';
import { MemoryKeys } from './memory-keys';

/**
 * The wait channel's rules, on in-memory ports: a subscribe is recorded before the read and
 * undone when the key may not read the intent; a push reaches only subscribers whose key still
 * exists, unrevoked, and may read the intent, and drops the subscriptions it served; a failed
 * send keeps its subscription and fails the push so that the stream retries it.
 */
const AGENT = 'agent://myorg/production/report-generator';
const keys = new MemoryKeys();
const addKey = (key: string, role: Role, principal: string, revoked = false) =>
  keys.records.push({
    id: `key_${key}`,
    role,
    principal,
    key_hash: hashApiKey(key),
    prefix: 'csk_',
    created_at: '2026-11-24T08:00:00.000Z',
    revoked_at: revoked ? '2026-11-24T08:30:00.000Z' : null,
  });
addKey('csk_agent', 'agent', AGENT);
addKey('csk_other', 'agent', 'agent://myorg/other');
addKey('csk_cfo', 'reviewer', 'cfo@company.com');
addKey('csk_gone', 'agent', AGENT, true);

const subscriberOf = (key: string): WaitSubscriber & { connectionId: string } => {
  const record = keys.records.find((candidate) => candidate.key_hash === hashApiKey(key));
  return {
    connectionId: `conn-${key}`,
    role: record?.role ?? 'agent',
    name: record?.principal ?? '',
    keyHash: hashApiKey(key),
    // Subscribed a minute ago: the key is looked up again before a push.
    keyCheckedAt: Date.now() - 60_000,
  };
};

function store(
  intent: IntentState | null,
  subscribers: (WaitSubscriber & { connectionId: string })[],
) {
  const live = [...subscribers];
  const sent: [string, WaitReply][] = [];
  return {
    live,
    sent,
    deps: {
      keys,
      intents: { get: async () => intent },
      subscriptions: {
        list: async () => [...live],
        remove: async (_id: string, connectionId: string) => {
          live.splice(
            live.findIndex((s) => s.connectionId === connectionId),
            1,
          );
        },
      },
      send: async (connectionId: string, reply: WaitReply) => {
        if (connectionId === 'conn-broken') throw new Error('throttled');
        if (connectionId === 'conn-closed') return 'gone' as const;
        sent.push([connectionId, reply]);
        return 'sent' as const;
      },
    },
  };
}

const approved = (): IntentState => ({ ...pendingIntent(), status: 'approved' });

describe('pushing a decision', () => {
  it('reaches the creating agent and the asked reviewer; never another agent or a revoked key', async () => {
    const { deps, sent, live } = store(approved(), [
      subscriberOf('csk_agent'),
      subscriberOf('csk_cfo'),
      subscriberOf('csk_other'),
      subscriberOf('csk_gone'),
    ]);
    expect(await pushFinal(deps, 'int_TEST')).toEqual({ sent: 2, skipped: 2 });
    expect(sent.map(([connection]) => connection).sort()).toEqual([
      'conn-csk_agent',
      'conn-csk_cfo',
    ]);
    expect(sent[0]?.[1]).toMatchObject({
      type: 'intent',
      intent: { id: 'int_TEST', status: 'approved' },
    });
    expect(live).toEqual([]);
  });

  it('trusts a key authenticated within 25 s, as a long poll held with it would', async () => {
    const fresh = { ...subscriberOf('csk_gone'), keyCheckedAt: Date.now() - 1000 };
    const { deps, sent } = store(approved(), [fresh, subscriberOf('csk_gone')]);
    expect(await pushFinal(deps, 'int_TEST')).toEqual({ sent: 1, skipped: 1 });
    expect(sent).toHaveLength(1);
  });

  it('pushes nothing while the intent is pending', async () => {
    const { deps, sent, live } = store(pendingIntent(), [subscriberOf('csk_agent')]);
    expect(await pushFinal(deps, 'int_TEST')).toEqual({ sent: 0, skipped: 0 });
    expect(sent).toEqual([]);
    expect(live).toHaveLength(1);
  });

  it('drops a subscription whose client has gone; keeps a failed one and throws for a retry', async () => {
    const broken = { ...subscriberOf('csk_agent'), connectionId: 'conn-broken' };
    const closed = { ...subscriberOf('csk_agent'), connectionId: 'conn-closed' };
    const { deps, live } = store(approved(), [broken, closed]);
    await expect(pushFinal(deps, 'int_TEST')).rejects.toThrow(/1 pushes of int_TEST failed/);
    expect(live).toEqual([broken]);
  });
});

describe('subscribing', () => {
  const recorder = () => {
    const added: string[] = [];
    return {
      added,
      subscriptions: {
        add: async (intentId: string, subscriber: WaitSubscriber) => {
          added.push(`${intentId} ${subscriber.name}`);
        },
        remove: async (intentId: string) => {
          added.splice(
            added.findIndex((entry) => entry.startsWith(intentId)),
            1,
          );
        },
      },
    };
  };
  const deps = { keys, intents: { get: async () => pendingIntent() } };

  it('answers with the intent as read, the subscription recorded first', async () => {
    const { added, subscriptions } = recorder();
    const view = await subscribe(deps, subscriptions, {
      action: 'subscribe',
      intent_id: 'int_TEST',
      key: 'csk_agent',
    });
    expect(view).toMatchObject({ id: 'int_TEST', status: 'pending' });
    expect(added).toEqual([`int_TEST ${AGENT}`]);
  });

  it('leaves nothing behind for a key that may not read the intent, and records nothing for an unknown key', async () => {
    const { added, subscriptions } = recorder();
    const attempt = (key: string) =>
      subscribe(deps, subscriptions, { action: 'subscribe', intent_id: 'int_TEST', key });
    await expect(attempt('csk_other')).rejects.toMatchObject({ code: 'not_found' });
    await expect(attempt('csk_nobody-at-all')).rejects.toMatchObject({ code: 'unauthenticated' });
    await expect(attempt('csk_gone')).rejects.toMatchObject({ code: 'unauthenticated' });
    expect(added).toEqual([]);
  });

  it('refuses anything but a subscribe or a ping', () => {
    for (const raw of [
      '',
      '[]',
      '{"action":"unsubscribe"}',
      '{"action":"ping","x":1}',
      'x'.repeat(5000),
    ]) {
      expect(() => parseWaitMessage(raw)).toThrow(DomainError);
    }
    expect(parseWaitMessage('{"action":"ping"}')).toEqual({ action: 'ping' });
  });
});

describe("the stream's filter, again in code", () => {
  const record = (
    newStatus: string,
    oldStatus: string | undefined,
    sk = 'META',
    pk = 'INTENT#int_1',
  ) => ({
    dynamodb: {
      NewImage: { pk: { S: pk }, sk: { S: sk }, status: { S: newStatus } },
      ...(oldStatus
        ? { OldImage: { pk: { S: pk }, sk: { S: sk }, status: { S: oldStatus } } }
        : {}),
    },
  });
  it('passes only an intent META item leaving pending', () => {
    expect(leftPending(record('approved', 'pending'))).toBe('int_1');
    expect(leftPending(record('pending', 'pending'))).toBeUndefined();
    expect(leftPending(record('approved', 'approved'))).toBeUndefined();
    expect(leftPending(record('approved', undefined))).toBeUndefined();
    expect(leftPending(record('approved', 'pending', 'EVENT#1'))).toBeUndefined();
    expect(leftPending(record('approved', 'pending', 'META', 'WAIT#int_1'))).toBeUndefined();
  });
});
