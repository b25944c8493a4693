import { DomainError } from '../domain/errors';
import type { IntentState, PendingNotification } from '../domain/intent';
import type { Principal } from './auth';
import type { Clock, IntentRepository, UsageMeter } from './ports';

/**
 * Per-key hourly quotas (`quota` on agent keys): `intents_per_hour` is taken when an intent is
 * created, `notifications_per_hour` when the stage task sends a notice asking a reviewer
 * (notify, remind, escalate) for an intent the key created; a create by a key whose notices
 * for the hour are used up is refused too. The counters live in the store
 * (`UsageMeter`), in fixed windows of the clock, so that every Lambda container (and the
 * local stack) counts the same hour.
 */
export interface QuotaDeps {
  intents: Pick<IntentRepository, 'findIdempotency'>;
  clock: Clock;
  usage?: UsageMeter;
}

function meterFor(usage: UsageMeter | undefined): UsageMeter {
  // A key with a quota and nothing to count it with must not go unlimited.
  if (!usage) throw new Error('a key has a quota but no usage meter is configured');
  return usage;
}

/**
 * Takes one intent from the key's hourly quota before a create, or throws 429 `rate_limited`
 * with the seconds until the window frees up. A key whose notices for the hour are used up
 * (`notifications_per_hour`) is refused the same way, before any intent is taken, when its
 * intent would ask people (`asksPeople`): an intent an operator's rule decides at create asks
 * no one, so it is not refused for notices. A create replaying an Idempotency-Key that was already used answers its
 * first intent: it is never refused, and the unit it took is given back (`giveBack`, once the
 * store said it was a replay), so a replay never counts twice.
 */
export async function takeIntentQuota(
  deps: QuotaDeps,
  principal: Principal,
  idempotencyKey: string | undefined,
  asksPeople = true,
): Promise<{ giveBack: () => Promise<void> }> {
  const nothing = { giveBack: async () => undefined };
  const notices = asksPeople ? principal.quota?.notifications_per_hour : undefined;
  const limit = principal.quota?.intents_per_hour;
  if (notices === undefined && limit === undefined) return nothing;
  const usage = meterFor(deps.usage);
  const at = deps.clock.now();
  const isReplay = async () =>
    idempotencyKey !== undefined &&
    (await deps.intents.findIdempotency(principal.name, idempotencyKey, at)) !== null;
  if (notices !== undefined) {
    const used = await usage.used(principal.keyId, 'notifications', at);
    if (used.count >= notices) {
      if (await isReplay()) return nothing;
      throw new DomainError(
        'rate_limited',
        `This key may cause ${notices} notifications per hour; it has used them all; try again in ${used.retryAfterSeconds} s.`,
        { retryAfterSeconds: used.retryAfterSeconds },
      );
    }
  }
  if (limit === undefined) return nothing;
  const taken = await usage.take(principal.keyId, 'intents', limit, at);
  if (taken.ok) return { giveBack: () => usage.giveBack(principal.keyId, 'intents', at) };
  if (await isReplay()) return nothing;
  throw new DomainError(
    'rate_limited',
    `This key may create ${limit} intents per hour; try again in ${taken.retryAfterSeconds} s.`,
    { retryAfterSeconds: taken.retryAfterSeconds },
  );
}

/** What the creator's key allows of notices: the intent remembers it (`creator_key`). */
export function creatorKeyOf(principal: Principal): NonNullable<IntentState['creator_key']> {
  return {
    id: principal.keyId,
    notifications_per_hour: principal.quota?.notifications_per_hour ?? null,
  };
}

/**
 * Takes one notice from the creating key's hourly quota. Answers the send outcome to record
 * instead of sending when the quota is used up (a `notification_failed` event with reason
 * `quota`), or null to send. Decided notices are not counted: they only tell people already
 * asked how it ended. A counter that cannot be reached does not hold a notice back.
 */
export async function notificationQuotaRefusal(
  usage: UsageMeter | undefined,
  intent: IntentState,
  notification: PendingNotification,
  now: Date,
): Promise<{ ok: false; error: string; reason: 'quota' } | null> {
  const key = intent.creator_key;
  const limit = key?.notifications_per_hour;
  if (!key || limit === null || limit === undefined || notification.kind === 'decided') return null;
  let taken: Awaited<ReturnType<UsageMeter['take']>>;
  try {
    taken = await meterFor(usage).take(key.id, 'notifications', limit, now);
  } catch {
    return null;
  }
  if (taken.ok) return null;
  return {
    ok: false,
    error: `the creating key's quota of ${limit} notifications per hour is used up`,
    reason: 'quota',
  };
}
