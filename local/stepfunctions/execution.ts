/**
 * The in-memory model of an execution, split into what the journal persists and what is rebuilt
 * after a restart. `ExecutionMutable` is written whole in every journal record for the execution,
 * so it is kept small: the current state's input, deadlines and the pending task's token; never
 * the whole history (history events are journaled once, as they happen).
 */
import type { StateMachineDefinition } from './definition.js';
import type { Json } from './json.js';
import type { TimerEntry } from './timer-queue.js';

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

/** Fixed at StartExecution. */
export interface ExecutionMeta {
  /** Small integer identifying the execution inside task tokens and journal records. */
  number: number;
  arn: string;
  name: string;
  machineName: string;
  machineArn: string;
  /** The input exactly as given to StartExecution (compared for idempotent restarts). */
  input: string;
  startDate: number;
  /** Hash of the definition the execution runs: executions keep the version they started with. */
  definitionHash: string;
}

export interface TaskProgress {
  phase: 'running' | 'retryDelay';
  /** .waitForTaskToken tasks: the token of the current attempt. */
  token?: string;
  functionName?: string;
  /**
   * What the Lambda function is invoked with. Kept until the invocation returns so that an
   * invocation interrupted by a crash can be repeated identically (same token) after restart.
   */
  payload?: Json;
  invokeDone?: boolean;
  /** Absolute deadlines (ms since epoch); they survive restarts unchanged. */
  timeoutAt?: number;
  heartbeatAt?: number;
  heartbeatSeconds?: number;
  retryAt?: number;
}

export interface Cursor {
  state: string;
  /** The state's raw input (before InputPath), needed for ResultPath and Catch. */
  input: Json;
  enteredAt: number;
  enteredEventId: number;
  /** Per-retrier attempt counters: a retrier's MaxAttempts applies across all errors it matches. */
  retriersUsed: number[];
  retryCount: number;
  /** Wait states: when the wait ends, and the output if it differs from the input. */
  waitUntil?: number;
  waitOutput?: Json;
  task?: TaskProgress;
}

export interface ExecutionMutable {
  status: ExecutionStatus;
  /**
   * Incremented whenever pending work is superseded (new state, new task attempt). Timer and
   * Lambda completions carry the step they were issued for and are ignored when it moved on.
   */
  step: number;
  stopDate?: number;
  output?: string;
  error?: string;
  cause?: string;
  /** Execution-level deadline from the definition's top-level TimeoutSeconds. */
  timeoutAt?: number;
  cursor?: Cursor;
}

export type TimerKind = 'wait' | 'retry' | 'taskTimeout' | 'heartbeat' | 'executionTimeout';

export interface TimerPayload {
  execution: Execution;
  kind: TimerKind;
  step: number;
}

export interface Execution {
  meta: ExecutionMeta;
  mutable: ExecutionMutable;
  /** Serialised history events (compact strings rather than objects to keep memory small). */
  history: string[];
  definition: StateMachineDefinition | undefined;
  /** Transient: armed timers, rebuilt from the deadlines in `mutable` after a restart. */
  timers: TimerEntry<TimerPayload>[];
  /** Transient: resolves when the StartExecution record is durable (idempotent retries wait on it). */
  started?: Promise<void>;
  closeWaiters?: (() => void)[];
}

export interface InvocationRequest {
  execution: Execution;
  step: number;
  functionName: string;
  payload: Json;
}

/** Everything one engine step produced, written as one journal record before anything is acted on. */
export interface Transaction {
  execution: Execution;
  events: string[];
  invocations: InvocationRequest[];
  /** Set for the first record of an execution. */
  start?: { meta: ExecutionMeta; definition?: { hash: string; document: Json } };
}

export const HISTORY_EVENT_LIMIT = 25_000;

export function isRunning(execution: Execution): boolean {
  return execution.mutable.status === 'RUNNING';
}
