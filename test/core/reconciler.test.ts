import { describe, expect, it } from 'vitest';
import type { ExecutionStatus, OverdueQuery, WorkflowExecutions } from '../../lambdas/core/ports';
import {
  DEFAULT_RECONCILE_OPTIONS,
  executionName,
  type RepairOutcome,
  reconcilePending,
} from '../../lambdas/core/reconciler';
import type { AuditEvent } from '../../lambdas/domain/audit';
import type { IntentState } from '../../lambdas/domain/intent';
import { pendingIntent, T0 } from '../domain/fixtures';
import { MemoryIntentRepository } from '../fakes/memory-intents';
import { testSigner } from '../handlers/signing-key';

/** The in-memory repository, plus what the reconciler tests look at and a lagging list. */
class MemoryIntents extends MemoryIntentRepository {
  readonly recorded: AuditEvent[] = [];
  /** What the overdue list shows: it may lag behind the items, as a list read before a change. */
  listed: IntentState[] | undefined;

  get items() {
    return this.intents;
  }
  add(intent: IntentState): IntentState {
    this.intents.set(intent.id, intent);
    this.trails.set(intent.id, []);
    return intent;
  }
  override async commit(next: IntentState, before: IntentState, events: AuditEvent[]) {
    const committed = await super.commit(next, before, events);
    if (committed) this.recorded.push(...events);
    return committed;
  }
  override async listOverdue(query: OverdueQuery) {
    if (!this.listed) return super.listOverdue(query);
    return { items: this.listed, nextCursor: null };
  }
}

class MemoryExecutions implements WorkflowExecutions {
  readonly statuses = new Map<string, ExecutionStatus>();
  readonly started: string[] = [];
  /** Names whose start fails, as Step Functions might (throttled, unavailable). */
  readonly failing = new Set<string>();
  async status(name: string) {
    return this.statuses.get(name) ?? null;
  }
  async startNamed(name: string, intentId: string) {
    if (!name.startsWith(intentId)) throw new Error(`${name} is not an execution of ${intentId}`);
    if (this.failing.has(name)) throw new Error(`StartExecution ${name}: ServiceUnavailable`);
    if (this.statuses.has(name)) return;
    this.started.push(name);
    this.statuses.set(name, 'RUNNING');
  }
}

const signer = testSigner();

function setup(now: Date) {
  const intents = new MemoryIntents();
  const executions = new MemoryExecutions();
  const repaired: { id: string; outcome: RepairOutcome }[] = [];
  const failed: string[] = [];
  const run = (options = DEFAULT_RECONCILE_OPTIONS) =>
    reconcilePending({ intents, executions, clock: { now: () => now }, signer }, options, {
      repaired: (id, outcome) => repaired.push({ id, outcome }),
      failed: (id) => failed.push(id),
    });
  return { intents, executions, repaired, failed, run };
}

/** A pending intent created an hour before T0 + 1 h, with a 10 h deadline by default. */
function intent(id: string, body: Record<string, unknown> = {}): IntentState {
  return {
    ...pendingIntent({ policy: { timeout: { after: '10h', action: 'reject' } }, ...body }),
    id,
  };
}

const NOW = new Date(T0.getTime() + 60 * 60 * 1000);

