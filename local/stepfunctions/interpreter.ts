/**
 * The state machine interpreter. It performs no I/O: each entry point mutates one execution and
 * records, in a Transaction, the history events produced and the Lambda invocations to perform.
 * The engine journals the transaction and only then performs the invocations and arms timers,
 * which is what makes "persist before acting" hold.
 *
 * Semantics follow AWS where it differs from the states-language spec (each choice cites why):
 * default Task timeout 99999999 s, States.TaskFailed not matching timeouts, States.Runtime being
 * neither retriable nor catchable, a missed heartbeat reported as States.Timeout, a ResultPath that
 * cannot be applied being States.ReferencePathConflict (catchable).
 */
import { randomUUID } from 'node:crypto';
import { chooseNext } from './choice.js';
import {
  DEFAULT_TASK_TIMEOUT_SECONDS,
  type DynamicValue,
  type SecondsSpec,
  type State,
  type TaskState,
  type WaitState,
} from './definition.js';
import { runtimeError, StatesError } from './errors.js';
import {
  type Cursor,
  type Execution,
  HISTORY_EVENT_LIMIT,
  type TimerKind,
  type Transaction,
} from './execution.js';
import { evaluateIntrinsic } from './intrinsics.js';
import { isJsonObject, type Json, type JsonObject, MAX_PAYLOAD_BYTES, utf8Length } from './json.js';
import {
  applyResultPath,
  applyTemplate,
  type ContextObject,
  filterPath,
  REFERENCE_PATH_CONFLICT,
  requireReference,
} from './payload.js';
import { isoTimestamp, parseTimestamp } from './timestamps.js';

export interface InterpreterEnvironment {
  now(): number;
  mintToken(executionNumber: number, step: number): string;
  region: string;
  roleArn: string;
}

/** What a rejected LambdaInvoker promise becomes: AWS's function-error shape. */
export interface LambdaFailure {
  errorType: string;
  errorMessage: string;
}

const NOT_CATCHABLE = new Set(['States.Runtime', 'States.DataLimitExceeded']);

/**
 * The error both a task timeout and a missed heartbeat report. AWS records `States.Timeout` for a
 * missed heartbeat in the TaskTimedOut event, the ExecutionFailed event and DescribeExecution
 * (localstack/localstack tests/aws/services/stepfunctions/v2/timeouts/test_heartbeats.snapshot.json),
 * never `States.HeartbeatTimeout`; the error-handling guide: States.Timeout is "a Task state either
 * ran longer than the TimeoutSeconds value, or failed to send a heartbeat for a period longer than
 * the HeartbeatSeconds value".
 */
const TIMEOUT_ERROR = 'States.Timeout';

/**
 * ErrorEquals matching.
 * - States.ALL matches everything except States.Runtime and States.DataLimitExceeded, which AWS
 *   documents as terminal ("A retry or catch on States.ALL won't catch States.Runtime errors").
 * - States.TaskFailed "matches any known error name except for States.Timeout" (AWS error-handling
 *   guide).
 */
export function errorMatches(pattern: string, error: string): boolean {
  if (NOT_CATCHABLE.has(error)) return false;
  if (pattern === 'States.ALL') return true;
  if (pattern === 'States.TaskFailed') return error !== TIMEOUT_ERROR;
  return pattern === error;
}

type Next = { state: string; input: Json } | undefined;

export class Interpreter {
  constructor(private readonly environment: InterpreterEnvironment) {}

  /** ExecutionStarted, then run from StartAt until the execution blocks or ends. */
  start(txn: Transaction, input: Json, executionTimeoutSeconds: number | undefined): void {
    const execution = txn.execution;
    this.emit(txn, 'ExecutionStarted', 'executionStartedEventDetails', {
      input: execution.meta.input,
      inputDetails: { truncated: false },
      roleArn: this.environment.roleArn,
    });
    if (executionTimeoutSeconds !== undefined) {
      execution.mutable.timeoutAt = execution.meta.startDate + executionTimeoutSeconds * 1000;
    }
    const definition = this.definitionOf(execution);
    this.run(txn, { state: definition.startAt, input });
  }

