/**
 * Definition loading: parses an Amazon States Language document into typed, pre-compiled states and
 * refuses, at load time, everything this engine would not run the way AWS does. Refusing early is
 * the point: a definition that loads here runs with AWS semantics, one that does not fails loudly
 * with `state "X": field "Y" ...` instead of misbehaving at run time.
 */
import { InvalidDefinitionError, UnsupportedDefinitionError } from './errors.js';
import {
  type IntrinsicCall,
  IntrinsicSyntaxError,
  IntrinsicUnsupportedError,
  intrinsicCalls,
  isIntrinsicExpression,
  parseIntrinsic,
} from './intrinsics.js';
import { isJsonObject, type Json, type JsonObject } from './json.js';
import { type ParsedPath, PathSyntaxError, PathUnsupportedError, parsePath } from './jsonpath.js';
import { parseTimestamp } from './timestamps.js';

/** AWS's default for a Task without TimeoutSeconds (the spec says 60; AWS uses 99999999). */
export const DEFAULT_TASK_TIMEOUT_SECONDS = 99_999_999;
const MAX_SECONDS = 99_999_999;
const MAX_STATE_NAME_LENGTH = 80;

/** A Parameters/ResultSelector template with its `.$` fields pre-parsed. */
export type PayloadTemplate =
  | { kind: 'static'; value: Json }
  | { kind: 'object'; entries: readonly { key: string; value: PayloadTemplate }[] }
  | { kind: 'array'; items: readonly PayloadTemplate[] }
  | { kind: 'path'; path: ParsedPath; field: string }
  | { kind: 'intrinsic'; call: IntrinsicCall; field: string };

/** A value computed from a path or an intrinsic function (Fail's ErrorPath/CausePath). */
export type DynamicValue =
  | { kind: 'path'; path: ParsedPath }
  | { kind: 'intrinsic'; call: IntrinsicCall };

/** `undefined` in a state means "$" (the default); `null` means the field was set to null. */
export type OptionalPath = ParsedPath | null;

export type TaskResource =
  | { kind: 'lambda-invoke'; waitForTaskToken: boolean; resource: string }
  | { kind: 'lambda-function'; functionArn: string };

export type SecondsSpec = { kind: 'seconds'; seconds: number } | { kind: 'path'; path: ParsedPath };

export interface Retrier {
  errorEquals: readonly string[];
  intervalSeconds: number;
  maxAttempts: number;
  backoffRate: number;
  maxDelaySeconds?: number;
  jitter: 'FULL' | 'NONE';
}

export interface Catcher {
  errorEquals: readonly string[];
  next: string;
  resultPath: OptionalPath;
}

export const STRING_COMPARISONS = [
  'StringEquals',
  'StringLessThan',
  'StringGreaterThan',
  'StringLessThanEquals',
  'StringGreaterThanEquals',
] as const;
export const NUMERIC_COMPARISONS = [
  'NumericEquals',
  'NumericLessThan',
  'NumericGreaterThan',
  'NumericLessThanEquals',
  'NumericGreaterThanEquals',
] as const;
export const TIMESTAMP_COMPARISONS = [
  'TimestampEquals',
  'TimestampLessThan',
  'TimestampGreaterThan',
  'TimestampLessThanEquals',
  'TimestampGreaterThanEquals',
] as const;
export const TYPE_TESTS = [
  'IsNull',
  'IsPresent',
  'IsNumeric',
  'IsString',
  'IsBoolean',
  'IsTimestamp',
] as const;

export type ComparisonOperator =
  | (typeof STRING_COMPARISONS)[number]
  | (typeof NUMERIC_COMPARISONS)[number]
  | (typeof TIMESTAMP_COMPARISONS)[number]
  | 'BooleanEquals'
  | 'StringMatches';
export type TypeTest = (typeof TYPE_TESTS)[number];

export type ChoiceCondition =
  | { kind: 'and'; conditions: readonly ChoiceCondition[] }
  | { kind: 'or'; conditions: readonly ChoiceCondition[] }
  | { kind: 'not'; condition: ChoiceCondition }
  | {
      kind: 'compare';
      variable: ParsedPath;
      operator: ComparisonOperator;
      /** Literal operand, or a path for the `...Path` operator variants. */
      operand: { kind: 'literal'; value: Json } | { kind: 'path'; path: ParsedPath };
    }
  | { kind: 'test'; variable: ParsedPath; test: TypeTest; expected: boolean };