describe('reconcilePending', () => {
  it('leaves intents with a running execution alone, looking each up once', async () => {
    // Prepare
    const { intents, executions, repaired, run } = setup(NOW);
    intents.add(intent('int_A'));
    executions.statuses.set('int_A', 'RUNNING');
    let lookups = 0;
    const status = executions.status.bind(executions);
    executions.status = async (name) => {
      lookups += 1;
      return status(name);
    };
    // Act
    const summary = await run();
    // Assess
    expect(summary).toMatchObject({ checked: 1, healthy: 1, restarted: 0 });
    expect(lookups).toBe(1);
    expect(repaired).toEqual([]);
  });

  it.each(['FAILED', 'TIMED_OUT', 'ABORTED'] as const)(
    'restarts an intent whose execution ended %s, under a new name',
    async (ended) => {
      // Prepare
      const { intents, executions, repaired, run } = setup(NOW);
      intents.add(intent('int_A'));
      executions.statuses.set('int_A', ended);
      // Act
      const summary = await run();
      // Assess
      expect(summary.restarted).toBe(1);
      expect(executions.started).toEqual(['int_A-r1']);
      expect(repaired).toEqual([
        {
          id: 'int_A',
          outcome: {
            kind: 'restarted',
            execution: 'int_A-r1',
            previous: 'int_A',
            previous_status: ended,
          },
        },
      ]);
      expect(intents.items.get('int_A')?.status).toBe('pending');
    },
  );

  it('follows earlier restarts to the current execution and numbers the next one after it', async () => {
    // Prepare
    const { intents, executions, run } = setup(NOW);
    intents.add(intent('int_A'));
    executions.statuses.set('int_A', 'FAILED');
    executions.statuses.set('int_A-r1', 'FAILED');
    executions.statuses.set('int_A-r2', 'ABORTED');
    // Act
    await run();
    // Assess
    expect(executions.started).toEqual(['int_A-r3']);
    // A second run finds int_A-r3 running and does nothing more.
    const again = await run();
    expect(again).toMatchObject({ healthy: 1, restarted: 0 });
    expect(executions.started).toEqual(['int_A-r3']);
  });

  it('counts the successor a decision during a reminder hold started: no restart beside it', async () => {
    // Prepare: the held execution woke superseded and ended; a chain's next step runs in the successor.
    const { intents, executions, run } = setup(NOW);
    intents.add({ ...intent('int_A'), successor_execution: 'int_A-h7' });
    executions.statuses.set('int_A', 'SUCCEEDED');
    executions.statuses.set('int_A-h7', 'RUNNING');
    // Act
    const summary = await run();
    // Assess
    expect(summary).toMatchObject({ healthy: 1, restarted: 0 });
    expect(executions.started).toEqual([]);
    // Once the successor itself has ended with the intent still pending, it is restarted.
    executions.statuses.set('int_A-h7', 'FAILED');
    await run();
    expect(executions.started).toEqual(['int_A-r1']);
  });

  it('starts the first execution of an intent that never got one (a create that failed half-way)', async () => {
    // Prepare
    const { intents, executions, run } = setup(NOW);
    intents.add(intent('int_A'));
    // Act
    const summary = await run();
    // Assess
    expect(summary.started).toBe(1);
    expect(executions.started).toEqual(['int_A']);
  });

  it('leaves intents younger than the grace period alone: their first start may be in flight', async () => {
    // Prepare
    const { intents, executions, run } = setup(new Date(T0.getTime() + 30_000));
    intents.add(intent('int_A'));
    // Act
    const summary = await run();
    // Assess: not even listed as overdue
    expect(summary).toMatchObject({ checked: 0, started: 0 });
    expect(executions.started).toEqual([]);
  });

  it('reads only overdue intents, most overdue first: one waiting as planned is not looked at', async () => {
    // Prepare: A waits on a stage until tomorrow; B's stage notices were never sent (an hour
    // ago); C was created half an hour ago and no stage ever began.
    const { intents, executions, repaired, run } = setup(NOW);
    const tomorrow = new Date(NOW.getTime() + 24 * 3600 * 1000).toISOString();
    intents.add({ ...intent('int_A'), task_token: 'token', next_action_at: tomorrow });
    intents.add({
      ...intent('int_B'),
      task_token: 'token',
      next_action_at: tomorrow,
      pending_notifications: [{ to: 'cfo@company.com', kind: 'notify', channel: 'email' }],
    });
    const halfAnHourAgo = new Date(NOW.getTime() - 30 * 60 * 1000).toISOString();
    intents.add({ ...intent('int_C'), created_at: halfAnHourAgo, updated_at: halfAnHourAgo });
    // Act
    const summary = await run();
    // Assess
    expect(summary).toMatchObject({ checked: 2, started: 2 });
    expect(repaired.map((entry) => entry.id)).toEqual(['int_B', 'int_C']);
    expect(executions.started).toEqual(['int_B', 'int_C']);
  });

  it('applies the policy timeout to an intent past its deadline whose execution ended, then starts one to tell everyone', async () => {
    // Prepare
    const { intents, executions, repaired, run } = setup(NOW);
    intents.add(intent('int_A', { policy: { timeout: { after: '30m', action: 'approve' } } }));
    executions.statuses.set('int_A', 'FAILED');
    // Act
    const summary = await run();
    // Assess
    expect(summary.timed_out).toBe(1);
    // The follow-up execution finds the intent final: decided notices, then the callback.
    expect(executions.started).toEqual(['int_A-r1']);
    const closed = intents.items.get('int_A');
    expect(closed?.status).toBe('timed_out');
    expect(closed?.decision).toMatchObject({
      outcome: 'approved',
      by: 'timeout',
      channel: 'timeout',
    });
    expect(intents.recorded.map((event) => event.type)).toEqual(['timed_out']);
    expect(repaired[0]?.outcome).toEqual({
      kind: 'timed_out',
      previous: 'int_A',
      previous_status: 'FAILED',
      execution: 'int_A-r1',
    });
  });

  it('leaves an overdue intent pending when its follow-up execution cannot start, for the next sweep', async () => {
    // Prepare
    const { intents, executions, failed, run } = setup(NOW);
    intents.add(intent('int_A', { policy: { timeout: { after: '30m', action: 'reject' } } }));
    executions.statuses.set('int_A', 'FAILED');
    executions.failing.add('int_A-r1');
    // Act
    const summary = await run();
    // Assess: nothing is final with nobody told; the next sweep finds it again.
    expect(summary).toMatchObject({ timed_out: 0, failed: 1 });
    expect(failed).toEqual(['int_A']);
    expect(intents.items.get('int_A')?.status).toBe('pending');
    executions.failing.clear();
    expect(await run()).toMatchObject({ timed_out: 1 });
    expect(intents.items.get('int_A')?.status).toBe('timed_out');
    expect(executions.started).toEqual(['int_A-r1']);
  });

  it('reports an intent as stuck once its restarts are used up, and times it out at the deadline', async () => {
    // Prepare
    const { intents, executions, run } = setup(NOW);
    intents.add(intent('int_A'));
    executions.statuses.set('int_A', 'FAILED');
    executions.statuses.set('int_A-r1', 'FAILED');
    const options = { ...DEFAULT_RECONCILE_OPTIONS, maxRestarts: 1 };
    // Act
    const summary = await run(options);
    // Assess
    expect(summary).toMatchObject({ stuck: 1, restarted: 0 });
    expect(executions.started).toEqual([]);
    expect(intents.items.get('int_A')?.status).toBe('pending');
    // At the deadline, nothing stays pending.
    const later = setup(new Date(T0.getTime() + 11 * 60 * 60 * 1000));
    later.intents.add(intents.items.get('int_A') as IntentState);
    for (const [name, status] of executions.statuses) later.executions.statuses.set(name, status);
    expect(await later.run(options)).toMatchObject({ timed_out: 1 });
    expect(later.intents.items.get('int_A')?.status).toBe('timed_out');
    // Restarts are used up, but an execution for a final intent only tells and calls back.
    expect(later.executions.started).toEqual(['int_A-r2']);
  });

  it('decides from a consistent read: an intent the index still lists as pending but already decided is left alone', async () => {
    // Prepare
    const { intents, executions, run } = setup(NOW);
    const listed = intents.add(intent('int_A'));
    intents.listed = [listed];
    intents.items.set('int_A', { ...listed, status: 'approved', version: listed.version + 1 });
    executions.statuses.set('int_A', 'SUCCEEDED');
    // Act
    const summary = await run();
    // Assess
    expect(summary).toMatchObject({ settled: 1, restarted: 0, timed_out: 0 });
    expect(executions.started).toEqual([]);
  });

  it('goes on after a failure with one intent and counts it', async () => {
    // Prepare
    const { intents, executions, failed, run } = setup(NOW);
    intents.add(intent('int_A'));
    intents.add(intent('int_B'));
    executions.statuses.set('int_A', 'FAILED');
    executions.statuses.set('int_B', 'FAILED');
    const startNamed = executions.startNamed.bind(executions);
    executions.startNamed = async (name, id) => {
      if (id === 'int_A') throw new Error('ThrottlingException');
      return startNamed(name, id);
    };
    // Act
    const summary = await run();
    // Assess
    expect(summary).toMatchObject({ checked: 2, failed: 1, restarted: 1 });
    expect(failed).toEqual(['int_A']);
    expect(executions.started).toEqual(['int_B-r1']);
  });

  it('pages through the pending list up to its limit', async () => {
    // Prepare
    const { intents, executions, run } = setup(NOW);
    for (let i = 0; i < 7; i += 1) {
      intents.add(intent(`int_${i}`));
      executions.statuses.set(`int_${i}`, 'RUNNING');
    }
    // Act
    const all = await run({ ...DEFAULT_RECONCILE_OPTIONS, pageSize: 3 });
    const capped = await run({ ...DEFAULT_RECONCILE_OPTIONS, pageSize: 3, maxIntents: 5 });
    // Assess
    expect(all).toMatchObject({ checked: 7, healthy: 7 });
    expect(capped).toMatchObject({ checked: 5, healthy: 5 });
  });
});

describe('executionName', () => {
  it('is the intent id first, then <id>-r<n>: valid Step Functions names under 80 characters', () => {
    const id = 'int_01KQ0000000000000000000000';
    expect(executionName(id, 0)).toBe(id);
    expect(executionName(id, 12)).toBe(`${id}-r12`);
    expect(executionName(id, 12)).toMatch(/^[A-Za-z0-9_-]{1,80}$/);
  });
});
