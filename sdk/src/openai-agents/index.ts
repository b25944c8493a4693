/**
 * `@countersign/sdk/openai-agents`: Countersign answers the OpenAI Agents SDK's tool approvals. A
 * tool defined with `needsApproval` makes `run()` return with `interruptions`; the run's state
 * (`result.state.toString()`) can be saved while people decide and restored later, in another
 * process, with `RunState.fromString(agent, saved)`. {@link decideInterruptions} sends one intent
 * per interruption (the call's arguments as payload), waits for the reviewers and approves or
 * rejects each call on the state; `run(agent, state)` then goes on: an approved tool runs, a
 * rejected one gives the model the `ApprovalRejectedError` sentence as the tool's output.
 *
 * The state keeps the intents' ids: each intent is sent with an `Idempotency-Key` made of the
 * call's id and a digest of the tool's name and arguments (`openai-agents-<callId>-<digest>`),
 * and once sent its id is recorded under that key in the run's context object (which
 * `toString()` saves and `RunState.fromString` restores) as `countersignIntentIds[key]`, dropped
 * again when the decision is recorded. A state saved after that ({@link sendInterruptions}, or
 * `onSent` of {@link decideInterruptions}) makes a process that dies while people decide and
 * restores it wait on the same intents, however long the decision takes. The key alone covers a
 * restart between sending and saving (the API keeps keys 24 hours), and a state restored with
 * `RunState.fromStringWithContext`, whose context replaces the saved one.
 *
 * The Agents SDK runs an approved tool with the model's own arguments, so a call a reviewer
 * approved only with edited values is not run as the model made it: it is rejected with a
 * message naming the approved values, for the model to call the tool again with them.
 * `@openai/agents-core` (or `@openai/agents`, which includes it) is an optional peer dependency;
 * this entry uses its types only.
 *
 * @example
 * ```ts
 * let result = await run(agent, 'Send the Q1 results to the board');
 * while (result.interruptions.length > 0) {
 *   const state = await decideInterruptions(result.state, {
 *     client,
 *     onSent: (sent) => store.save(runId, sent.toString()), // a restart resumes from here
 *   });
 *   result = await run(agent, state);
 * }
 * ```
 */
import { createHash } from 'node:crypto';
import type { RunState, RunToolApprovalItem } from '@openai/agents-core';
import {
  ApprovalRejectedError,
  approvedArguments,
  isApproved,
  sendToolCallIntent,
  type ToolCallApprovalOptions,
  waitForToolCall,
} from '../approval.js';
import type { Intent } from '../types.js';

export type SendInterruptionsOptions = ToolCallApprovalOptions;

export interface DecideInterruptionsOptions<State = ApprovableRunState>
  extends ToolCallApprovalOptions {
  /**
   * Called before waiting with the state that names the intents sent: save it here
   * (`state.toString()`), so that a process that restores it waits on the same intents instead
   * of sending new ones.
   */
  onSent?: (state: State) => void | Promise<void>;
}

/** The part of a `RunState` this adapter uses. */
export type ApprovableRunState = Pick<
  // biome-ignore lint/suspicious/noExplicitAny: any agent and context.
  RunState<any, any>,
  'getInterruptions' | 'approve' | 'reject' | '_context'
>;

/** The key of the run's context under which the intents' ids are kept, by `Idempotency-Key`. */
export const INTENT_IDS_KEY = 'countersignIntentIds';

/**
 * Sends an intent for each of the state's interruptions that has none yet and records its id in
 * the state (the run's context). Returns the same state: save it (`state.toString()`), and
 * {@link decideInterruptions} on the restored state waits on the same intents. Safe to repeat.
 *
 * @throws any `CountersignError` of the API calls.
 */
export async function sendInterruptions<State extends ApprovableRunState>(
  state: State,
  options: SendInterruptionsOptions,
): Promise<State> {
  await intentIds(state, state.getInterruptions(), options);
  return state;
}

/**
 * Asks people about each of the state's interruptions and records their decisions on it
 * (`approve`, or `reject` with the rejection sentence as the message the model reads). An
 * interruption whose intent the state records already ({@link sendInterruptions}) is only waited
 * on. Returns the same state, ready for `run(agent, state)`.
 *
 * @throws `WaitTimeoutError` when `timeoutMs` passes; any `CountersignError` of the API calls.
 */
