import { applyTimeout } from '../domain/decisions';
import { DomainError } from '../domain/errors';
import type { IntentState } from '../domain/intent';
import type { Clock, ExecutionStatus, IntentRepository, Signer, WorkflowExecutions } from './ports';
import { transitionIntent } from './transitions';

/**
 * The reconciler: a scheduled sweep over overdue pending intents that makes sure each one has a
 * live execution, so that nothing stays pending forever.
 *
 * It reads only the intents whose workflow should have acted more than `graceSeconds` ago
 * (`IntentRepository.listOverdue`: a stage's notices still unsent, no stage entered, or the
 * next reminder, escalation or deadline passed), most overdue first, however many are pending:
 * an intent whose execution waits as planned is not read at all. An execution that died while
 * waiting is found when its next planned moment passes.
 *
 * An intent's first execution is named after the intent; a restart is named `<id>-r<n>`.
 * Names are never reused, so a restart cannot collide with history, and two sweeps that race
 * start the same name, which Step Functions treats as one execution. The current execution is
 * the last name that exists, found without storing anything on the intent.
 *
 * For a pending intent whose current execution has ended (FAILED, TIMED_OUT, ABORTED, or even
 * SUCCEEDED) or never started:
 * - past its deadline: the policy's timeout is applied here, exactly as PlanStage would, since
 *   a deadline must hold even when the state machine cannot run; then a new execution is
 *   started, which finds the intent final and sends the decided notices and the callback;
 * - before it: a new execution is started (the machine plans from the stored intent, so it
 *   resumes at the right stage), up to `maxRestarts` times; after that the intent is reported
 *   as stuck until its deadline, when the timeout closes it.
 */
export interface ReconcilerDeps {
  intents: IntentRepository;
  executions: WorkflowExecutions;
  clock: Clock;
  /** Signs the receipt of a timeout the reconciler applies itself. */
  signer: Signer;
}

export interface ReconcileOptions {
  /** Intents younger than this are left alone: their first start may still be in flight. */
  graceSeconds: number;
  /** Restarts per intent before it is reported as stuck. */
  maxRestarts: number;
  /** Overdue intents looked at per run (most overdue first); the rest wait for the next run. */
  maxIntents: number;
  /** Page size of the pending list. */
  pageSize: number;
}

export const DEFAULT_RECONCILE_OPTIONS: ReconcileOptions = {
  graceSeconds: 120,
  maxRestarts: 5,
  maxIntents: 2000,
  pageSize: 50,
};

export type RepairOutcome =
  /** The current execution runs (or waits for a redrive): nothing to do. */
  | { kind: 'healthy'; execution: string }
  /** Created moments ago: not looked at yet. */
  | { kind: 'young' }
  /** The intent left pending while we looked (a decision landed): nothing to do. */
  | { kind: 'settled'; status: string }
  /** No execution had ever started: the first one was started now. */
  | { kind: 'started'; execution: string }
  /** The current execution ended abnormally: a new one was started. */
  | { kind: 'restarted'; execution: string; previous: string; previous_status: string }
  /**
   * Past the deadline with no live execution: the policy's timeout was applied, and `execution`
   * started to send the decided notices and the callback.
   */
  | { kind: 'timed_out'; previous: string; previous_status: string; execution: string }
  /** Restarts exhausted before the deadline: needs an operator (or the deadline). */
  | { kind: 'stuck'; previous: string; previous_status: string };

export interface ReconcileSummary {
  checked: number;
  healthy: number;
  young: number;
  settled: number;
  started: number;
  restarted: number;
  timed_out: number;
  stuck: number;
  failed: number;
}

export interface ReconcileObserver {
  repaired?(intentId: string, outcome: RepairOutcome): void;
  failed?(intentId: string, error: unknown): void;
}

/** The execution names of an intent, in order: the first run, then each restart. */
export function executionName(intentId: string, attempt: number): string {
  return attempt === 0 ? intentId : `${intentId}-r${attempt}`;
}

const LIVE: ReadonlySet<ExecutionStatus> = new Set(['RUNNING', 'PENDING_REDRIVE']);