export interface ChoiceRule {
  condition: ChoiceCondition;
  next: string;
}

interface StateBase {
  name: string;
  inputPath?: OptionalPath;
  outputPath?: OptionalPath;
  /** Undefined for terminal states (End: true, Succeed, Fail). */
  next?: string;
}

export interface PassState extends StateBase {
  type: 'Pass';
  result?: Json;
  parameters?: PayloadTemplate;
  resultPath?: OptionalPath;
}

export interface TaskState extends StateBase {
  type: 'Task';
  resource: TaskResource;
  parameters?: PayloadTemplate;
  resultSelector?: PayloadTemplate;
  resultPath?: OptionalPath;
  timeout?: SecondsSpec;
  heartbeat?: SecondsSpec;
  retriers: readonly Retrier[];
  catchers: readonly Catcher[];
}

export interface ChoiceState extends StateBase {
  type: 'Choice';
  choices: readonly ChoiceRule[];
  defaultNext?: string;
}

export type WaitSpec =
  | { kind: 'seconds'; seconds: number }
  | { kind: 'secondsPath'; path: ParsedPath }
  | { kind: 'timestamp'; at: number }
  | { kind: 'timestampPath'; path: ParsedPath };

export interface WaitState extends StateBase {
  type: 'Wait';
  wait: WaitSpec;
}

export interface SucceedState extends StateBase {
  type: 'Succeed';
}

export interface FailState extends StateBase {
  type: 'Fail';
  error?: string | DynamicValue;
  cause?: string | DynamicValue;
}

export type State = PassState | TaskState | ChoiceState | WaitState | SucceedState | FailState;

export interface StateMachineDefinition {
  startAt: string;
  states: ReadonlyMap<string, State>;
  /** Execution-level TimeoutSeconds (top-level field), if any. */
  timeoutSeconds?: number;
}

const TOP_LEVEL_FIELDS = new Set([
  'StartAt',
  'States',
  'Comment',
  'Version',
  'TimeoutSeconds',
  'QueryLanguage',
]);
const COMMON_FIELDS = ['Type', 'Comment', 'QueryLanguage'];
const ALLOWED_FIELDS: Record<State['type'], Set<string>> = {
  Pass: new Set([
    ...COMMON_FIELDS,
    'Next',
    'End',
    'InputPath',
    'OutputPath',
    'ResultPath',
    'Parameters',
    'Result',
  ]),
  Task: new Set([
    ...COMMON_FIELDS,
    'Next',
    'End',
    'InputPath',
    'OutputPath',
    'ResultPath',
    'Parameters',
    'ResultSelector',
    'Resource',
    'TimeoutSeconds',
    'TimeoutSecondsPath',
    'HeartbeatSeconds',
    'HeartbeatSecondsPath',
    'Retry',
    'Catch',
  ]),
  Choice: new Set([...COMMON_FIELDS, 'InputPath', 'OutputPath', 'Choices', 'Default']),
  Wait: new Set([
    ...COMMON_FIELDS,
    'Next',
    'End',
    'InputPath',
    'OutputPath',
    'Seconds',
    'SecondsPath',
    'Timestamp',
    'TimestampPath',
  ]),
  Succeed: new Set([...COMMON_FIELDS, 'InputPath', 'OutputPath']),
  Fail: new Set([...COMMON_FIELDS, 'Error', 'Cause', 'ErrorPath', 'CausePath']),
};
const NOT_IMPLEMENTED_STATE_TYPES = new Set(['Parallel', 'Map']);
const LAMBDA_INVOKE_PARAMETERS = new Set([
  'FunctionName',
  'FunctionName.$',
  'Payload',
  'Payload.$',
]);
const LAMBDA_FUNCTION_ARN =
  /^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]+(:[A-Za-z0-9_$-]+)?$/;

class Context {
  constructor(readonly stateName: string) {}

  unsupported(field: string, detail?: string): never {
    throw new UnsupportedDefinitionError(
      `state "${this.stateName}": field "${field}" is not supported${detail ? ` (${detail})` : ''}`,
    );
  }

  invalid(field: string, detail: string): never {
    throw new InvalidDefinitionError(`state "${this.stateName}": field "${field}": ${detail}`);
  }
}