export async function decideInterruptions<State extends ApprovableRunState>(
  state: State,
  options: DecideInterruptionsOptions<State>,
): Promise<State> {
  const interruptions = state.getInterruptions();
  if (interruptions.length === 0) return state;
  const ids = await intentIds(state, interruptions, options);
  await options.onSent?.(state);
  const decisions = await Promise.all(
    interruptions.map(async (item, index) => ({
      item,
      rejection: rejectionOf(item, await waitForToolCall(ids[index] as string, options)),
    })),
  );
  for (const { item, rejection } of decisions) {
    if (rejection === null) state.approve(item);
    else state.reject(item, { message: rejection });
    const key = idempotencyKey(item);
    if (key !== undefined) forgetIntentId(state, key);
  }
  return state;
}

/**
 * The intent of each interruption, in order: the one the state records, else one sent now (and
 * recorded, when the call has an id).
 */
async function intentIds(
  state: ApprovableRunState,
  interruptions: RunToolApprovalItem[],
  options: SendInterruptionsOptions,
): Promise<string[]> {
  return await Promise.all(
    interruptions.map(async (item) => {
      const key = idempotencyKey(item);
      const recorded = key === undefined ? undefined : recordedIntentIds(state)?.[key];
      if (recorded !== undefined) return recorded;
      const tool = item.name ?? 'tool';
      const intentId = await sendToolCallIntent(tool, parseArguments(item.arguments), key, options);
      if (key !== undefined) recordIntentId(state, key, intentId);
      return intentId;
    }),
  );
}

/** `null` when the final intent lets the call run as the model made it; else what the model reads. */
function rejectionOf(item: RunToolApprovalItem, intent: Intent): string | null {
  const tool = item.name ?? 'tool';
  if (!isApproved(intent)) return new ApprovalRejectedError(tool, intent).message;
  const input = parseArguments(item.arguments);
  const [approved] = approvedArguments([input], intent);
  if (JSON.stringify(approved) === JSON.stringify(input)) return null;
  const by = intent.decision?.by ?? 'A reviewer';
  return `${by} approved ${tool} only with these arguments, so it was not run as called: ${JSON.stringify(approved)}. Call it again with them.`;
}

/**
 * The call's `Idempotency-Key`, under which the state also records its intent: the id the model
 * gave the call (`callId`; a hosted tool's item `id`) and a digest of what it calls, since models
 * that number their calls (`call_0`) reuse ids across runs (the API answers a key used with
 * another body with 409 `idempotency_conflict`, and runs that share one context object must not
 * read each other's intents). `undefined` for a call without an id.
 */
function idempotencyKey(item: RunToolApprovalItem): string | undefined {
  const callId = 'callId' in item.rawItem ? item.rawItem.callId : item.rawItem.id;
  if (!callId) return undefined;
  const digest = createHash('sha256')
    .update(JSON.stringify([item.name ?? 'tool', item.arguments ?? null]))
    .digest('hex');
  return `openai-agents-${callId}-${digest.slice(0, 16)}`;
}

/** The run's context object, where the state keeps what the application puts in it. */
function runContext(state: ApprovableRunState): Record<string, unknown> | undefined {
  const context: unknown = state._context.context;
  return typeof context === 'object' && context !== null && !Array.isArray(context)
    ? (context as Record<string, unknown>)
    : undefined;
}

function recordedIntentIds(state: ApprovableRunState): Record<string, string> | undefined {
  const ids = runContext(state)?.[INTENT_IDS_KEY];
  return typeof ids === 'object' && ids !== null ? (ids as Record<string, string>) : undefined;
}

function recordIntentId(state: ApprovableRunState, key: string, intentId: string): void {
  const context = runContext(state);
  if (context) context[INTENT_IDS_KEY] = { ...recordedIntentIds(state), [key]: intentId };
}

function forgetIntentId(state: ApprovableRunState, key: string): void {
  const context = runContext(state);
  const ids = recordedIntentIds(state);
  if (!context || !ids || !(key in ids)) return;
  const { [key]: _decided, ...rest } = ids;
  if (Object.keys(rest).length > 0) context[INTENT_IDS_KEY] = rest;
  else delete context[INTENT_IDS_KEY];
}

/** A function call's arguments (a JSON text) as the object the tool receives. */
function parseArguments(text: string | undefined): unknown {
  if (text === undefined) return {};
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return { arguments: text };
  }
}