export async function reconcilePending(
  deps: ReconcilerDeps,
  options: ReconcileOptions = DEFAULT_RECONCILE_OPTIONS,
  observer: ReconcileObserver = {},
): Promise<ReconcileSummary> {
  const summary: ReconcileSummary = {
    checked: 0,
    healthy: 0,
    young: 0,
    settled: 0,
    started: 0,
    restarted: 0,
    timed_out: 0,
    stuck: 0,
    failed: 0,
  };
  const dueBefore = new Date(
    deps.clock.now().getTime() - options.graceSeconds * 1000,
  ).toISOString();
  let cursor: string | undefined;
  do {
    const page = await deps.intents.listOverdue({
      dueBefore,
      limit: Math.min(options.pageSize, options.maxIntents - summary.checked),
      ...(cursor ? { cursor } : {}),
    });
    for (const intent of page.items) {
      summary.checked += 1;
      try {
        const outcome = await repairIntent(deps, intent, options);
        summary[outcome.kind] += 1;
        if (outcome.kind !== 'healthy' && outcome.kind !== 'young') {
          observer.repaired?.(intent.id, outcome);
        }
      } catch (error) {
        summary.failed += 1;
        observer.failed?.(intent.id, error);
      }
    }
    cursor = page.nextCursor ?? undefined;
  } while (cursor && summary.checked < options.maxIntents);
  return summary;
}

/** Looks at one intent listed as pending and repairs it if its execution is gone. */
async function repairIntent(
  deps: ReconcilerDeps,
  listed: IntentState,
  options: Pick<ReconcileOptions, 'graceSeconds' | 'maxRestarts'>,
): Promise<RepairOutcome> {
  const now = deps.clock.now().getTime();
  if (now - Date.parse(listed.created_at) < options.graceSeconds * 1000) return { kind: 'young' };

  const current = await currentExecution(deps.executions, listed.id);
  if (current.status !== null && LIVE.has(current.status)) {
    return { kind: 'healthy', execution: current.name };
  }

  // The list comes from an index, which lags: decide from a consistent read of the intent.
  const intent = await deps.intents.get(listed.id);
  if (intent?.status !== 'pending') {
    return { kind: 'settled', status: intent?.status ?? 'missing' };
  }
  // A decision during a reminder hold handed the intent to a successor of another name.
  if (intent.successor_execution) {
    const status = await deps.executions.status(intent.successor_execution);
    if (status !== null && LIVE.has(status)) {
      return { kind: 'healthy', execution: intent.successor_execution };
    }
  }
  const previousStatus = current.status ?? 'MISSING';
  if (Date.parse(intent.deadline_at) <= now) {
    // A fresh execution tells everyone and calls back once the intent is final; it is started
    // first, so that a failed start leaves the intent pending for the next sweep to retry
    // rather than final with nobody told. It would record the timeout itself (PlanStage); the
    // sweep records it too, since a deadline must hold even when executions cannot run: both
    // are conditional writes, and exactly one lands.
    const followUp =
      current.status === null ? current.name : executionName(intent.id, current.attempt + 1);
    await deps.executions.startNamed(followUp, intent.id);
    try {
      await transitionIntent(
        deps.intents,
        intent.id,
        (latest) => applyTimeout(latest, deps.clock.now().toISOString()),
        intent,
        deps.signer,
      );
    } catch (error) {
      if (error instanceof DomainError && error.code === 'already_decided') {
        return { kind: 'settled', status: 'decided' };
      }
      throw error;
    }
    return {
      kind: 'timed_out',
      previous: current.name,
      previous_status: previousStatus,
      execution: followUp,
    };
  }
  if (current.status === null) {
    await deps.executions.startNamed(current.name, intent.id);
    return { kind: 'started', execution: current.name };
  }
  if (current.attempt >= options.maxRestarts) {
    return { kind: 'stuck', previous: current.name, previous_status: previousStatus };
  }
  const next = executionName(intent.id, current.attempt + 1);
  await deps.executions.startNamed(next, intent.id);
  return {
    kind: 'restarted',
    execution: next,
    previous: current.name,
    previous_status: previousStatus,
  };
}

/**
 * The intent's latest execution: the first name, then each restart while the one before has
 * ended. `status` is null only when not even the first execution exists.
 */
async function currentExecution(
  executions: WorkflowExecutions,
  intentId: string,
): Promise<{ name: string; attempt: number; status: ExecutionStatus | null }> {
  let attempt = 0;
  let name = executionName(intentId, 0);
  let status = await executions.status(name);
  while (status !== null && !LIVE.has(status)) {
    const nextName = executionName(intentId, attempt + 1);
    const nextStatus = await executions.status(nextName);
    if (nextStatus === null) break;
    attempt += 1;
    name = nextName;
    status = nextStatus;
  }
  return { name, attempt, status };
}