export function compileDefinition(definition: string | object): StateMachineDefinition {
  let document: unknown = definition;
  if (typeof definition === 'string') {
    try {
      document = JSON.parse(definition);
    } catch (error) {
      throw new InvalidDefinitionError(`definition is not valid JSON: ${(error as Error).message}`);
    }
  }
  if (!isJsonObject(document)) throw new InvalidDefinitionError('definition must be a JSON object');
  for (const field of Object.keys(document)) {
    if (!TOP_LEVEL_FIELDS.has(field)) {
      throw new UnsupportedDefinitionError(`top-level field "${field}" is not supported`);
    }
  }
  if (document.QueryLanguage !== undefined && document.QueryLanguage !== 'JSONPath') {
    throw new UnsupportedDefinitionError(
      'top-level field "QueryLanguage" is not supported (only JSONPath is implemented)',
    );
  }
  const startAt = document.StartAt;
  if (typeof startAt !== 'string') throw new InvalidDefinitionError('"StartAt" must be a string');
  const rawStates = document.States;
  if (!isJsonObject(rawStates) || Object.keys(rawStates).length === 0) {
    throw new InvalidDefinitionError('"States" must be a non-empty object');
  }
  let timeoutSeconds: number | undefined;
  if (document.TimeoutSeconds !== undefined) {
    timeoutSeconds = positiveInteger(document.TimeoutSeconds);
    if (timeoutSeconds === undefined) {
      throw new InvalidDefinitionError('top-level "TimeoutSeconds" must be a positive integer');
    }
  }

  const states = new Map<string, State>();
  for (const [name, raw] of Object.entries(rawStates)) {
    states.set(name, compileState(name, raw));
  }
  if (!states.has(startAt)) {
    throw new InvalidDefinitionError(`"StartAt" names a state that does not exist: "${startAt}"`);
  }
  for (const state of states.values()) checkTransitions(state, states);
  checkTerminalAndReachable(startAt, states);
  return { startAt, states, timeoutSeconds };
}

function transitionsOf(state: State): string[] {
  const targets: string[] = [];
  if (state.next !== undefined) targets.push(state.next);
  if (state.type === 'Choice') {
    if (state.defaultNext !== undefined) targets.push(state.defaultNext);
    for (const rule of state.choices) targets.push(rule.next);
  }
  if (state.type === 'Task') for (const catcher of state.catchers) targets.push(catcher.next);
  return targets;
}

/**
 * CreateStateMachine refuses a workflow without a terminal state ("MISSING_END_STATE: Workflow has
 * no terminal state") and one with a state nothing leads to ("MISSING_TRANSITION_TARGET: State
 * "X" is not reachable."), as quoted from AWS in localstack/localstack#11978 and
 * floci-io/floci#2735.
 */
function checkTerminalAndReachable(startAt: string, states: ReadonlyMap<string, State>): void {
  const isTerminal = (state: State) =>
    state.type === 'Succeed' ||
    state.type === 'Fail' ||
    (state.type !== 'Choice' && state.next === undefined);
  if (![...states.values()].some(isTerminal)) {
    throw new InvalidDefinitionError('the workflow has no terminal state (End, Succeed or Fail)');
  }
  const reached = new Set([startAt]);
  const pending = [startAt];
  for (let name = pending.pop(); name !== undefined; name = pending.pop()) {
    const state = states.get(name);
    if (!state) continue;
    for (const target of transitionsOf(state)) {
      if (!reached.has(target)) {
        reached.add(target);
        pending.push(target);
      }
    }
  }
  for (const name of states.keys()) {
    if (!reached.has(name)) {
      throw new InvalidDefinitionError(`state "${name}": is not reachable from "StartAt"`);
    }
  }
}

function checkTransitions(state: State, states: ReadonlyMap<string, State>): void {
  const context: Context = new Context(state.name);
  const targets: [string, string | undefined][] = [['Next', state.next]];
  if (state.type === 'Choice') {
    targets.push(['Default', state.defaultNext]);
    for (const rule of state.choices) targets.push(['Choices', rule.next]);
  }
  if (state.type === 'Task') {
    for (const catcher of state.catchers) targets.push(['Catch', catcher.next]);
  }
  for (const [field, target] of targets) {
    if (target !== undefined && !states.has(target)) {
      context.invalid(field, `transition to a state that does not exist: "${target}"`);
    }
  }
}

