import { describe, expect, it } from 'vitest';
import { intentChanges } from '../../lambdas/core/intent-changes';
import { type IntentServiceDeps, waitForIntent } from '../../lambdas/core/intents';
import type { IntentState } from '../../lambdas/domain/intent';
import { pendingIntent } from '../domain/fixtures';

const agent = {
  role: 'agent' as const,
  name: 'agent://myorg/production/report-generator',
  keyId: 'key_a',
};

/** A store whose status read (the long poll's backstop) takes `statusReadMs` to answer. */
function slowStatusStore(intent: IntentState, statusReadMs: number) {
  let stored = intent;
  let statusReads = 0;
  return {
    deps: {
      intents: {
        get: async () => stored,
        getStatus: async () => {
          statusReads += 1;
          await new Promise((resolve) => setTimeout(resolve, statusReadMs));
          return { status: stored.status, version: stored.version };
        },
      },
      waitPollMs: 10,
    } as unknown as IntentServiceDeps,
    commit: (next: IntentState) => {
      stored = next;
      intentChanges.changed(next.id, next);
    },
    /** A write by another process (another Lambda container): nothing announced here. */
    commitElsewhere: (next: IntentState) => {
      stored = next;
    },
    statusReads: () => statusReads,
  };
}

describe('waitForIntent: the long poll', () => {
  it('answers a decision committed while its backstop read is in flight at once, not when the read returns', async () => {
    // Prepare
    const intent = { ...pendingIntent(), id: 'int_wait_race' };
    const store = slowStatusStore(intent, 2_000);
    const started = performance.now();
    // Act: the decision lands while the first backstop read (2 s) is still out.
    const waiting = waitForIntent(store.deps, agent, intent.id, 20);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(store.statusReads()).toBe(1);
    store.commit({ ...intent, status: 'approved', version: intent.version + 1 });
    const view = await waiting;
    // Assess
    expect(view.status).toBe('approved');
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it('still finds a decision made by another process through its backstop read', async () => {
    const intent = { ...pendingIntent(), id: 'int_wait_elsewhere' };
    const store = slowStatusStore(intent, 5);
    const waiting = waitForIntent(store.deps, agent, intent.id, 20);
    await new Promise((resolve) => setTimeout(resolve, 50));
    store.commitElsewhere({ ...intent, status: 'rejected', version: intent.version + 1 });
    expect((await waiting).status).toBe('rejected');
  });
});
