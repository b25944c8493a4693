/**
 * The engine: owns executions, the journal, the timer queue and Lambda invocations, and
 * implements the Step Functions API operations on top of the interpreter.
 *
 * Flow of every change: interpreter mutates an execution inside a Transaction (synchronously) →
 * the transaction is appended to the journal → once durable, timers are (re)armed, Lambda
 * invocations start and the API caller gets its answer. Nothing outside the process observes a
 * transition before it is on disk, so a crash at any point loses nothing that was acknowledged.
 */
import { createHash, randomUUID } from 'node:crypto';
import type {
  DescribeExecutionOutput,
  DescribeStateMachineOutput,
  ExecutionListItem,
  GetExecutionHistoryOutput,
  HistoryEvent,
  ListExecutionsOutput,
  ListStateMachinesOutput,
  SendTaskFailureOutput,
  SendTaskHeartbeatOutput,
  SendTaskSuccessOutput,
  StartExecutionOutput,
  StopExecutionOutput,
} from '@aws-sdk/client-sfn';
import { compileDefinition, type StateMachineDefinition } from './definition.js';
import { ServiceError } from './errors.js';
import {
  type Execution,
  type ExecutionMeta,
  type ExecutionMutable,
  type ExecutionStatus,
  type InvocationRequest,
  isRunning,
  type TimerKind,
  type TimerPayload,
  type Transaction,
} from './execution.js';
import { Interpreter, type LambdaFailure } from './interpreter.js';
import { Journal, type JournalRecord } from './journal.js';
import {
  isJsonObject,
  type Json,
  MAX_PAYLOAD_BYTES,
  toJson,
  tryParseJson,
  utf8Length,
} from './json.js';
import { TimerQueue } from './timer-queue.js';
import { TaskTokens } from './tokens.js';

export type LambdaInvoker = (functionName: string, payload: unknown) => Promise<unknown>;

export interface StateMachineSpec {
  name: string;
  definition: string | object;
}

export interface LocalStepFunctionsOptions {
  /** Where the engine persists its journal (created if missing). */
  dataDir: string;
  stateMachines: StateMachineSpec[];
  invokeLambda: LambdaInvoker;
  /** Default 'us-east-1'. */
  region?: string;
  /** Default '000000000000'. */
  accountId?: string;
  /** Injectable clock (ms since epoch) for tests; default Date.now. */
  now?: () => number;
  /** Journal bytes after which a snapshot is written and old segments deleted. Default 64 MiB. */
  compactAfterBytes?: number;
  /** Closed executions older than this are dropped at compaction. Default 90 days (as AWS). */
  retentionMs?: number;
  /**
   * The journal could not be written (disk full, I/O error): from now on every change fails, so
   * the engine cannot serve. Called once, with the error, before the callers of that write fail.
   */
  onJournalFailure?: (error: Error) => void;
}

interface Machine {
  name: string;
  arn: string;
  hash: string;
  document: Json;
  definition: StateMachineDefinition;
  createdAt: number;
}

interface StoredDefinition {
  document: Json;
  compiled?: StateMachineDefinition;
  error?: string;
}

