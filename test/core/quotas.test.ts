import { describe, expect, it } from 'vitest';
import type { Principal } from '../../lambdas/core/auth';
import { createIntent } from '../../lambdas/core/intents';
import type { IdempotencyRecord, UsageCounter, UsageMeter } from '../../lambdas/core/ports';
import { takeIntentQuota } from '../../lambdas/core/quotas';
import { DomainError } from '../../lambdas/domain/errors';
import { parsePolicyDefaults } from '../../lambdas/domain/operator-policy';
import { intentServiceOver } from '../fakes/intent-service';
import { MemoryIntentRepository } from '../fakes/memory-intents';

/**
 * What `takeIntentQuota` asks of the usage meter before a create, with a counting fake: a key
 * without a notification quota costs no read, one with it costs one read, and a key whose
 * notices are used up is refused before any intent is taken (the table-backed meter and the
 * whole create are in `agent-keys.test.ts`).
 */
class CountingUsage implements UsageMeter {
  readonly counts = new Map<string, number>();
  readonly calls: string[] = [];
  async take(keyId: string, counter: UsageCounter, limit: number) {
    this.calls.push(`take ${counter}`);
    const count = this.counts.get(`${keyId}/${counter}`) ?? 0;
    if (count >= limit) return { ok: false as const, retryAfterSeconds: 17 };
    this.counts.set(`${keyId}/${counter}`, count + 1);
    return { ok: true as const };
  }
  async giveBack(keyId: string, counter: UsageCounter) {
    this.calls.push(`giveBack ${counter}`);
    const count = this.counts.get(`${keyId}/${counter}`) ?? 0;
    this.counts.set(`${keyId}/${counter}`, Math.max(0, count - 1));
  }
  async used(keyId: string, counter: UsageCounter) {
    this.calls.push(`used ${counter}`);
    return { count: this.counts.get(`${keyId}/${counter}`) ?? 0, retryAfterSeconds: 42 };
  }
}

const agent = (quota: Principal['quota']): Principal => ({
  role: 'agent',
  name: 'agent://myorg/reports',
  keyId: 'key_1',
  quota,
});

function depsWith(usage: CountingUsage, replayedKeys: string[] = []) {
  return {
    usage,
    clock: { now: () => new Date('2026-11-24T10:00:00.000Z') },
    intents: {
      findIdempotency: async (principal: string, key: string): Promise<IdempotencyRecord | null> =>
        replayedKeys.includes(key)
          ? { principal, key, body_hash: 'hash', intent_id: 'int_first' }
          : null,
    },
  };
}

async function refusal(promise: Promise<unknown>): Promise<DomainError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!(error instanceof DomainError)) throw new Error(`expected a DomainError, got ${error}`);
  return error;
}

describe('takeIntentQuota and the notices of the hour', () => {
  it('reads nothing for a key without a notification quota', async () => {
    const usage = new CountingUsage();
    await takeIntentQuota(depsWith(usage), agent(undefined), undefined);
    await takeIntentQuota(depsWith(usage), agent({ intents_per_hour: 5 }), undefined);
    expect(usage.calls).toEqual(['take intents']);
  });

  it('reads the notices once, and takes no intent when the key has no intent quota', async () => {
    const usage = new CountingUsage();
    usage.counts.set('key_1/notifications', 2);
    await takeIntentQuota(depsWith(usage), agent({ notifications_per_hour: 3 }), undefined);
    expect(usage.calls).toEqual(['used notifications']);
  });

  it('refuses with rate_limited and the seconds left once the notices are used up, taking no intent', async () => {
    const usage = new CountingUsage();
    usage.counts.set('key_1/notifications', 3);
    const refused = await refusal(
      takeIntentQuota(
        depsWith(usage),
        agent({ intents_per_hour: 5, notifications_per_hour: 3 }),
        'new',
      ),
    );
    expect(refused.code).toBe('rate_limited');
    expect(refused.retryAfterSeconds).toBe(42);
    expect(refused.message).toBe(
      'This key may cause 3 notifications per hour; it has used them all; try again in 42 s.',
    );
    expect(usage.calls).toEqual(['used notifications']);
    expect(usage.counts.get('key_1/intents')).toBeUndefined();
  });

  it('lets a replay of a used Idempotency-Key through, taking no intent', async () => {
    const usage = new CountingUsage();
    usage.counts.set('key_1/notifications', 3);
    const quota = await takeIntentQuota(
      depsWith(usage, ['used-before']),
      agent({ intents_per_hour: 5, notifications_per_hour: 3 }),
      'used-before',
    );
    await quota.giveBack();
    expect(usage.calls).toEqual(['used notifications']);
  });
});

describe('a create by a key whose notices of the hour are used up', () => {
  const rules = parsePolicyDefaults(
    {
      '*': {
        rules: [
          {
            name: 'small',
            effect: 'approve',
            when: [{ pointer: '/amount', op: 'lt', value: 100 }],
          },
        ],
      },
    },
    'test',
  );
  const create = (amount: number, usage: CountingUsage) => {
    const base = intentServiceOver(new MemoryIntentRepository());
    const deps = { ...base, usage, policies: { ...base.policies, configured: rules } };
    return createIntent(
      deps,
      agent({ notifications_per_hour: 3 }),
      {
        intent_type: 'intent.refund.v1',
        to_agent: 'agent://myorg/refunds',
        payload: { amount },
        reviewers: ['cfo@company.com'],
      },
      undefined,
    );
  };

  it('is refused when its intent would ask people', async () => {
    const usage = new CountingUsage();
    usage.counts.set('key_1/notifications', 3);
    expect((await refusal(create(500, usage))).code).toBe('rate_limited');
  });

  it("is accepted when an operator's rule decides it at create: nobody is asked", async () => {
    const usage = new CountingUsage();
    usage.counts.set('key_1/notifications', 3);
    const { status, intent } = await create(50, usage);
    expect({ status, outcome: intent.status }).toEqual({ status: 201, outcome: 'approved' });
    expect(usage.calls).toEqual([]);
  });
});