function compileState(name: string, raw: Json): State {
  const context: Context = new Context(name);
  if (name.length === 0 || name.length > MAX_STATE_NAME_LENGTH) {
    context.invalid('name', `state names must be 1-${MAX_STATE_NAME_LENGTH} characters`);
  }
  if (!isJsonObject(raw)) context.invalid('', 'a state must be a JSON object');
  const type = raw.Type;
  if (typeof type !== 'string') context.invalid('Type', 'must be a string');
  if (NOT_IMPLEMENTED_STATE_TYPES.has(type)) {
    context.unsupported('Type', `${type} states are not implemented by the local engine`);
  }
  if (!isStateType(type)) context.invalid('Type', `unknown state type "${type}"`);
  for (const field of Object.keys(raw)) {
    if (!ALLOWED_FIELDS[type].has(field)) context.unsupported(field);
  }
  if (raw.QueryLanguage !== undefined && raw.QueryLanguage !== 'JSONPath') {
    context.unsupported('QueryLanguage', 'only JSONPath is implemented');
  }
  const base: StateBase = { name };
  // InputPath and OutputPath may select from the context object ($$), as AWS allows.
  if ('InputPath' in raw) base.inputPath = optionalPath(context, 'InputPath', raw.InputPath, true);
  if ('OutputPath' in raw)
    base.outputPath = optionalPath(context, 'OutputPath', raw.OutputPath, true);
  if (type !== 'Choice' && type !== 'Succeed' && type !== 'Fail') {
    base.next = transition(context, raw);
  }

  switch (type) {
    case 'Pass': {
      const state: PassState = { ...base, type };
      if ('Result' in raw) state.result = raw.Result;
      if ('Parameters' in raw)
        state.parameters = compileTemplate(context, 'Parameters', raw.Parameters);
      if ('ResultPath' in raw) state.resultPath = resultPath(context, 'ResultPath', raw.ResultPath);
      return state;
    }
    case 'Task':
      return compileTask(context, base, raw);
    case 'Choice':
      return compileChoice(context, base, raw);
    case 'Wait':
      return { ...base, type, wait: compileWait(context, raw) };
    case 'Succeed':
      return { ...base, type };
    case 'Fail':
      return compileFail(context, base, raw);
  }
}

function isStateType(type: string): type is State['type'] {
  return Object.hasOwn(ALLOWED_FIELDS, type);
}

function transition(context: Context, raw: JsonObject): string | undefined {
  const hasNext = raw.Next !== undefined;
  const isEnd = raw.End === true;
  if (raw.End !== undefined && typeof raw.End !== 'boolean')
    context.invalid('End', 'must be a boolean');
  if (hasNext && isEnd) context.invalid('End', 'a state cannot have both "Next" and "End": true');
  if (!hasNext && !isEnd) context.invalid('Next', 'a state needs either "Next" or "End": true');
  if (hasNext && typeof raw.Next !== 'string') context.invalid('Next', 'must be a state name');
  return hasNext ? (raw.Next as string) : undefined;
}

function compileTask(context: Context, base: StateBase, raw: JsonObject): TaskState {
  const resource = compileResource(context, raw.Resource);
  const state: TaskState = { ...base, type: 'Task', resource, retriers: [], catchers: [] };
  if ('Parameters' in raw)
    state.parameters = compileTemplate(context, 'Parameters', raw.Parameters);
  if ('ResultSelector' in raw) {
    state.resultSelector = compileTemplate(context, 'ResultSelector', raw.ResultSelector);
  }
  if ('ResultPath' in raw) state.resultPath = resultPath(context, 'ResultPath', raw.ResultPath);

  if (resource.kind === 'lambda-invoke') {
    const parameters = raw.Parameters;
    if (
      !isJsonObject(parameters) ||
      !('FunctionName' in parameters || 'FunctionName.$' in parameters)
    ) {
      context.invalid('Parameters', `${resource.resource} requires Parameters.FunctionName`);
    }
    for (const key of Object.keys(parameters)) {
      if (!LAMBDA_INVOKE_PARAMETERS.has(key)) context.unsupported(`Parameters.${key}`);
    }
  }

  state.timeout = secondsField(context, raw, 'TimeoutSeconds');
  state.heartbeat = secondsField(context, raw, 'HeartbeatSeconds');
  if (state.heartbeat && !(resource.kind === 'lambda-invoke' && resource.waitForTaskToken)) {
    // Heartbeats are sent with a task token; a request-response Lambda task has none to send.
    context.unsupported(
      'HeartbeatSeconds',
      'heartbeats are only implemented for .waitForTaskToken tasks',
    );
  }
  if (state.timeout?.kind === 'seconds' && state.heartbeat?.kind === 'seconds') {
    if (state.heartbeat.seconds >= state.timeout.seconds) {
      context.invalid('HeartbeatSeconds', 'must be smaller than TimeoutSeconds');
    }
  }
  if ('Retry' in raw) state.retriers = compileRetriers(context, raw.Retry);
  if ('Catch' in raw) state.catchers = compileCatchers(context, raw.Catch);
  return state;
}

