import { describe, expect, it } from 'vitest';
import { cancelIntent, type IntentServiceDeps, recordVote } from '../../lambdas/core/intents';
import type { IntentRepository } from '../../lambdas/core/ports';
import type { IntentState } from '../../lambdas/domain/intent';
import { pendingIntent, T0 } from '../domain/fixtures';
import { intentServiceOver } from '../fakes/intent-service';

/**
 * A decision while the state machine holds reminders in its Wait state: no task token can end
 * a Wait, so the decision path starts a successor execution instead of answering the stale
 * token; outside a hold it answers the token as before.
 */
const NOW = new Date(T0.getTime() + 60_000);

function setup(intent: IntentState) {
  let stored = structuredClone(intent);
  const repository = {
    get: async () => structuredClone(stored),
    commit: async (next: IntentState, before: IntentState) => {
      if (stored.version !== before.version) return false;
      stored = structuredClone(next);
      return true;
    },
    events: async () => [],
  } as unknown as IntentRepository;
  const started: { id: string; name: string | undefined }[] = [];
  const woken: string[] = [];
  const deps: IntentServiceDeps = {
    ...intentServiceOver(repository),
    workflow: {
      start: async (id, name) => void started.push({ id, name }),
      wake: async (token) => {
        woken.push(token);
        return 'stale';
      },
    },
    clock: { now: () => NOW },
  };
  return { deps, started, woken, stored: () => stored };
}

function heldIntent(until: Date, body: Record<string, unknown> = {}): IntentState {
  const intent = pendingIntent(body);
  return {
    ...intent,
    recipients: intent.asked,
    stage_index: 1,
    version: 7,
    task_token: 'token-of-stage-0',
    held_until: until.toISOString(),
    held_by: 'int_TEST',
  };
}

const vote = (deps: IntentServiceDeps, by = 'cfo@company.com') =>
  recordVote(deps, 'int_TEST', {
    by,
    outcome: 'approve',
    comment: null,
    channel: 'api',
    override: false,
  });

describe('a decision during a reminder hold', () => {
  it('starts a successor at once and marks the held execution superseded', async () => {
    const { deps, started, woken, stored } = setup(heldIntent(new Date(NOW.getTime() + 3_600_000)));
    expect((await vote(deps)).status).toBe('approved');
    expect(started).toEqual([{ id: 'int_TEST', name: 'int_TEST-h7' }]);
    expect(woken).toEqual([]);
    expect(stored()).toMatchObject({
      held_until: null,
      held_by: null,
      successor_execution: 'int_TEST-h7',
      superseded_executions: [{ name: 'int_TEST' }],
    });
  });

  it('a cancellation during the hold does the same', async () => {
    const { deps, started } = setup(heldIntent(new Date(NOW.getTime() + 3_600_000)));
    await cancelIntent(
      deps,
      { role: 'agent', name: 'agent://myorg/production/report-generator', keyId: 'k' },
      'int_TEST',
      {},
    );
    expect(started).toEqual([{ id: 'int_TEST', name: 'int_TEST-h7' }]);
  });

  it('a vote that decides nothing yet (a quorum of 2) releases nothing', async () => {
    const { deps, started, woken, stored } = setup(
      heldIntent(new Date(NOW.getTime() + 3_600_000), {
        reviewers: ['cfo@company.com', 'ops@company.com'],
        policy: { required_approvals: 2 },
      }),
    );
    expect((await vote(deps)).status).toBe('pending');
    expect(started).toEqual([]);
    expect(woken).toEqual([]);
    expect(stored().held_by).toBe('int_TEST');
  });

  it('once the held time has passed, the stage token is answered as usual', async () => {
    const { deps, started, woken } = setup(heldIntent(new Date(NOW.getTime() - 1000)));
    await vote(deps);
    expect(started).toEqual([]);
    expect(woken).toEqual(['token-of-stage-0']);
  });
});
