/**
 * `@countersign/sdk/openai-agents`: Countersign answers the OpenAI Agents SDK's tool approvals. A
 * tool defined with `needsApproval` makes `run()` return with `interruptions`; the run's state
 * (`result.state.toString()`) can be saved while people decide and restored later, in another
 * process, with `RunState.fromString(agent, saved)`. {@link decideInterruptions} sends one intent
 * per interruption (the call's arguments as payload), waits for the reviewers and approves or
 * rejects each call on the state; `run(agent, state)` then goes on: an approved tool runs, a
 * rejected one gives the model the `ApprovalRejectedError` sentence as the tool's output.
 *
 * Each intent is sent with `Idempotency-Key` `openai-agents-<callId>`, so a process that
 * restores the saved state finds the intent it sent (the API keeps keys 24 hours). The Agents SDK
 * runs an approved tool with the model's own arguments, so a call a reviewer approved only with
 * edited values is not run as the model made it: it is rejected with a message naming the
 * approved values, for the model to call the tool again with them.
 * `@openai/agents-core` (or `@openai/agents`, which includes it) is an optional peer dependency;
 * this entry uses its types only.
 *
 * @example
 * ```ts
 * let result = await run(agent, 'Send the Q1 results to the board');
 * while (result.interruptions.length > 0) {
 *   const state = await decideInterruptions(result.state, { client });
 *   result = await run(agent, state);
 * }
 * ```
 */
import type { RunState, RunToolApprovalItem } from '@openai/agents-core';
import {
  ApprovalRejectedError,
  approvedArguments,
  askAboutToolCall,
  isApproved,
  type ToolCallApprovalOptions,
} from '../approval.js';

export type DecideInterruptionsOptions = ToolCallApprovalOptions;

/** The part of a `RunState` this adapter uses. */
export type ApprovableRunState = Pick<
  // biome-ignore lint/suspicious/noExplicitAny: any agent and context.
  RunState<any, any>,
  'getInterruptions' | 'approve' | 'reject'
>;

/**
 * Asks people about each of the state's interruptions and records their decisions on it
 * (`approve`, or `reject` with the rejection sentence as the message the model reads). Returns
 * the same state, ready for `run(agent, state)`.
 *
 * @throws `WaitTimeoutError` when `timeoutMs` passes; any `CountersignError` of the API calls.
 */
export async function decideInterruptions<State extends ApprovableRunState>(
  state: State,
  options: DecideInterruptionsOptions,
): Promise<State> {
  const decisions = await Promise.all(
    state.getInterruptions().map(async (item) => ({ item, ...(await decide(item, options)) })),
  );
  for (const { item, rejection } of decisions) {
    if (rejection === null) state.approve(item);
    else state.reject(item, { message: rejection });
  }
  return state;
}

async function decide(
  item: RunToolApprovalItem,
  options: DecideInterruptionsOptions,
): Promise<{ rejection: string | null }> {
  const tool = item.name ?? 'tool';
  const input = parseArguments(item.arguments);
  const callId = 'callId' in item.rawItem ? item.rawItem.callId : item.rawItem.id;
  const key = callId ? `openai-agents-${callId}` : undefined;
  const intent = await askAboutToolCall(tool, input, key, options);
  if (!isApproved(intent)) return { rejection: new ApprovalRejectedError(tool, intent).message };
  const [approved] = approvedArguments([input], intent);
  if (JSON.stringify(approved) === JSON.stringify(input)) return { rejection: null };
  const by = intent.decision?.by ?? 'A reviewer';
  return {
    rejection: `${by} approved ${tool} only with these arguments, so it was not run as called: ${JSON.stringify(approved)}. Call it again with them.`,
  };
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