  /** `payload` is the function's result, already converted to JSON. */
  onInvokeSuccess(txn: Transaction, payload: Json): void {
    const { state, cursor } = this.currentTask(txn.execution);
    const task = cursor.task;
    if (!task) return;
    this.guard(txn, () => {
      if (state.resource.kind === 'lambda-function') {
        this.emit(txn, 'LambdaFunctionSucceeded', 'lambdaFunctionSucceededEventDetails', {
          output: JSON.stringify(payload),
          outputDetails: { truncated: false },
        });
        this.completeTask(txn, state, cursor, payload);
        return;
      }
      const response: JsonObject = {
        ExecutedVersion: '$LATEST',
        Payload: payload,
        SdkHttpMetadata: { HttpStatusCode: 200 },
        SdkResponseMetadata: { RequestId: randomUUID() },
        StatusCode: 200,
      };
      if (state.resource.waitForTaskToken) {
        // The function only delivered the token; the task waits for SendTask* or its timeout.
        this.emit(txn, 'TaskSubmitted', 'taskSubmittedEventDetails', {
          ...this.resourceDetails(state),
          output: JSON.stringify(response),
          outputDetails: { truncated: false },
        });
        task.invokeDone = true;
        task.payload = undefined;
        return;
      }
      this.emit(txn, 'TaskSucceeded', 'taskSucceededEventDetails', {
        ...this.resourceDetails(state),
        output: JSON.stringify(response),
        outputDetails: { truncated: false },
      });
      this.completeTask(txn, state, cursor, response);
    });
  }

  onInvokeFailure(txn: Transaction, failure: LambdaFailure): void {
    const { state, cursor } = this.currentTask(txn.execution);
    const cause = JSON.stringify({
      errorType: failure.errorType,
      errorMessage: failure.errorMessage,
    });
    this.guard(txn, () => {
      if (state.resource.kind === 'lambda-function') {
        this.emit(txn, 'LambdaFunctionFailed', 'lambdaFunctionFailedEventDetails', {
          error: failure.errorType,
          cause,
        });
      } else {
        this.emit(txn, 'TaskFailed', 'taskFailedEventDetails', {
          ...this.resourceDetails(state),
          error: failure.errorType,
          cause,
        });
      }
      this.handleTaskError(txn, state, cursor, failure.errorType, cause);
    });
  }

  onTaskSuccess(txn: Transaction, output: Json): void {
    const { state, cursor } = this.currentTask(txn.execution);
    this.guard(txn, () => {
      this.emit(txn, 'TaskSucceeded', 'taskSucceededEventDetails', {
        ...this.resourceDetails(state),
        output: JSON.stringify(output),
        outputDetails: { truncated: false },
      });
      this.completeTask(txn, state, cursor, output);
    });
  }

  onTaskFailure(txn: Transaction, error: string | undefined, cause: string | undefined): void {
    const { state, cursor } = this.currentTask(txn.execution);
    this.guard(txn, () => {
      const details: JsonObject = { ...this.resourceDetails(state) };
      if (error !== undefined) details.error = error;
      if (cause !== undefined) details.cause = cause;
      this.emit(txn, 'TaskFailed', 'taskFailedEventDetails', details);
      this.handleTaskError(txn, state, cursor, error ?? '', cause ?? '');
    });
  }

  onHeartbeat(execution: Execution): void {
    const task = execution.mutable.cursor?.task;
    if (task?.phase === 'running' && task.heartbeatSeconds !== undefined) {
      task.heartbeatAt = this.environment.now() + task.heartbeatSeconds * 1000;
    }
  }