function compileResource(context: Context, resource: Json | undefined): TaskResource {
  if (typeof resource !== 'string') context.invalid('Resource', 'must be a string');
  if (resource === 'arn:aws:states:::lambda:invoke') {
    return { kind: 'lambda-invoke', waitForTaskToken: false, resource: 'invoke' };
  }
  if (resource === 'arn:aws:states:::lambda:invoke.waitForTaskToken') {
    return { kind: 'lambda-invoke', waitForTaskToken: true, resource: 'invoke.waitForTaskToken' };
  }
  if (LAMBDA_FUNCTION_ARN.test(resource)) return { kind: 'lambda-function', functionArn: resource };
  return context.unsupported(
    'Resource',
    `"${resource}"; supported: arn:aws:states:::lambda:invoke, arn:aws:states:::lambda:invoke.waitForTaskToken and Lambda function ARNs`,
  );
}

function secondsField(
  context: Context,
  raw: JsonObject,
  field: 'TimeoutSeconds' | 'HeartbeatSeconds',
): SecondsSpec | undefined {
  const pathField = `${field}Path`;
  const value = raw[field];
  const pathValue = raw[pathField];
  if (value !== undefined && pathValue !== undefined) {
    context.invalid(pathField, `a state cannot have both ${field} and ${pathField}`);
  }
  if (value !== undefined) {
    const seconds = positiveInteger(value);
    if (seconds === undefined || seconds > MAX_SECONDS) {
      context.invalid(field, `must be a positive integer no greater than ${MAX_SECONDS}`);
    }
    return { kind: 'seconds', seconds };
  }
  if (pathValue !== undefined)
    return { kind: 'path', path: referencePath(context, pathField, pathValue) };
  return undefined;
}

function compileRetriers(context: Context, raw: Json | undefined): Retrier[] {
  if (!Array.isArray(raw)) context.invalid('Retry', 'must be an array of retriers');
  return raw.map((item, index) => {
    const field = `Retry[${index}]`;
    if (!isJsonObject(item)) context.invalid(field, 'must be an object');
    for (const key of Object.keys(item)) {
      if (
        ![
          'ErrorEquals',
          'IntervalSeconds',
          'MaxAttempts',
          'BackoffRate',
          'MaxDelaySeconds',
          'JitterStrategy',
          'Comment',
        ].includes(key)
      ) {
        context.unsupported(`${field}.${key}`);
      }
    }
    const errorEquals = errorEqualsField(
      context,
      field,
      item.ErrorEquals,
      index === raw.length - 1,
    );
    const intervalSeconds =
      item.IntervalSeconds === undefined ? 1 : positiveInteger(item.IntervalSeconds);
    if (intervalSeconds === undefined || intervalSeconds > MAX_SECONDS) {
      context.invalid(`${field}.IntervalSeconds`, 'must be a positive integer');
    }
    const maxAttempts = item.MaxAttempts === undefined ? 3 : item.MaxAttempts;
    if (
      typeof maxAttempts !== 'number' ||
      !Number.isInteger(maxAttempts) ||
      maxAttempts < 0 ||
      maxAttempts > MAX_SECONDS
    ) {
      context.invalid(`${field}.MaxAttempts`, 'must be a non-negative integer');
    }
    const backoffRate = item.BackoffRate === undefined ? 2 : item.BackoffRate;
    if (typeof backoffRate !== 'number' || backoffRate < 1) {
      context.invalid(`${field}.BackoffRate`, 'must be a number greater than or equal to 1.0');
    }
    const retrier: Retrier = {
      errorEquals,
      intervalSeconds,
      maxAttempts,
      backoffRate,
      jitter: 'NONE',
    };
    if (item.MaxDelaySeconds !== undefined) {
      const maxDelay = positiveInteger(item.MaxDelaySeconds);
      if (maxDelay === undefined || maxDelay > 31_622_401) {
        context.invalid(
          `${field}.MaxDelaySeconds`,
          'must be a positive integer no greater than 31622401',
        );
      }
      retrier.maxDelaySeconds = maxDelay;
    }
    if (item.JitterStrategy !== undefined) {
      if (item.JitterStrategy !== 'FULL' && item.JitterStrategy !== 'NONE') {
        context.invalid(`${field}.JitterStrategy`, 'must be "FULL" or "NONE"');
      }
      retrier.jitter = item.JitterStrategy;
    }
    return retrier;
  });
}