const DEFAULT_COMPACT_AFTER_BYTES = 64 * 1024 * 1024;
const DEFAULT_RETENTION_MS = 90 * 24 * 3600 * 1000;
const MAX_TOKEN_LENGTH = 2048;
const MAX_ERROR_LENGTH = 256;
const MAX_CAUSE_LENGTH = 32_768;
// AWS: names may not contain whitespace, brackets < > { } [ ], wildcards ? *, the characters
// " # % \ ^ | ~ ` $ & , ; : / or control characters (U+0000-001F, U+007F-009F).
// biome-ignore lint/suspicious/noControlCharactersInRegex: the control characters are the point.
const FORBIDDEN_NAME_CHARACTERS = /[\s<>{}[\]?*"#%\\^|~`$&,;:/\u0000-\u001f\u007f-\u009f]/;

export class Engine {
  protected readonly region: string;
  protected readonly accountId: string;
  protected readonly now: () => number;
  private readonly options: LocalStepFunctionsOptions;
  private readonly machines = new Map<string, Machine>();
  private readonly definitions = new Map<string, StoredDefinition>();
  private readonly durableDefinitionHashes = new Set<string>();
  private readonly executions = new Map<string, Execution>();
  private readonly executionsByNumber = new Map<number, Execution>();
  private readonly executionsByMachine = new Map<string, Execution[]>();
  private readonly pendingCommits = new Set<Promise<unknown>>();
  private readonly pendingInvocations = new Set<Promise<unknown>>();
  private readonly timers: TimerQueue<TimerPayload>;
  private readonly interpreter: Interpreter;
  private journal!: Journal;
  private tokens!: TaskTokens;
  private nextExecutionNumber = 1;
  private closed = false;

  protected constructor(options: LocalStepFunctionsOptions) {
    this.options = options;
    this.region = options.region ?? 'us-east-1';
    this.accountId = options.accountId ?? '000000000000';
    this.now = options.now ?? Date.now;
    this.timers = new TimerQueue(this.now, (payload) => this.onTimer(payload));
    this.interpreter = new Interpreter({
      now: this.now,
      mintToken: (executionNumber, step) => this.tokens.mint(executionNumber, step),
      region: this.region,
      roleArn: `arn:aws:iam::${this.accountId}:role/countersign-local-stepfunctions`,
    });
  }

  /** Validates definitions, replays the journal and resumes running executions. */
  protected async initialise(): Promise<void> {
    for (const spec of this.options.stateMachines) {
      if (this.machines.has(spec.name))
        throw new Error(`state machine "${spec.name}" is defined twice`);
      validateName(spec.name, 'state machine name');
      const definition = compileDefinition(spec.definition);
      const document = (
        typeof spec.definition === 'string' ? JSON.parse(spec.definition) : spec.definition
      ) as Json;
      const hash = definitionHash(document);
      this.machines.set(spec.name, {
        name: spec.name,
        arn: this.stateMachineArn(spec.name),
        hash,
        document,
        definition,
        createdAt: this.now(),
      });
      this.definitions.set(hash, { document, compiled: definition });
    }

    const onJournalFailure = this.options.onJournalFailure;
    this.journal = await Journal.open(
      this.options.dataDir,
      {
        snapshotEntry: (entry) => this.replaySnapshotEntry(entry),
        record: (record) => this.replayRecord(record),
      },
      onJournalFailure ? { onFailure: (error) => onJournalFailure(error) } : {},
    );
    try {
      this.tokens = await TaskTokens.load(this.options.dataDir);
      await this.journal.startWriting();
    } catch (error) {
      await this.journal.close();
      throw error;
    }
    // Fold the replayed tail into a fresh snapshot so the next start reads one file. Runs in the
    // background: it captures state at a sequence point and is safe alongside new appends.
    this.compact();

    for (const execution of this.executions.values()) {
      if (isRunning(execution)) this.resume(execution);
    }
  }

  stateMachineArn(name: string): string {
    return `arn:aws:states:${this.region}:${this.accountId}:stateMachine:${name}`;
  }

  // --- API operations ---------------------------------------------------------------------------

  async startExecution(input: {
    stateMachineArn?: string | undefined;
    name?: string | undefined;
    input?: string | undefined;
  }): Promise<StartExecutionOutput> {
    this.assertOpen();
    const machineArn = requiredString(input.stateMachineArn, 'stateMachineArn');
    const machine = this.machineByArn(machineArn);
    const name = input.name ?? randomUUID();
    validateName(name, 'execution name');
    const inputText = input.input ?? '{}';
    if (typeof inputText !== 'string') throw validation('input', 'Member must be a string');
    if (utf8Length(inputText) > MAX_PAYLOAD_BYTES) {
      throw validation(
        'input',
        `Member must have length less than or equal to ${MAX_PAYLOAD_BYTES}`,
      );
    }
    const parsed = tryParseJson(inputText);
    if (!parsed) {
      throw new ServiceError(
        'InvalidExecutionInput',
        `Invalid State Machine Execution Input: '${truncate(inputText)}'`,
      );
    }
    const arn = `arn:aws:states:${this.region}:${this.accountId}:execution:${machine.name}:${name}`;
    const existing = this.executions.get(arn);
    if (existing) {
      // AWS: same name and same input while the execution is open is an idempotent success.
      if (isRunning(existing) && existing.meta.input === inputText) {
        await existing.started;
        return { executionArn: arn, startDate: new Date(existing.meta.startDate) };
      }
      throw new ServiceError('ExecutionAlreadyExists', `Execution Already Exists: '${arn}'`);
    }

    const meta: ExecutionMeta = {
      number: this.nextExecutionNumber++,
      arn,
      name,
      machineName: machine.name,
      machineArn: machine.arn,
      input: inputText,
      startDate: this.now(),
      definitionHash: machine.hash,
    };
    const execution: Execution = {
      meta,
      mutable: { status: 'RUNNING', step: 0 },
      history: [],
      definition: machine.definition,
      timers: [],
    };
    this.register(execution);
    const start: NonNullable<Transaction['start']> = { meta };
    if (!this.durableDefinitionHashes.has(machine.hash)) {
      start.definition = { hash: machine.hash, document: machine.document };
      this.durableDefinitionHashes.add(machine.hash);
    }
    execution.started = this.step(
      execution,
      (txn) => this.interpreter.start(txn, parsed.value, machine.definition.timeoutSeconds),
      start,
    );
    await execution.started;
    return { executionArn: arn, startDate: new Date(meta.startDate) };
  }

  async describeExecution(input: {
    executionArn?: string | undefined;
  }): Promise<DescribeExecutionOutput> {
    this.assertOpen();
    const execution = this.executionByArn(requiredString(input.executionArn, 'executionArn'));
    await this.journal.sync();
    return this.describe(execution);
  }

  async stopExecution(input: {
    executionArn?: string | undefined;
    error?: string | undefined;
    cause?: string | undefined;
  }): Promise<StopExecutionOutput> {
    this.assertOpen();
    const execution = this.executionByArn(requiredString(input.executionArn, 'executionArn'));
    const error = optionalString(input.error, 'error', MAX_ERROR_LENGTH);
    const cause = optionalString(input.cause, 'cause', MAX_CAUSE_LENGTH);
    if (isRunning(execution)) {
      await this.step(execution, (txn) => this.interpreter.stop(txn, error, cause));
    } else {
      await this.journal.sync();
    }
    return { stopDate: new Date(execution.mutable.stopDate ?? this.now()) };
  }

  async sendTaskSuccess(input: {
    taskToken?: string | undefined;
    output?: string | undefined;
  }): Promise<SendTaskSuccessOutput> {
    this.assertOpen();
    const token = requiredString(input.taskToken, 'taskToken', MAX_TOKEN_LENGTH);
    const outputText = requiredString(input.output, 'output', MAX_PAYLOAD_BYTES);
    if (utf8Length(outputText) > MAX_PAYLOAD_BYTES) {
      throw validation(
        'output',
        `Member must have length less than or equal to ${MAX_PAYLOAD_BYTES}`,
      );
    }
    const output = tryParseJson(outputText);
    if (!output)
      throw new ServiceError('InvalidOutput', `Invalid Output: '${truncate(outputText)}'`);
    const execution = this.executionForToken(token);
    await this.step(execution, (txn) => this.interpreter.onTaskSuccess(txn, output.value));
    return {};
  }

  async sendTaskFailure(input: {
    taskToken?: string | undefined;
    error?: string | undefined;
    cause?: string | undefined;
  }): Promise<SendTaskFailureOutput> {
    this.assertOpen();
    const token = requiredString(input.taskToken, 'taskToken', MAX_TOKEN_LENGTH);
    const error = optionalString(input.error, 'error', MAX_ERROR_LENGTH);
    const cause = optionalString(input.cause, 'cause', MAX_CAUSE_LENGTH);
    const execution = this.executionForToken(token);
    await this.step(execution, (txn) => this.interpreter.onTaskFailure(txn, error, cause));
    return {};
  }

  async sendTaskHeartbeat(input: {
    taskToken?: string | undefined;
  }): Promise<SendTaskHeartbeatOutput> {
    this.assertOpen();
    const token = requiredString(input.taskToken, 'taskToken', MAX_TOKEN_LENGTH);
    const execution = this.executionForToken(token);
    // Journal the extended heartbeat deadline so a restart does not time the task out early.
    await this.step(execution, () => this.interpreter.onHeartbeat(execution));
    return {};
  }

  async getExecutionHistory(input: {
    executionArn?: string | undefined;
    maxResults?: number | undefined;
    nextToken?: string | undefined;
    reverseOrder?: boolean | undefined;
    includeExecutionData?: boolean | undefined;
  }): Promise<GetExecutionHistoryOutput> {
    this.assertOpen();
    const arn = requiredString(input.executionArn, 'executionArn');
    const execution = this.executionByArn(arn);
    await this.journal.sync();
    const pageSize = pageSizeOf(input.maxResults);
    const reverse = input.reverseOrder === true;
    const key = `${arn}|${reverse}`;
    const offset = decodePageToken(input.nextToken, key);
    const total = execution.history.length;
    const events: HistoryEvent[] = [];
    for (let i = offset; i < total && events.length < pageSize; i++) {
      const text = execution.history[reverse ? total - 1 - i : i];
      if (text !== undefined)
        events.push(toHistoryEvent(text, input.includeExecutionData !== false));
    }
    const nextOffset = offset + events.length;
    return nextOffset < total
      ? { events, nextToken: encodePageToken(nextOffset, key) }
      : { events };
  }

  async listExecutions(input: {
    stateMachineArn?: string | undefined;
    statusFilter?: string | undefined;
    maxResults?: number | undefined;
    nextToken?: string | undefined;
  }): Promise<ListExecutionsOutput> {
    this.assertOpen();
    const machineArn = requiredString(input.stateMachineArn, 'stateMachineArn');
    parseArn(machineArn, 'stateMachine');
    const executions = this.executionsByMachine.get(machineArn);
    if (!executions && ![...this.machines.values()].some((machine) => machine.arn === machineArn)) {
      throw new ServiceError(
        'StateMachineDoesNotExist',
        `State Machine Does Not Exist: '${machineArn}'`,
      );
    }
    const statusFilter = input.statusFilter;
    if (
      statusFilter !== undefined &&
      !['RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED', 'PENDING_REDRIVE'].includes(
        statusFilter,
      )
    ) {
      throw validation(
        'statusFilter',
        'Member must satisfy enum value set: [SUCCEEDED, TIMED_OUT, PENDING_REDRIVE, ABORTED, FAILED, RUNNING]',
      );
    }
    await this.journal.sync();
    const pageSize = pageSizeOf(input.maxResults);
    const key = `${machineArn}|${statusFilter ?? ''}`;
    const offset = decodePageToken(input.nextToken, key);
    // Most recent first, as AWS lists them.
    const matching = [...(executions ?? [])]
      .reverse()
      .filter(
        (execution) => statusFilter === undefined || execution.mutable.status === statusFilter,
      );
    const page = matching.slice(offset, offset + pageSize).map((execution): ExecutionListItem => {
      const item: ExecutionListItem = {
        executionArn: execution.meta.arn,
        stateMachineArn: execution.meta.machineArn,
        name: execution.meta.name,
        status: execution.mutable.status,
        startDate: new Date(execution.meta.startDate),
      };
      if (execution.mutable.stopDate !== undefined)
        item.stopDate = new Date(execution.mutable.stopDate);
      return item;
    });
    const nextOffset = offset + page.length;
    return nextOffset < matching.length
      ? { executions: page, nextToken: encodePageToken(nextOffset, key) }
      : { executions: page };
  }

  async describeStateMachine(input: {
    stateMachineArn?: string | undefined;
  }): Promise<DescribeStateMachineOutput> {
    this.assertOpen();
    const machine = this.machineByArn(requiredString(input.stateMachineArn, 'stateMachineArn'));
    return {
      stateMachineArn: machine.arn,
      name: machine.name,
      status: 'ACTIVE',
      definition: JSON.stringify(machine.document),
      roleArn: `arn:aws:iam::${this.accountId}:role/countersign-local-stepfunctions`,
      type: 'STANDARD',
      creationDate: new Date(machine.createdAt),
    };
  }

  async listStateMachines(): Promise<ListStateMachinesOutput> {
    this.assertOpen();
    return {
      stateMachines: [...this.machines.values()].map((machine) => ({
        stateMachineArn: machine.arn,
        name: machine.name,
        type: 'STANDARD',
        creationDate: new Date(machine.createdAt),
      })),
    };
  }

  // --- helpers for tests and tooling ------------------------------------------------------------

  /** Fires every timer due at `now()` (for an injected clock) and waits for the resulting commits. */
  async runDueTimers(): Promise<void> {
    this.timers.fireDue();
    await this.drain(this.pendingCommits);
  }

  /** Waits until no journal write or Lambda invocation is in flight (includes their follow-ups). */
  async settle(): Promise<void> {
    while (this.pendingCommits.size > 0 || this.pendingInvocations.size > 0) {
      await Promise.allSettled([...this.pendingCommits, ...this.pendingInvocations]);
    }
    await this.journal.sync();
  }

  /** Resolves with DescribeExecution's answer once the execution is closed and durable. */
  async waitForExecution(executionArn: string): Promise<DescribeExecutionOutput> {
    const execution = this.executionByArn(executionArn);
    if (isRunning(execution)) {
      await new Promise<void>((resolve) => {
        execution.closeWaiters ??= [];
        execution.closeWaiters.push(resolve);
      });
    }
    await this.journal.sync();
    return this.describe(execution);
  }

  /** Diagnostics: number of armed deadlines and the earliest one. */
  timerStats(): { armed: number; earliest: number | undefined } {
    return { armed: this.timers.size, earliest: this.timers.peek()?.at };
  }

  journalStats() {
    return { ...this.journal.stats, sequence: this.journal.sequence };
  }

  /** Writes a snapshot now and deletes the journal segments it covers. */
  async compactNow(): Promise<void> {
    await this.journal.compact(() => this.captureSnapshot());
  }

  protected async shutdown(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.timers.stop();
    await this.drain(this.pendingCommits);
    await this.journal.close();
  }

  /**
   * Test hook: behave as if the process died right now. Timers stop, nothing more is written
   * (pending journal batches are dropped), in-flight Lambda results are ignored.
   */
  protected async crash(): Promise<void> {
    this.closed = true;
    this.timers.stop();
    await this.journal.abandon();
  }

  // --- internals --------------------------------------------------------------------------------

  private assertOpen(): void {
    if (this.closed)
      throw new ServiceError(
        'ServiceUnavailable',
        'The local Step Functions engine is closed',
        503,
      );
  }

  private async drain(pending: Set<Promise<unknown>>): Promise<void> {
    while (pending.size > 0) await Promise.allSettled([...pending]);
  }

  /**
   * Runs one interpreter step as a transaction and journals it. Should the interpreter throw
   * unexpectedly (a bug), the execution is restored to its last journaled shape and failed with
   * States.Runtime, rather than left half-changed in memory and stuck.
   */
  private step(
    execution: Execution,
    action: (txn: Transaction) => void,
    start?: Transaction['start'],
  ): Promise<void> {
    let txn: Transaction = { execution, events: [], invocations: [], start };
    const historyLength = execution.history.length;
    const savedMutable = JSON.stringify(execution.mutable);
    try {
      action(txn);
    } catch (error) {
      console.error('[local-stepfunctions] internal error, failing the execution', error);
      execution.history.length = historyLength;
      execution.mutable = JSON.parse(savedMutable) as ExecutionMutable;
      txn = { execution, events: [], invocations: [], start };
      this.interpreter.failRuntime(
        txn,
        `Internal error in the local Step Functions engine: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    return this.commit(txn);
  }

  private commit(txn: Transaction): Promise<void> {
    const execution = txn.execution;
    let record = `{"x":${execution.meta.number}`;
    if (txn.start) {
      record += `,"start":${JSON.stringify(txn.start.meta)}`;
      if (txn.start.definition) record += `,"def":${JSON.stringify(txn.start.definition)}`;
    }
    record += `,"ev":[${txn.events.join(',')}],"m":${JSON.stringify(execution.mutable)}}`;
    const done = this.journal.append(record).then(() => this.afterCommit(txn));
    this.track(this.pendingCommits, done);
    if (
      this.journal.bytesWrittenSinceSnapshot >
      (this.options.compactAfterBytes ?? DEFAULT_COMPACT_AFTER_BYTES)
    ) {
      this.compact();
    }
    return done;
  }

  private afterCommit(txn: Transaction): void {
    if (this.closed) return;
    const execution = txn.execution;
    this.syncTimers(execution);
    for (const invocation of txn.invocations) this.startInvocation(invocation);
    if (!isRunning(execution) && execution.closeWaiters) {
      const waiters = execution.closeWaiters;
      execution.closeWaiters = undefined;
      for (const resolve of waiters) resolve();
    }
  }

  private track(pending: Set<Promise<unknown>>, promise: Promise<unknown>): void {
    const tracked = promise.catch((error: unknown) => {
      if (!this.closed) console.error('[local-stepfunctions]', error);
    });
    pending.add(tracked);
    void tracked.finally(() => pending.delete(tracked));
  }

  private compact(): void {
    void this.journal
      .compact(() => this.captureSnapshot())
      .catch((error: unknown) => {
        if (!this.closed) console.error('[local-stepfunctions] compaction failed', error);
      });
  }

  private register(execution: Execution): void {
    this.executions.set(execution.meta.arn, execution);
    this.executionsByNumber.set(execution.meta.number, execution);
    let list = this.executionsByMachine.get(execution.meta.machineArn);
    if (!list) {
      list = [];
      this.executionsByMachine.set(execution.meta.machineArn, list);
    }
    list.push(execution);
    this.nextExecutionNumber = Math.max(this.nextExecutionNumber, execution.meta.number + 1);
  }

  private resume(execution: Execution): void {
    if (!execution.definition) {
      const stored = this.definitions.get(execution.meta.definitionHash);
      const reason = stored?.error ?? 'it is missing from the journal';
      void this.step(execution, (txn) =>
        this.interpreter.failRuntime(
          txn,
          `The definition this execution started with cannot be loaded: ${reason}`,
        ),
      );
      return;
    }
    this.syncTimers(execution);
    const task = execution.mutable.cursor?.task;
    if (task?.phase === 'running' && !task.invokeDone && task.functionName !== undefined) {
      // The invocation was in flight when the process died: invoke again (at-least-once, as AWS),
      // with the identical payload, hence the same task token. A JSON null payload stays null.
      this.startInvocation({
        execution,
        step: execution.mutable.step,
        functionName: task.functionName,
        payload: task.payload === undefined ? {} : task.payload,
      });
    }
  }

  private isCurrentInvocation(invocation: InvocationRequest): boolean {
    const execution = invocation.execution;
    const task = execution.mutable.cursor?.task;
    return (
      isRunning(execution) &&
      execution.mutable.step === invocation.step &&
      task?.phase === 'running' &&
      task.invokeDone !== true
    );
  }

  private startInvocation(invocation: InvocationRequest): void {
    if (this.closed || !this.isCurrentInvocation(invocation)) return;
    const payload = structuredClone(invocation.payload);
    const settled = (async () =>
      this.options.invokeLambda(invocation.functionName, payload))().then(
      (result) => this.onInvocationSettled(invocation, { ok: true, result }),
      (error: unknown) =>
        this.onInvocationSettled(invocation, { ok: false, failure: lambdaFailure(error) }),
    );
    this.track(this.pendingInvocations, settled);
  }

  private onInvocationSettled(
    invocation: InvocationRequest,
    outcome: { ok: true; result: unknown } | { ok: false; failure: LambdaFailure },
  ): void {
    // A late answer (task already answered via SendTaskSuccess, timed out, execution stopped) is
    // dropped, as AWS drops a Lambda response that arrives after the task closed.
    if (this.closed || !this.isCurrentInvocation(invocation)) return;
    let result: Json | undefined;
    let failure = outcome.ok ? undefined : outcome.failure;
    if (outcome.ok) {
      try {
        result = toJson(outcome.result);
      } catch (error) {
        // Lambda can only return JSON; anything else is an unhandled function error.
        failure = {
          errorType: 'Lambda.Unknown',
          errorMessage: `The function result is not JSON: ${(error as Error).message}`,
        };
      }
    }
    void this.step(invocation.execution, (txn) => {
      if (failure) this.interpreter.onInvokeFailure(txn, failure);
      else this.interpreter.onInvokeSuccess(txn, result ?? null);
    });
  }

  private syncTimers(execution: Execution): void {
    for (const entry of execution.timers) this.timers.cancel(entry);
    execution.timers.length = 0;
    if (!isRunning(execution)) return;
    const { mutable } = execution;
    const schedule = (kind: TimerKind, at: number | undefined) => {
      if (at === undefined) return;
      execution.timers.push(this.timers.schedule(at, { execution, kind, step: mutable.step }));
    };
    schedule('executionTimeout', mutable.timeoutAt);
    const cursor = mutable.cursor;
    schedule('wait', cursor?.waitUntil);
    const task = cursor?.task;
    if (task?.phase === 'running') {
      schedule('taskTimeout', task.timeoutAt);
      schedule('heartbeat', task.heartbeatAt);
    } else if (task?.phase === 'retryDelay') {
      schedule('retry', task.retryAt);
    }
  }

  private onTimer(payload: TimerPayload): void {
    const { execution, kind, step } = payload;
    if (this.closed || !isRunning(execution)) return;
    if (kind !== 'executionTimeout' && execution.mutable.step !== step) return;
    void this.step(execution, (txn) => this.interpreter.onTimer(txn, kind));
  }

  private executionForToken(token: string): Execution {
    const decoded = this.tokens.verify(token);
    if (!decoded) throw new ServiceError('InvalidToken', "Invalid Token: 'Invalid token'");
    const execution = this.executionsByNumber.get(decoded.executionNumber);
    if (!execution) throw new ServiceError('TaskDoesNotExist', 'Task Does Not Exist');
    const task = execution.mutable.cursor?.task;
    if (!isRunning(execution) || task?.phase !== 'running' || task.token !== token) {
      // AWS answers a closed, answered or expired task like this (e.g. a second SendTaskSuccess).
      throw new ServiceError(
        'TaskTimedOut',
        "Task Timed Out: 'Provided task does not exist anymore'",
      );
    }
    return execution;
  }

  private machineByArn(arn: string): Machine {
    const parts = parseArn(arn, 'stateMachine');
    const machine = this.machines.get(parts.resourceName);
    if (!machine || machine.arn !== arn) {
      throw new ServiceError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${arn}'`);
    }
    return machine;
  }

  private executionByArn(arn: string): Execution {
    parseArn(arn, 'execution');
    const execution = this.executions.get(arn);
    if (!execution)
      throw new ServiceError('ExecutionDoesNotExist', `Execution Does Not Exist: '${arn}'`);
    return execution;
  }

  private describe(execution: Execution): DescribeExecutionOutput {
    const { meta, mutable } = execution;
    const output: DescribeExecutionOutput = {
      executionArn: meta.arn,
      stateMachineArn: meta.machineArn,
      name: meta.name,
      status: mutable.status,
      startDate: new Date(meta.startDate),
      input: meta.input,
      inputDetails: { included: true },
      redriveCount: 0,
      redriveStatus: 'NOT_REDRIVABLE',
    };
    if (mutable.stopDate !== undefined) output.stopDate = new Date(mutable.stopDate);
    if (mutable.output !== undefined) {
      output.output = mutable.output;
      output.outputDetails = { included: true };
    }
    if (mutable.error !== undefined) output.error = mutable.error;
    if (mutable.cause !== undefined) output.cause = mutable.cause;
    return output;
  }

  // --- journal replay and snapshots -------------------------------------------------------------

  private replaySnapshotEntry(entry: unknown): void {
    if (!isJsonObject(entry as Json)) return;
    const record = entry as Record<string, unknown>;
    if (record.kind === 'definition') {
      this.rememberDefinition(record.hash as string, record.document as Json);
    } else if (record.kind === 'execution') {
      const execution: Execution = {
        meta: record.meta as ExecutionMeta,
        mutable: record.mutable as ExecutionMutable,
        history: (record.history as unknown[]).map((event) => JSON.stringify(event)),
        definition: undefined,
        timers: [],
      };
      execution.definition = this.compiledDefinition(execution.meta.definitionHash);
      this.register(execution);
    }
  }

  private replayRecord(record: JournalRecord): void {
    const definition = record.def as { hash: string; document: Json } | undefined;
    if (definition) this.rememberDefinition(definition.hash, definition.document);
    const start = record.start as ExecutionMeta | undefined;
    if (start) {
      const execution: Execution = {
        meta: start,
        mutable: { status: 'RUNNING', step: 0 },
        history: [],
        definition: this.compiledDefinition(start.definitionHash),
        timers: [],
      };
      this.register(execution);
    }
    const execution = this.executionsByNumber.get(record.x as number);
    if (!execution) return;
    for (const event of record.ev as unknown[]) execution.history.push(JSON.stringify(event));
    execution.mutable = record.m as ExecutionMutable;
  }

  private rememberDefinition(hash: string, document: Json): void {
    this.durableDefinitionHashes.add(hash);
    if (!this.definitions.has(hash)) this.definitions.set(hash, { document });
  }

  private compiledDefinition(hash: string): StateMachineDefinition | undefined {
    const stored = this.definitions.get(hash);
    if (!stored) return undefined;
    if (!stored.compiled && stored.error === undefined) {
      try {
        stored.compiled = compileDefinition(stored.document as object);
      } catch (error) {
        stored.error = (error as Error).message;
      }
    }
    return stored.compiled;
  }

  /** Synchronous by contract: it must reflect exactly the records appended so far. */
  private captureSnapshot(): string[] {
    const entries: string[] = [];
    const horizon = this.now() - (this.options.retentionMs ?? DEFAULT_RETENTION_MS);
    const usedHashes = new Set<string>([...this.machines.values()].map((machine) => machine.hash));
    const executionEntries: string[] = [];
    for (const execution of [...this.executions.values()]) {
      const { mutable } = execution;
      if (!isRunning(execution) && mutable.stopDate !== undefined && mutable.stopDate < horizon) {
        this.forget(execution);
        continue;
      }
      usedHashes.add(execution.meta.definitionHash);
      executionEntries.push(
        `{"kind":"execution","meta":${JSON.stringify(execution.meta)},"mutable":${JSON.stringify(mutable)},"history":[${execution.history.join(',')}]}`,
      );
    }
    for (const hash of usedHashes) {
      const stored = this.definitions.get(hash);
      // Not marked durable here: the snapshot is not on disk yet, so start records keep carrying
      // definitions they would otherwise omit until a record of their own has been written.
      if (stored)
        entries.push(JSON.stringify({ kind: 'definition', hash, document: stored.document }));
    }
    entries.push(...executionEntries);
    return entries;
  }

  private forget(execution: Execution): void {
    this.executions.delete(execution.meta.arn);
    this.executionsByNumber.delete(execution.meta.number);
    const list = this.executionsByMachine.get(execution.meta.machineArn);
    if (list) {
      const index = list.indexOf(execution);
      if (index >= 0) list.splice(index, 1);
    }
  }
}

// --- validation and conversion helpers ----------------------------------------------------------

function definitionHash(document: Json): string {
  return createHash('sha256').update(JSON.stringify(document)).digest('hex').slice(0, 24);
}

function validation(field: string, constraint: string): ServiceError {
  return new ServiceError(
    'ValidationException',
    `1 validation error detected: Value at '${field}' failed to satisfy constraint: ${constraint}`,
  );
}

function requiredString(value: unknown, field: string, maxLength?: number): string {
  if (value === undefined || value === null) {
    throw new ServiceError(
      'ValidationException',
      `1 validation error detected: Value null at '${field}' failed to satisfy constraint: Member must not be null`,
    );
  }
  if (typeof value !== 'string') throw validation(field, 'Member must be a string');
  if (value.length < 1)
    throw validation(field, 'Member must have length greater than or equal to 1');
  if (maxLength !== undefined && value.length > maxLength) {
    throw validation(field, `Member must have length less than or equal to ${maxLength}`);
  }
  return value;
}

function optionalString(value: unknown, field: string, maxLength: number): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw validation(field, 'Member must be a string');
  if (value.length > maxLength)
    throw validation(field, `Member must have length less than or equal to ${maxLength}`);
  return value;
}