  onTimer(txn: Transaction, kind: TimerKind): void {
    const execution = txn.execution;
    const cursor = execution.mutable.cursor;
    if (kind === 'executionTimeout') {
      this.emit(txn, 'ExecutionTimedOut', 'executionTimedOutEventDetails', {
        error: 'States.Timeout',
        cause: 'The execution exceeded its TimeoutSeconds.',
      });
      this.close(txn, 'TIMED_OUT', {
        error: 'States.Timeout',
        cause: 'The execution exceeded its TimeoutSeconds.',
      });
      return;
    }
    if (!cursor) return;
    const state = this.definitionOf(execution).states.get(cursor.state);
    if (!state) return;
    if (kind === 'wait' && state.type === 'Wait') {
      // A Wait whose output is JSON null passes null on; only an absent waitOutput means "the input".
      const output = cursor.waitOutput === undefined ? cursor.input : cursor.waitOutput;
      this.guard(txn, () => this.run(txn, this.exitState(txn, state, output)));
      return;
    }
    if (state.type !== 'Task') return;
    if (kind === 'retry') {
      this.guard(txn, () => this.startTaskAttempt(txn, state, cursor));
      return;
    }
    // Task timeout and missed heartbeat alike: States.Timeout, with no cause in the events
    // (recorded: taskTimedOutEventDetails {error, resource, resourceType}) and an empty Cause in the
    // Catch output (recorded in error_handling/test_task_service_lambda.snapshot.json).
    this.guard(txn, () => {
      if (state.resource.kind === 'lambda-function') {
        this.emit(txn, 'LambdaFunctionTimedOut', 'lambdaFunctionTimedOutEventDetails', {
          error: TIMEOUT_ERROR,
        });
      } else {
        this.emit(txn, 'TaskTimedOut', 'taskTimedOutEventDetails', {
          ...this.resourceDetails(state),
          error: TIMEOUT_ERROR,
        });
      }
      this.handleTaskError(txn, state, cursor, TIMEOUT_ERROR, undefined);
    });
  }

  stop(txn: Transaction, error: string | undefined, cause: string | undefined): void {
    const details: JsonObject = {};
    if (error !== undefined) details.error = error;
    if (cause !== undefined) details.cause = cause;
    this.emit(txn, 'ExecutionAborted', 'executionAbortedEventDetails', details);
    this.close(txn, 'ABORTED', { error, cause });
  }

  /** Fails a running execution with States.Runtime (e.g. its definition can no longer be loaded). */
  failRuntime(txn: Transaction, cause: string): void {
    this.failExecution(txn, 'States.Runtime', cause);
  }

  // ---------------------------------------------------------------------------------------------

  private definitionOf(execution: Execution) {
    const definition = execution.definition;
    if (!definition) throw new Error(`execution ${execution.meta.arn} has no loaded definition`);
    return definition;
  }

  private currentTask(execution: Execution): { state: TaskState; cursor: Cursor } {
    const cursor = execution.mutable.cursor;
    const state = cursor ? this.definitionOf(execution).states.get(cursor.state) : undefined;
    if (!cursor || state?.type !== 'Task') {
      throw new Error(`execution ${execution.meta.arn} is not in a Task state`);
    }
    return { state, cursor };
  }

  /** Runs `step`; a StatesError escaping it (States.Runtime, ...) fails the execution. */
  private guard(txn: Transaction, step: () => void): void {
    try {
      step();
    } catch (error) {
      if (!(error instanceof StatesError)) throw error;
      const cursor = txn.execution.mutable.cursor;
      const where = cursor
        ? `An error occurred while executing the state '${cursor.state}' (entered at the event id #${cursor.enteredEventId}). `
        : '';
      this.failExecution(txn, error.error, `${where}${error.cause}`);
    }
  }

  private run(txn: Transaction, first: Next): void {
    let next = first;
    while (next && txn.execution.mutable.status === 'RUNNING') {
      if (txn.execution.history.length >= HISTORY_EVENT_LIMIT - 5) {
        this.failExecution(
          txn,
          'States.Runtime',
          `The execution reached the maximum number of history events (${HISTORY_EVENT_LIMIT}).`,
        );
        return;
      }
      const current: { state: string; input: Json } = next;
      next = undefined;
      this.guard(txn, () => {
        next = this.executeState(txn, current.state, current.input);
      });
    }
  }