function compileCatchers(context: Context, raw: Json | undefined): Catcher[] {
  if (!Array.isArray(raw)) context.invalid('Catch', 'must be an array of catchers');
  return raw.map((item, index) => {
    const field = `Catch[${index}]`;
    if (!isJsonObject(item)) context.invalid(field, 'must be an object');
    for (const key of Object.keys(item)) {
      if (!['ErrorEquals', 'Next', 'ResultPath', 'Comment'].includes(key))
        context.unsupported(`${field}.${key}`);
    }
    const errorEquals = errorEqualsField(
      context,
      field,
      item.ErrorEquals,
      index === raw.length - 1,
    );
    if (typeof item.Next !== 'string') context.invalid(`${field}.Next`, 'must be a state name');
    const catcher: Catcher = {
      errorEquals,
      next: item.Next,
      resultPath:
        'ResultPath' in item
          ? resultPath(context, `${field}.ResultPath`, item.ResultPath)
          : parsePath('$'),
    };
    return catcher;
  });
}

function errorEqualsField(
  context: Context,
  field: string,
  raw: Json | undefined,
  isLast: boolean,
): string[] {
  if (!Array.isArray(raw) || raw.length === 0 || !raw.every((item) => typeof item === 'string')) {
    context.invalid(`${field}.ErrorEquals`, 'must be a non-empty array of error names');
  }
  const names = raw as string[];
  if (names.includes('States.ALL')) {
    if (names.length !== 1)
      context.invalid(`${field}.ErrorEquals`, '"States.ALL" must appear alone');
    if (!isLast)
      context.invalid(`${field}.ErrorEquals`, '"States.ALL" must be in the last retrier/catcher');
  }
  return names;
}

function compileChoice(context: Context, base: StateBase, raw: JsonObject): ChoiceState {
  if (!Array.isArray(raw.Choices) || raw.Choices.length === 0) {
    context.invalid('Choices', 'must be a non-empty array of choice rules');
  }
  const choices = raw.Choices.map((rule, index) => {
    const field = `Choices[${index}]`;
    if (!isJsonObject(rule)) context.invalid(field, 'must be an object');
    if (typeof rule.Next !== 'string') context.invalid(`${field}.Next`, 'must be a state name');
    return { condition: compileCondition(context, field, rule, true), next: rule.Next };
  });
  const state: ChoiceState = { ...base, type: 'Choice', choices };
  if (raw.Default !== undefined) {
    if (typeof raw.Default !== 'string') context.invalid('Default', 'must be a state name');
    state.defaultNext = raw.Default;
  }
  return state;
}

const COMPARISON_OPERATORS = new Set<string>([
  ...STRING_COMPARISONS,
  ...NUMERIC_COMPARISONS,
  ...TIMESTAMP_COMPARISONS,
  'BooleanEquals',
]);

