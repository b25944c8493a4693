import { describe, expect, it } from 'vitest';
import type { IntentRepository } from '../../lambdas/core/ports';
import { transitionIntent } from '../../lambdas/core/transitions';
import { applyView } from '../../lambdas/domain/decisions';
import type { IntentState } from '../../lambdas/domain/intent';
import { pendingIntent } from '../domain/fixtures';

/** One intent in memory with the version condition of the real store; counts the writes. */
function store(initial: IntentState) {
  let stored = initial;
  let writes = 0;
  const repository: Pick<IntentRepository, 'get' | 'commit'> = {
    get: async () => stored,
    commit: async (next, before) => {
      if (stored.version !== before.version) return false;
      writes += 1;
      stored = next;
      return true;
    },
  };
  return { repository: repository as IntentRepository, writes: () => writes, stored: () => stored };
}

describe('transitionIntent', () => {
  it('writes nothing when the transition changes nothing (a page viewed again)', async () => {
    const { repository, writes, stored } = store(pendingIntent());
    const view = (intent: IntentState) => applyView(intent, 'cfo@company.com', intent.created_at);
    await transitionIntent(repository, 'int_TEST', view);
    const afterFirst = stored();
    const again = await transitionIntent(repository, 'int_TEST', view);
    expect(writes()).toBe(1);
    expect(stored()).toBe(afterFirst);
    expect(again.after.version).toBe(afterFirst.version);
    expect(afterFirst.event_count).toBe(pendingIntent().event_count + 1);
  });

  it('starts from the state it is given, and reads again when that state is stale', async () => {
    const { repository, writes, stored } = store({ ...pendingIntent(), version: 5 });
    const stale = { ...pendingIntent(), version: 4 };
    const { after } = await transitionIntent(
      repository,
      'int_TEST',
      (intent) => applyView(intent, 'cfo@company.com', intent.created_at),
      stale,
    );
    // The stale state's write was refused by the version condition; the fresh one landed.
    expect(writes()).toBe(1);
    expect(after.version).toBe(6);
    expect(stored().viewed_by).toEqual(['cfo@company.com']);
  });
});
