/**
 * `withApproval`: a tool function that asks people first. The wrapped function, when called,
 * sends an intent whose payload is its arguments and whose summary is a readable line
 * (`sendEmail(to="cfo@company.com", subject="Q1")`), waits for the decision, and then either runs
 * with the arguments as approved and returns what it returns, or rejects with an
 * {@link ApprovalRejectedError} carrying the status and the reviewer's reason, which an agent can
 * hand to its model as the tool's result. The Python SDK's `@require_approval` does the same.
 *
 * Payload: a function called with one plain object (the usual shape of a tool's input) sends
 * that object as the payload; any other call sends `{ "args": [...] }`. Where the final intent
 * carries `approved_payload` (a reviewer edited values before approving), each value the reviewer
 * changed replaces the caller's; the others stay as the caller passed them.
 */
import type { CountersignClient } from './client.js';
import type {
  CreateIntentRequest,
  Intent,
  IntentStatus,
  JsonObject,
  PolicyInput,
} from './types.js';

export interface WithApprovalOptions<Args extends unknown[]> {
  /** The client that sends the intent and waits (an agent key). */
  client: CountersignClient;
  /** The tool's name, shown to reviewers. Default: the function's `name`. */
  name?: string;
  /** The agent whose action waits. Default `agent://tools/<name>`. */
  toAgent?: string;
  /** Default `intent.tool.<name>.v1`. */
  intentType?: string;
  /**
   * The line reviewers see, or a function of the call's arguments making it. Default: the call
   * as it reads, `name(key="value", ...)`.
   */
  summary?: string | ((...args: Args) => string);
  /** Email addresses or `team:<name>`, as the API defines them. */
  reviewers?: string[];
  policy?: PolicyInput;
  /**
   * JSON Pointers into the payload that reviewers may change before approving (`/amount`, or
   * `/args/0` for a call sent as `{ "args": [...] }`); the function then runs with their values.
   */
  editable?: string[];
  /** Stop waiting after this many milliseconds with a `WaitTimeoutError` (default: until decided). */
  timeoutMs?: number;
  /** Aborting rejects the pending call with the signal's reason. */
  signal?: AbortSignal;
}

/** The final statuses that mean "do not run". */
export type RejectedStatus = Exclude<IntentStatus, 'pending' | 'approved'>;

const SUMMARY_LIMIT = 500;
const ARGUMENT_PREVIEW_LIMIT = 80;

/**
 * The call was not approved, so the function did not run. `message` is a sentence meant for
 * people and models alike, e.g. `cfo@company.com rejected sendReport: The report still names customers`.
 */
export class ApprovalRejectedError extends Error {
  /** `rejected`, `timed_out` (nobody decided and the timeout action is reject) or `cancelled`. */
  readonly status: RejectedStatus;
  /** The reviewer's comment (`decision.comment`), or `null`. */
  readonly reason: string | null;
  /** A reviewer's email, `timeout`, or who cancelled. */
  readonly decidedBy: string | null;
  /** The name of the function that was not run. */
  readonly tool: string;
  readonly intentId: string;
  /** The final intent. */
  readonly intent: Intent;

  constructor(tool: string, intent: Intent) {
    const reason = intent.decision?.comment ?? null;
    const decidedBy = intent.decision?.by ?? null;
    const status = intent.status as RejectedStatus;
    const why = reason ? `: ${reason}` : '.';
    super(
      status === 'timed_out'
        ? `Nobody approved ${tool} before its deadline, so it was not run${why}`
        : status === 'cancelled'
          ? `The request to run ${tool} was cancelled by ${decidedBy}${why}`
          : `${decidedBy ?? 'A reviewer'} rejected ${tool}${why}`,
    );
    this.name = 'ApprovalRejectedError';
    this.status = status;
    this.reason = reason;
    this.decidedBy = decidedBy;
    this.tool = tool;
    this.intentId = intent.id;
    this.intent = intent;
  }
}