  private executeState(txn: Transaction, name: string, input: Json): Next {
    const execution = txn.execution;
    const state = this.definitionOf(execution).states.get(name);
    if (!state)
      throw runtimeError(`State '${name}' does not exist in the state machine definition`);
    const enteredEventId = this.emit(txn, `${state.type}StateEntered`, 'stateEnteredEventDetails', {
      name,
      input: JSON.stringify(input),
      inputDetails: { truncated: false },
    });
    const cursor: Cursor = {
      state: name,
      input,
      enteredAt: this.environment.now(),
      enteredEventId,
      retriersUsed: [],
      retryCount: 0,
    };
    execution.mutable.cursor = cursor;
    execution.mutable.step++;

    switch (state.type) {
      case 'Pass': {
        const context = this.context(execution, cursor);
        const effective = filterPath(input, state.inputPath, 'InputPath', context);
        let result = state.parameters
          ? applyTemplate(state.parameters, effective, context)
          : effective;
        if (state.result !== undefined) result = state.result;
        const output = filterPath(
          applyResultPath(input, result, state.resultPath),
          state.outputPath,
          'OutputPath',
          context,
        );
        return this.exitState(txn, state, output);
      }
      case 'Choice': {
        const context = this.context(execution, cursor);
        const effective = filterPath(input, state.inputPath, 'InputPath', context);
        const target = chooseNext(state, effective, context);
        if (target === undefined) {
          this.failExecution(txn, 'States.NoChoiceMatched', `No Matches! (state '${name}')`);
          return undefined;
        }
        const output = filterPath(effective, state.outputPath, 'OutputPath', context);
        this.emitExit(txn, state, output);
        return { state: target, input: output };
      }
      case 'Wait': {
        this.startWait(execution, state, cursor);
        return undefined;
      }
      case 'Succeed': {
        const context = this.context(execution, cursor);
        const output = filterPath(
          filterPath(input, state.inputPath, 'InputPath', context),
          state.outputPath,
          'OutputPath',
          context,
        );
        this.emitExit(txn, state, output);
        this.succeedExecution(txn, output);
        return undefined;
      }
      case 'Fail': {
        const context = this.context(execution, cursor);
        const error = this.failField(state.error, input, context, 'ErrorPath');
        const cause = this.failField(state.cause, input, context, 'CausePath');
        this.failExecution(txn, error, cause);
        return undefined;
      }
      case 'Task':
        this.startTaskAttempt(txn, state, cursor);
        return undefined;
    }
  }

  private failField(
    spec: string | DynamicValue | undefined,
    input: Json,
    context: ContextObject,
    field: string,
  ): string | undefined {
    if (spec === undefined || typeof spec === 'string') return spec;
    const value =
      spec.kind === 'path'
        ? requireReference(spec.path, input, context, field)
        : evaluateIntrinsic(spec.call, (path) => requireReference(path, input, context, field));
    if (typeof value !== 'string') throw runtimeError(`The value of ${field} must be a string`);
    return value;
  }

  private startWait(execution: Execution, state: WaitState, cursor: Cursor): void {
    // Wait's SecondsPath/TimestampPath read the state's input after InputPath (its effective input).
    const context = this.context(execution, cursor);
    const effective = filterPath(cursor.input, state.inputPath, 'InputPath', context);
    let until: number;
    switch (state.wait.kind) {
      case 'seconds':
        until = cursor.enteredAt + state.wait.seconds * 1000;
        break;
      case 'secondsPath': {
        const seconds = requireReference(state.wait.path, effective, context, 'SecondsPath');
        if (typeof seconds !== 'number' || !Number.isInteger(seconds) || seconds < 0) {
          throw runtimeError(
            `The SecondsPath parameter does not reference a valid non-negative integer: ${JSON.stringify(seconds)}`,
          );
        }
        until = cursor.enteredAt + seconds * 1000;
        break;
      }
      case 'timestamp':
        until = truncateToSecond(state.wait.at);
        break;
      case 'timestampPath': {
        const text = requireReference(state.wait.path, effective, context, 'TimestampPath');
        const at = typeof text === 'string' ? parseTimestamp(text) : undefined;
        if (at === undefined) {
          throw runtimeError(
            `The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: ${JSON.stringify(text)}`,
          );
        }
        // AWS: "Step Functions considers the time value up to seconds and truncates milliseconds."
        until = truncateToSecond(at);
        break;
      }
    }
    // AWS stores dates as 32-bit seconds: recorded, a TimestampPath 24855 days ahead waits and one
    // 24856 days ahead fails with States.Runtime "Wait state delay is too long."
    // (base/test_wait.snapshot.json, test_timestamp_too_far_in_future_boundary).
    if ((until - cursor.enteredAt) / 1000 > MAX_WAIT_DELAY_SECONDS) {
      throw runtimeError('Wait state delay is too long.');
    }
    const output = filterPath(effective, state.outputPath, 'OutputPath', context);
    cursor.waitUntil = until;
    if (output !== cursor.input) cursor.waitOutput = output;
  }