function compileCondition(
  context: Context,
  field: string,
  rule: JsonObject,
  topLevel: boolean,
): ChoiceCondition {
  const keys = Object.keys(rule).filter(
    (key) => key !== 'Next' && key !== 'Comment' && key !== 'Variable',
  );
  if (!topLevel && 'Next' in rule)
    context.invalid(`${field}.Next`, 'only top-level choice rules may have "Next"');
  if ('Assign' in rule || 'Condition' in rule)
    context.unsupported(`${field}.${'Assign' in rule ? 'Assign' : 'Condition'}`);
  if (keys.length !== 1) {
    context.invalid(
      field,
      `a choice rule needs exactly one operator, found ${keys.length ? keys.join(', ') : 'none'}`,
    );
  }
  const operator = keys[0] as string;
  const value = rule[operator] ?? null;
  if (operator === 'And' || operator === 'Or') {
    if ('Variable' in rule)
      context.invalid(`${field}.Variable`, `${operator} rules take no Variable`);
    if (!Array.isArray(value) || value.length === 0)
      context.invalid(`${field}.${operator}`, 'must be a non-empty array');
    const conditions = value.map((inner, index) => {
      if (!isJsonObject(inner))
        context.invalid(`${field}.${operator}[${index}]`, 'must be an object');
      return compileCondition(context, `${field}.${operator}[${index}]`, inner, false);
    });
    return { kind: operator === 'And' ? 'and' : 'or', conditions };
  }
  if (operator === 'Not') {
    if ('Variable' in rule) context.invalid(`${field}.Variable`, 'Not rules take no Variable');
    if (!isJsonObject(value)) context.invalid(`${field}.Not`, 'must be an object');
    return { kind: 'not', condition: compileCondition(context, `${field}.Not`, value, false) };
  }
  if (typeof rule.Variable !== 'string') context.invalid(`${field}.Variable`, 'must be a path');
  const variable = referencePath(context, `${field}.Variable`, rule.Variable, true);
  if ((TYPE_TESTS as readonly string[]).includes(operator)) {
    if (typeof value !== 'boolean') context.invalid(`${field}.${operator}`, 'must be a boolean');
    return { kind: 'test', variable, test: operator as TypeTest, expected: value };
  }
  if (operator === 'StringMatches') {
    if (typeof value !== 'string') context.invalid(`${field}.${operator}`, 'must be a string');
    return { kind: 'compare', variable, operator, operand: { kind: 'literal', value } };
  }
  if (operator.endsWith('Path') && COMPARISON_OPERATORS.has(operator.slice(0, -4))) {
    if (typeof value !== 'string') context.invalid(`${field}.${operator}`, 'must be a path');
    const path = referencePath(context, `${field}.${operator}`, value, true);
    return {
      kind: 'compare',
      variable,
      operator: operator.slice(0, -4) as ComparisonOperator,
      operand: { kind: 'path', path },
    };
  }
  if (!COMPARISON_OPERATORS.has(operator)) context.unsupported(`${field}.${operator}`);
  const expectedType =
    operator.startsWith('String') || operator.startsWith('Timestamp')
      ? 'string'
      : operator.startsWith('Numeric')
        ? 'number'
        : 'boolean';
  if (typeof value !== expectedType)
    context.invalid(`${field}.${operator}`, `must be a ${expectedType}`);
  if (operator.startsWith('Timestamp') && parseTimestamp(value as string) === undefined) {
    context.invalid(`${field}.${operator}`, 'must be an RFC 3339 timestamp');
  }
  return {
    kind: 'compare',
    variable,
    operator: operator as ComparisonOperator,
    operand: { kind: 'literal', value },
  };
}

function compileWait(context: Context, raw: JsonObject): WaitSpec {
  const present = ['Seconds', 'SecondsPath', 'Timestamp', 'TimestampPath'].filter(
    (field) => field in raw,
  );
  if (present.length !== 1) {
    context.invalid(
      'Seconds',
      'a Wait state needs exactly one of Seconds, SecondsPath, Timestamp, TimestampPath',
    );
  }
  if (raw.Seconds !== undefined) {
    const seconds = raw.Seconds;
    if (
      typeof seconds !== 'number' ||
      !Number.isInteger(seconds) ||
      seconds < 0 ||
      seconds > MAX_SECONDS
    ) {
      context.invalid('Seconds', `must be an integer between 0 and ${MAX_SECONDS}`);
    }
    return { kind: 'seconds', seconds };
  }
  if (raw.Timestamp !== undefined) {
    const at = typeof raw.Timestamp === 'string' ? parseTimestamp(raw.Timestamp) : undefined;
    if (at === undefined)
      context.invalid('Timestamp', 'must be an RFC 3339 timestamp such as 2016-03-14T01:59:00Z');
    return { kind: 'timestamp', at };
  }
  if (raw.SecondsPath !== undefined) {
    return { kind: 'secondsPath', path: referencePath(context, 'SecondsPath', raw.SecondsPath) };
  }
  return {
    kind: 'timestampPath',
    path: referencePath(context, 'TimestampPath', raw.TimestampPath ?? null),
  };
}

function compileFail(context: Context, base: StateBase, raw: JsonObject): FailState {
  const state: FailState = { ...base, type: 'Fail' };
  for (const [field, pathField, key] of [
    ['Error', 'ErrorPath', 'error'],
    ['Cause', 'CausePath', 'cause'],
  ] as const) {
    if (raw[field] !== undefined && raw[pathField] !== undefined) {
      context.invalid(pathField, `a Fail state cannot have both ${field} and ${pathField}`);
    }
    const literal = raw[field];
    if (literal !== undefined) {
      if (typeof literal !== 'string') context.invalid(field, 'must be a string');
      state[key] = literal;
    }
    const dynamic = raw[pathField];
    if (dynamic !== undefined) {
      if (typeof dynamic !== 'string')
        context.invalid(pathField, 'must be a path or an intrinsic function');
      state[key] = dynamicValue(context, pathField, dynamic);
    }
  }
  return state;
}