function validateName(name: unknown, what: string): asserts name is string {
  if (typeof name !== 'string' || name.length < 1 || name.length > 80) {
    throw new ServiceError(
      'InvalidName',
      `Invalid Name: '${String(name)}' (${what} must be 1-80 characters)`,
    );
  }
  if (FORBIDDEN_NAME_CHARACTERS.test(name)) {
    throw new ServiceError('InvalidName', `Invalid Name: '${name}'`);
  }
}

function parseArn(
  arn: string,
  resourceType: 'execution' | 'stateMachine',
): { resourceName: string } {
  const parts = arn.split(':');
  const expectedParts = resourceType === 'execution' ? 8 : 7;
  if (
    parts.length !== expectedParts ||
    parts[0] !== 'arn' ||
    !parts[1]?.startsWith('aws') ||
    parts[2] !== 'states' ||
    parts[5] !== resourceType ||
    parts.slice(3, expectedParts).some((part) => part.length === 0)
  ) {
    throw new ServiceError(
      'InvalidArn',
      `Invalid Arn: 'Resource type not valid in this context: ${arn}'`,
    );
  }
  return { resourceName: parts[6] ?? '' };
}

function pageSizeOf(maxResults: number | undefined): number {
  if (maxResults === undefined || maxResults === 0) return 100;
  if (!Number.isInteger(maxResults) || maxResults < 0 || maxResults > 1000) {
    throw validation('maxResults', 'Member must have value less than or equal to 1000');
  }
  return maxResults;
}