  private startTaskAttempt(txn: Transaction, state: TaskState, cursor: Cursor): void {
    const execution = txn.execution;
    execution.mutable.step++;
    const step = execution.mutable.step;
    const resource = state.resource;
    const isCallback = resource.kind === 'lambda-invoke' && resource.waitForTaskToken;
    const token = isCallback ? this.environment.mintToken(execution.meta.number, step) : undefined;
    // A fresh attempt supersedes whatever the previous one left behind.
    cursor.task = { phase: 'running' };
    const context = this.context(execution, cursor, token);
    const effective = filterPath(cursor.input, state.inputPath, 'InputPath', context);
    const parameters = state.parameters
      ? applyTemplate(state.parameters, effective, context)
      : effective;
    checkSize(parameters, 'the task parameters');
    // TimeoutSecondsPath/HeartbeatSecondsPath are reference paths into "the state input" (AWS Task
    // state reference; CDK Timeout.at: "a dynamic timeout specified by a path in the state input"),
    // i.e. the raw input before InputPath.
    const timeoutSeconds =
      this.resolveSeconds(state.timeout, cursor.input, context, 'TimeoutSecondsPath') ??
      DEFAULT_TASK_TIMEOUT_SECONDS;
    const heartbeatSeconds = this.resolveSeconds(
      state.heartbeat,
      cursor.input,
      context,
      'HeartbeatSecondsPath',
    );

    let functionName: string;
    let payload: Json;
    if (resource.kind === 'lambda-invoke') {
      const parameterObject = isJsonObject(parameters) ? parameters : {};
      const name = parameterObject.FunctionName;
      if (typeof name !== 'string' || name.length === 0) {
        throw runtimeError('The Parameters field FunctionName must resolve to a non-empty string');
      }
      functionName = name;
      payload = parameterObject.Payload === undefined ? {} : parameterObject.Payload;
      const scheduled: JsonObject = {
        resourceType: 'lambda',
        resource: resource.resource,
        region: this.environment.region,
        parameters: JSON.stringify(parameters),
        timeoutInSeconds: timeoutSeconds,
      };
      if (heartbeatSeconds !== undefined) scheduled.heartbeatInSeconds = heartbeatSeconds;
      this.emit(txn, 'TaskScheduled', 'taskScheduledEventDetails', scheduled);
      this.emit(txn, 'TaskStarted', 'taskStartedEventDetails', this.resourceDetails(state));
    } else {
      functionName = resource.functionArn;
      payload = parameters;
      this.emit(txn, 'LambdaFunctionScheduled', 'lambdaFunctionScheduledEventDetails', {
        resource: resource.functionArn,
        input: JSON.stringify(parameters),
        inputDetails: { truncated: false },
        timeoutInSeconds: timeoutSeconds,
      });
      this.emit(txn, 'LambdaFunctionStarted');
    }
    // AWS: the timeout count "begins after the task has been started".
    const startedAt = this.environment.now();
    cursor.task = {
      phase: 'running',
      functionName,
      payload,
      invokeDone: false,
      timeoutAt: startedAt + timeoutSeconds * 1000,
    };
    if (token) cursor.task.token = token;
    if (heartbeatSeconds !== undefined) {
      cursor.task.heartbeatSeconds = heartbeatSeconds;
      cursor.task.heartbeatAt = startedAt + heartbeatSeconds * 1000;
    }
    txn.invocations.push({ execution, step, functionName, payload });
  }