/**
 * Wraps `fn` so that each call asks for approval first.
 *
 * @example
 * ```ts
 * const sendReport = withApproval(
 *   async ({ report, to }: { report: string; to: string }) => mailer.send(report, to),
 *   { client, reviewers: ['cfo@company.com'], name: 'sendReport' },
 * );
 * try {
 *   await sendReport({ report: 'Q1 Financial Summary', to: 'board@company.com' });
 * } catch (error) {
 *   if (error instanceof ApprovalRejectedError) return `Not sent: ${error.message}`;
 *   throw error;
 * }
 * ```
 *
 * @throws {@link ApprovalRejectedError} when the intent ends `rejected`, `timed_out` (with the
 * reject action) or `cancelled`; `WaitTimeoutError` when `timeoutMs` passes; any
 * `CountersignError` of the API calls.
 */
export function withApproval<Args extends unknown[], Result>(
  fn: (...args: Args) => Result,
  options: WithApprovalOptions<Args>,
): (...args: Args) => Promise<Awaited<Result>> {
  const tool = options.name ?? fn.name;
  if (tool === '') {
    throw new TypeError('withApproval: the function has no name; pass options.name.');
  }
  const { intentType, toAgent, reviewers, policy, editable } = options;
  const spec: ToolIntentSpec = { tool, intentType, toAgent, reviewers, policy, editable };

  return async (...args: Args): Promise<Awaited<Result>> => {
    const summary =
      typeof options.summary === 'function' ? options.summary(...args) : options.summary;
    const id = await options.client.sendIntent(
      toolCallIntent(args, { ...spec, summary }),
      options.signal ? { signal: options.signal } : {},
    );
    const final = await options.client.waitFor(id, {
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    if (!isApproved(final)) throw new ApprovalRejectedError(tool, final);
    return await fn(...approvedArguments(args, final));
  };
}

/**
 * How one tool is asked about, resolved: what `withApproval` and the framework adapters
 * (`@countersign/sdk/langgraph`, `/ai`, `/openai-agents`) share.
 */
export interface ToolIntentSpec {
  tool: string;
  intentType?: string | undefined;
  toAgent?: string | undefined;
  /** The line reviewers see; default: the call as it reads. */
  summary?: string | undefined;
  reviewers?: string[] | undefined;
  policy?: PolicyInput | undefined;
  /** JSON Pointers into the payload that reviewers may change before approving. */
  editable?: string[] | undefined;
}

/** The intent that asks whether the tool may run with these arguments. */
export function toolCallIntent(args: unknown[], spec: ToolIntentSpec): CreateIntentRequest {
  const { payload, objectCall } = callPayload(args);
  return {
    intent_type: spec.intentType ?? `intent.tool.${dottedNamePart(spec.tool)}.v1`,
    to_agent: spec.toAgent ?? `agent://tools/${spec.tool}`,
    summary: oneLine(spec.summary ?? readableCall(spec.tool, payload, objectCall), spec.tool),
    payload,
    ...(spec.reviewers ? { reviewers: spec.reviewers } : {}),
    ...(spec.policy ? { policy: spec.policy } : {}),
    ...(spec.editable ? { editable: spec.editable } : {}),
  };
}

/** How the framework adapters ask about a tool call the framework paused on. */
export interface ToolCallApprovalOptions extends Omit<ToolIntentSpec, 'tool' | 'summary'> {
  /** An agent key's client: it sends the intents and waits for them. */
  client: CountersignClient;
  /** The line reviewers see for a call; default: the call as it reads. */
  summary?: (toolName: string, input: unknown) => string;
  /** Stop waiting after this many milliseconds with a `WaitTimeoutError`. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/**
 * Sends the intent for one paused tool call, under `idempotencyKey` (the framework's id of the
 * call, so that a process that restarts before it recorded the intent's id finds the intent it
 * sent), and returns the intent's id, which the adapters record in the framework's saved state.
 */
export async function sendToolCallIntent(
  tool: string,
  input: unknown,
  idempotencyKey: string | undefined,
  options: ToolCallApprovalOptions,
): Promise<string> {
  const { client, summary, timeoutMs: _timeoutMs, signal, ...spec } = options;
  const request = toolCallIntent([input], { ...spec, tool, summary: summary?.(tool, input) });
  return await client.sendIntent(request, {
    ...(idempotencyKey ? { idempotencyKey } : {}),
    ...(signal ? { signal } : {}),
  });
}

/** Waits for the final state of a tool call's intent, within the options' timeout and signal. */
export async function waitForToolCall(
  intentId: string,
  { client, timeoutMs, signal }: Pick<ToolCallApprovalOptions, 'client' | 'timeoutMs' | 'signal'>,
): Promise<Intent> {
  return await client.waitFor(intentId, {
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
    ...(signal ? { signal } : {}),
  });
}

/** Whether a final intent lets the tool run (approved, or timed out with the approve action). */
export function isApproved(intent: Intent): boolean {
  return (
    intent.status === 'approved' ||
    (intent.status === 'timed_out' && intent.decision?.outcome === 'approved')
  );
}

/** The arguments the tool runs with: the caller's, with each value a reviewer edited replaced. */
export function approvedArguments<Args extends unknown[]>(args: Args, intent: Intent): Args {
  const { payload, objectCall } = callPayload(args);
  return applyEdits(args, payload, objectCall, intent.approved_payload);
}

/** One plain object is sent as it is; any other call as `{ "args": [...] }`. */
function callPayload(args: unknown[]): { payload: JsonObject; objectCall: boolean } {
  const objectCall = args.length === 1 && isPlainObject(args[0]);
  const payload: JsonObject = objectCall
    ? (toJson(args[0]) as JsonObject)
    : { args: args.map((arg) => toJson(arg)) };
  return { payload, objectCall };
}

/** The arguments with each value a reviewer changed in `approved_payload` replaced. */
function applyEdits<Args extends unknown[]>(
  args: Args,
  sent: JsonObject,
  objectCall: boolean,
  approved: JsonObject | null | undefined,
): Args {
  if (!isPlainObject(approved)) return args;
  if (objectCall) {
    const changed = Object.entries(approved).filter(
      ([key, value]) => key in sent && !sameJson(sent[key], value),
    );
    if (changed.length === 0) return args;
    return [{ ...(args[0] as object), ...Object.fromEntries(changed) }] as unknown as Args;
  }
  const approvedArgs = approved.args;
  if (!Array.isArray(approvedArgs)) return args;
  const sentArgs = sent.args as unknown[];
  return args.map((arg, index) =>
    index < approvedArgs.length && !sameJson(sentArgs[index], approvedArgs[index])
      ? approvedArgs[index]
      : arg,
  ) as Args;
}

/** A value as JSON: what `JSON.stringify` keeps, with `undefined` as `null`, bigints as strings. */
function toJson(value: unknown): unknown {
  const text = JSON.stringify(value, (_key, item: unknown) =>
    typeof item === 'bigint' ? item.toString() : item,
  );
  return text === undefined ? null : (JSON.parse(text) as unknown);
}

/** Whether two JSON values are equal, whatever the order of their objects' keys. */
function sameJson(a: unknown, b: unknown): boolean {
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = Object.keys(a);
    return (
      keys.length === Object.keys(b).length &&
      keys.every((key) => key in b && sameJson(a[key], b[key]))
    );
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((item, index) => sameJson(item, b[index]));
  }
  return a === b;
}

function readableCall(tool: string, payload: JsonObject, objectCall: boolean): string {
  const shown = objectCall
    ? Object.entries(payload).map(([key, value]) => `${key}=${preview(value)}`)
    : (payload.args as unknown[]).map(preview);
  return `${tool}(${shown.join(', ')})`;
}

function preview(value: unknown): string {
  const text = JSON.stringify(value) ?? 'null';
  return text.length <= ARGUMENT_PREVIEW_LIMIT
    ? text
    : `${text.slice(0, ARGUMENT_PREVIEW_LIMIT - 1)}…`;
}

function oneLine(text: string, fallback: string): string {
  const line = text.split(/\s+/).filter(Boolean).join(' ') || fallback;
  return line.length <= SUMMARY_LIMIT ? line : `${line.slice(0, SUMMARY_LIMIT - 1)}…`;
}

/** The tool's name as one part of a dotted intent type (letters, digits, `_` and `-`). */
function dottedNamePart(tool: string): string {
  return tool.replace(/[^A-Za-z0-9_-]+/g, '_').replace(/^_+|_+$/g, '') || 'tool';
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const prototype = Object.getPrototypeOf(value) as unknown;
  return prototype === Object.prototype || prototype === null;
}