function dynamicValue(context: Context, field: string, text: string): DynamicValue {
  if (isIntrinsicExpression(text))
    return { kind: 'intrinsic', call: intrinsic(context, field, text) };
  return { kind: 'path', path: path(context, field, text, true) };
}

function intrinsic(context: Context, field: string, text: string): IntrinsicCall {
  let call: IntrinsicCall;
  try {
    call = parseIntrinsic(text);
  } catch (error) {
    if (error instanceof IntrinsicSyntaxError) {
      if (error instanceof IntrinsicUnsupportedError) context.unsupported(field, error.message);
      context.invalid(field, error.message);
    }
    throw error;
  }
  for (const inner of intrinsicCalls(call)) {
    const deep = inner.args[2];
    if (inner.name === 'States.JsonMerge' && deep?.kind === 'literal' && deep.value === true) {
      // AWS supports shallow merges only and refuses a literal `true` when the machine is created.
      context.invalid(
        field,
        `"${inner.text}": deep merge (third argument true) is not supported by AWS`,
      );
    }
  }
  return call;
}

function path(context: Context, field: string, text: string, allowContext: boolean): ParsedPath {
  if (isIntrinsicExpression(text)) {
    context.invalid(field, `intrinsic functions are not allowed in this field (got "${text}")`);
  }
  let parsed: ParsedPath;
  try {
    parsed = parsePath(text);
  } catch (error) {
    if (error instanceof PathUnsupportedError) context.unsupported(field, error.message);
    if (error instanceof PathSyntaxError) context.invalid(field, error.message);
    throw error;
  }
  if (!allowContext && parsed.root === 'context')
    context.invalid(field, 'cannot reference the context object ($$)');
  return parsed;
}

function optionalPath(
  context: Context,
  field: string,
  raw: Json | undefined,
  allowContext = false,
): OptionalPath {
  if (raw === null) return null;
  if (typeof raw !== 'string') context.invalid(field, 'must be a path or null');
  return path(context, field, raw, allowContext);
}

function resultPath(context: Context, field: string, raw: Json | undefined): OptionalPath {
  return optionalPath(context, field, raw);
}

function referencePath(
  context: Context,
  field: string,
  raw: Json,
  allowContext = false,
): ParsedPath {
  if (typeof raw !== 'string') context.invalid(field, 'must be a path');
  return path(context, field, raw, allowContext);
}

function compileTemplate(context: Context, field: string, raw: Json | undefined): PayloadTemplate {
  if (raw === undefined) context.invalid(field, 'must be present');
  return template(context, field, raw);
}

function template(context: Context, field: string, raw: Json): PayloadTemplate {
  if (Array.isArray(raw)) {
    const items = raw.map((item, index) => template(context, `${field}[${index}]`, item));
    return items.every((item) => item.kind === 'static')
      ? { kind: 'static', value: raw }
      : { kind: 'array', items };
  }
  if (!isJsonObject(raw)) return { kind: 'static', value: raw };
  const entries: { key: string; value: PayloadTemplate }[] = [];
  for (const [key, value] of Object.entries(raw)) {
    const keyField = `${field}.${key}`;
    if (key.endsWith('.$')) {
      if (typeof value !== 'string')
        context.invalid(
          keyField,
          'a field ending in ".$" must hold a path or an intrinsic function',
        );
      const outputKey = key.slice(0, -2);
      if (isIntrinsicExpression(value)) {
        entries.push({
          key: outputKey,
          value: { kind: 'intrinsic', call: intrinsic(context, keyField, value), field: key },
        });
      } else {
        entries.push({
          key: outputKey,
          value: { kind: 'path', path: path(context, keyField, value, true), field: key },
        });
      }
    } else {
      entries.push({ key, value: template(context, keyField, value) });
    }
  }
  return entries.every((entry) => entry.value.kind === 'static')
    ? { kind: 'static', value: raw }
    : { kind: 'object', entries };
}

function positiveInteger(value: Json | undefined): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : undefined;
}