  private resolveSeconds(
    spec: SecondsSpec | undefined,
    input: Json,
    context: ContextObject,
    field: string,
  ): number | undefined {
    if (!spec) return undefined;
    if (spec.kind === 'seconds') return spec.seconds;
    const value = requireReference(spec.path, input, context, field);
    if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
      throw runtimeError(
        `The ${field} parameter does not reference a valid positive integer: ${JSON.stringify(value)}`,
      );
    }
    return value;
  }

  private completeTask(txn: Transaction, state: TaskState, cursor: Cursor, result: Json): void {
    const context = this.context(txn.execution, cursor);
    const selected = state.resultSelector
      ? applyTemplate(state.resultSelector, result, context)
      : result;
    let merged: Json;
    try {
      merged = applyResultPath(cursor.input, selected, state.resultPath);
    } catch (error) {
      // States.ReferencePathConflict is the task's error: Retry and Catch handle it like any other.
      if (error instanceof StatesError && error.error === REFERENCE_PATH_CONFLICT) {
        this.handleTaskError(txn, state, cursor, error.error, error.cause);
        return;
      }
      throw error;
    }
    const output = filterPath(merged, state.outputPath, 'OutputPath', context);
    cursor.task = undefined;
    this.run(txn, this.exitState(txn, state, output));
  }

  private handleTaskError(
    txn: Transaction,
    state: TaskState,
    cursor: Cursor,
    error: string,
    cause: string | undefined,
  ): void {
    const execution = txn.execution;
    if (NOT_CATCHABLE.has(error)) {
      this.failExecution(txn, error, cause);
      return;
    }
    // The first retrier whose ErrorEquals matches decides; an exhausted one does not fall through
    // to later retriers (AWS error-handling guide, "Complex retry scenarios").
    const retrierIndex = state.retriers.findIndex((retrier) =>
      retrier.errorEquals.some((pattern) => errorMatches(pattern, error)),
    );
    const retrier = state.retriers[retrierIndex];
    if (retrier) {
      const used = cursor.retriersUsed[retrierIndex] ?? 0;
      if (used < retrier.maxAttempts) {
        let delaySeconds = retrier.intervalSeconds * retrier.backoffRate ** used;
        if (retrier.maxDelaySeconds !== undefined)
          delaySeconds = Math.min(delaySeconds, retrier.maxDelaySeconds);
        if (retrier.jitter === 'FULL') delaySeconds = Math.random() * delaySeconds;
        while (cursor.retriersUsed.length <= retrierIndex) cursor.retriersUsed.push(0);
        cursor.retriersUsed[retrierIndex] = used + 1;
        cursor.retryCount++;
        execution.mutable.step++;
        cursor.task = {
          phase: 'retryDelay',
          retryAt: this.environment.now() + Math.round(delaySeconds * 1000),
        };
        return;
      }
    }
    const catcher = state.catchers.find((candidate) =>
      candidate.errorEquals.some((pattern) => errorMatches(pattern, error)),
    );
    if (catcher) {
      // Catch output is the state input with the error object placed by the catcher's ResultPath;
      // the state's OutputPath does not apply.
      const output = applyResultPath(
        cursor.input,
        { Error: error, Cause: cause ?? '' },
        catcher.resultPath,
      );
      cursor.task = undefined;
      this.emitExit(txn, state, output);
      this.run(txn, { state: catcher.next, input: output });
      return;
    }
    this.failExecution(txn, error, cause);
  }

  private exitState(txn: Transaction, state: State, output: Json): Next {
    this.emitExit(txn, state, output);
    if (state.next !== undefined) return { state: state.next, input: output };
    this.succeedExecution(txn, output);
    return undefined;
  }

  private emitExit(txn: Transaction, state: State, output: Json): void {
    const text = checkSize(output, `the output of state '${state.name}'`);
    this.emit(txn, `${state.type}StateExited`, 'stateExitedEventDetails', {
      name: state.name,
      output: text,
      outputDetails: { truncated: false },
    });
  }

  private succeedExecution(txn: Transaction, output: Json): void {
    const text = JSON.stringify(output);
    this.emit(txn, 'ExecutionSucceeded', 'executionSucceededEventDetails', {
      output: text,
      outputDetails: { truncated: false },
    });
    this.close(txn, 'SUCCEEDED', { output: text });
  }

  private failExecution(
    txn: Transaction,
    error: string | undefined,
    cause: string | undefined,
  ): void {
    const details: JsonObject = {};
    if (error !== undefined) details.error = error;
    if (cause !== undefined) details.cause = cause;
    this.emit(txn, 'ExecutionFailed', 'executionFailedEventDetails', details);
    this.close(txn, 'FAILED', { error, cause });
  }

  private close(
    txn: Transaction,
    status: 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED',
    result: { output?: string; error?: string | undefined; cause?: string | undefined },
  ): void {
    const mutable = txn.execution.mutable;
    mutable.status = status;
    mutable.stopDate = this.environment.now();
    mutable.cursor = undefined;
    mutable.timeoutAt = undefined;
    mutable.step++;
    if (result.output !== undefined) mutable.output = result.output;
    if (result.error !== undefined) mutable.error = result.error;
    if (result.cause !== undefined) mutable.cause = result.cause;
  }

  private resourceDetails(state: TaskState): JsonObject {
    return state.resource.kind === 'lambda-invoke'
      ? { resourceType: 'lambda', resource: state.resource.resource }
      : { resourceType: 'lambda', resource: state.resource.functionArn };
  }

  private context(execution: Execution, cursor: Cursor, token?: string): ContextObject {
    const meta = execution.meta;
    let parsedInput: Json | undefined;
    const executionContext: JsonObject = {
      Id: meta.arn,
      Name: meta.name,
      RoleArn: this.environment.roleArn,
      StartTime: isoTimestamp(meta.startDate),
      RedriveCount: 0,
    };
    // Parsed only if a $$.Execution.Input path is actually read.
    Object.defineProperty(executionContext, 'Input', {
      enumerable: true,
      get: () => {
        parsedInput ??= JSON.parse(meta.input) as Json;
        return parsedInput;
      },
    });
    const context: ContextObject = {
      Execution: executionContext,
      State: {
        EnteredTime: isoTimestamp(cursor.enteredAt),
        Name: cursor.state,
      },
      StateMachine: { Id: meta.machineArn, Name: meta.machineName },
    };
    // $$.State.RetryCount exists in Task states only: a Pass state's $$ recorded on AWS has
    // State {Name, EnteredTime} (context_object/test_context_object.snapshot.json, test_input_path[$$]).
    if (this.definitionOf(execution).states.get(cursor.state)?.type === 'Task') {
      context.State.RetryCount = cursor.retryCount;
    }
    if (token !== undefined) context.Task = { Token: token };
    return context;
  }

  private emit(txn: Transaction, type: string, detailsKey?: string, details?: JsonObject): number {
    const history = txn.execution.history;
    const id = history.length + 1;
    // AWS records previousEventId 0 for the first state's entered event, as for ExecutionStarted
    // (every recorded history in localstack's v2 snapshots: [(1, 0), (2, 0), (3, 2), ...]).
    const event: JsonObject = {
      timestamp: this.environment.now(),
      type,
      id,
      previousEventId: id <= 2 ? 0 : id - 1,
    };
    if (detailsKey && details) event[detailsKey] = details;
    const text = JSON.stringify(event);
    history.push(text);
    txn.events.push(text);
    return id;
  }
}

/** 2^31 - 1: AWS keeps wait deadlines as 32-bit seconds. */
const MAX_WAIT_DELAY_SECONDS = 2_147_483_647;

function truncateToSecond(millis: number): number {
  return Math.floor(millis / 1000) * 1000;
}

function checkSize(value: Json, what: string): string {
  const text = JSON.stringify(value);
  if (utf8Length(text) > MAX_PAYLOAD_BYTES) {
    throw new StatesError(
      'States.DataLimitExceeded',
      `The state/task returned a result with a size exceeding the maximum number of bytes service limit (${what}).`,
    );
  }
  return text;
}