function encodePageToken(offset: number, key: string): string {
  return Buffer.from(JSON.stringify({ offset, key }), 'utf8').toString('base64url');
}

function decodePageToken(token: string | undefined, key: string): number {
  if (token === undefined) return 0;
  try {
    const decoded = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as {
      offset?: unknown;
      key?: unknown;
    };
    if (
      decoded.key === key &&
      typeof decoded.offset === 'number' &&
      Number.isInteger(decoded.offset) &&
      decoded.offset >= 0
    ) {
      return decoded.offset;
    }
  } catch {
    // fall through
  }
  throw new ServiceError('InvalidToken', `Invalid Token: '${truncate(token)}'`);
}

const DATA_FIELDS = new Set(['input', 'output']);

function toHistoryEvent(text: string, includeExecutionData: boolean): HistoryEvent {
  const raw = JSON.parse(text) as Record<string, unknown>;
  const event: Record<string, unknown> = { ...raw, timestamp: new Date(raw.timestamp as number) };
  if (!includeExecutionData) {
    for (const [key, value] of Object.entries(event)) {
      if (key.endsWith('EventDetails') && value && typeof value === 'object') {
        event[key] = Object.fromEntries(
          Object.entries(value).filter(([field]) => !DATA_FIELDS.has(field)),
        );
      }
    }
  }
  return event as unknown as HistoryEvent;
}

function lambdaFailure(error: unknown): LambdaFailure {
  if (error instanceof Error) {
    return { errorType: error.name || 'Error', errorMessage: error.message };
  }
  return {
    errorType: 'Error',
    errorMessage: typeof error === 'string' ? error : (JSON.stringify(error) ?? String(error)),
  };
}

function truncate(text: string): string {
  return text.length > 200 ? `${text.slice(0, 200)}...` : text;
}

export type { ExecutionStatus };
