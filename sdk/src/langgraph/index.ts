/**
 * `@countersign/sdk/langgraph`: human approval inside a LangGraph.js graph. A node calls
 * {@link requireApproval} with the tool's input; the graph pauses on an `interrupt` and its state
 * stays in the graph's checkpointer. {@link resumeApprovals} (the driver's side) sends the intent,
 * waits for the reviewers and resumes the graph with the decision: the node then goes on with the
 * input as approved, or gets an `ApprovalRejectedError` whose message it can hand to its model.
 *
 * Two interrupts per approval keep the intent unique across restarts: the first asks the driver
 * to send the intent and is resumed with its id at once, which the checkpointer saves; the second
 * waits for the decision. A driver that restarts (a new process, a new graph instance on the same
 * checkpointer) finds the intent id in the saved state and only waits, it never sends twice.
 * `@langchain/langgraph` is an optional peer dependency of the SDK, loaded by this entry only.
 *
 * @example
 * ```ts
 * const send = async (state: State) => {
 *   const email = requireApproval(state.email, { name: 'sendEmail', reviewers: ['cfo@company.com'] });
 *   return { sent: await mailer.send(email) };
 * };
 * await graph.invoke({ email }, config);          // pauses at the interrupt
 * await resumeApprovals(graph, config, { client }); // sends, waits, resumes to the end
 * ```
 */
import {
  Command,
  interrupt,
  type LangGraphRunnableConfig,
  type StateSnapshot,
} from '@langchain/langgraph';
import {
  ApprovalRejectedError,
  approvedArguments,
  isApproved,
  type ToolIntentSpec,
  toolCallIntent,
} from '../approval.js';
import type { CountersignClient } from '../client.js';
import type { CreateIntentRequest, Intent } from '../types.js';

export interface RequireApprovalOptions extends Omit<ToolIntentSpec, 'tool'> {
  /** The tool's name, shown to reviewers. */
  name: string;
}

/** What a Countersign interrupt carries: the intent to send, or the intent being decided. */
export type ApprovalInterruptValue =
  | { countersign: 'send'; tool: string; request: CreateIntentRequest }
  | { countersign: 'decision'; tool: string; intent_id: string };

/**
 * In a node: pauses the graph until people decide on running `name` with `input`. Returns the
 * input as approved (with any value a reviewer edited replaced).
 *
 * Like LangGraph's `interrupt`, it pauses by throwing: do not catch LangGraph's interrupts. The
 * node runs again from its start on each resume, so code before this call must be repeatable.
 *
 * @throws {@link ApprovalRejectedError} when the intent ends rejected, timed out or cancelled.
 */
export function requireApproval<Input extends object>(
  input: Input,
  options: RequireApprovalOptions,
): Input {
  const { name, ...spec } = options;
  const request = toolCallIntent([input], { ...spec, tool: name });
  const sent = interrupt<ApprovalInterruptValue, { intent_id: string }>({
    countersign: 'send',
    tool: name,
    request,
  });
  const final = interrupt<ApprovalInterruptValue, Intent>({
    countersign: 'decision',
    tool: name,
    intent_id: sent.intent_id,
  });
  if (!isApproved(final)) throw new ApprovalRejectedError(name, final);
  return approvedArguments<[Input]>([input], final)[0];
}

/** The part of a compiled LangGraph graph the driver uses (any state, any node names). */
export interface InterruptibleGraph {
  getState(config: LangGraphRunnableConfig): Promise<StateSnapshot>;
  // biome-ignore lint/suspicious/noExplicitAny: a compiled graph types its Command by its own nodes.
  invoke(input: Command<unknown, any, any>, config: LangGraphRunnableConfig): Promise<unknown>;
}

export interface ResumeApprovalsOptions {
  /** An agent key's client: it sends the intents and waits for them. */
  client: CountersignClient;
  /** Stop waiting after this many milliseconds with a `WaitTimeoutError`. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** The Countersign interrupts the graph's saved state is paused on. */
export async function pendingApprovals(
  graph: InterruptibleGraph,
  config: LangGraphRunnableConfig,
): Promise<Array<{ id: string; value: ApprovalInterruptValue }>> {
  const state = await graph.getState(config);
  return state.tasks
    .flatMap((task) => task.interrupts)
    .filter(
      (pending): pending is { id: string; value: ApprovalInterruptValue } =>
        typeof pending.id === 'string' &&
        typeof (pending.value as Partial<ApprovalInterruptValue> | undefined)?.countersign ===
          'string',
    );
}

/**
 * Sends the intents the graph asks for and resumes it with their ids, so that the saved state
 * names them. Returns the ids of the intents the graph now waits on. Safe to repeat: each send
 * uses the interrupt's id as its `Idempotency-Key`.
 */
export async function sendApprovals(
  graph: InterruptibleGraph,
  config: LangGraphRunnableConfig,
  options: ResumeApprovalsOptions,
): Promise<string[]> {
  for (;;) {
    const pending = await pendingApprovals(graph, config);
    const sends = pending.filter((item) => item.value.countersign === 'send');
    if (sends.length === 0) {
      return pending.flatMap((item) =>
        item.value.countersign === 'decision' ? [item.value.intent_id] : [],
      );
    }
    const resume: Record<string, { intent_id: string }> = {};
    for (const { id, value } of sends) {
      if (value.countersign !== 'send') continue;
      const intentId = await options.client.sendIntent(value.request, {
        idempotencyKey: `langgraph-${id}`,
        ...(options.signal ? { signal: options.signal } : {}),
      });
      resume[id] = { intent_id: intentId };
    }
    await graph.invoke(new Command({ resume }), withSignal(config, options.signal));
  }
}

/**
 * Sends what the graph asks for, waits for each decision and resumes the graph with it, until
 * the graph no longer waits on Countersign. Returns what the last `invoke` returned (the graph's
 * output, or its state at another interrupt), or `undefined` when nothing was pending.
 */
export async function resumeApprovals(
  graph: InterruptibleGraph,
  config: LangGraphRunnableConfig,
  options: ResumeApprovalsOptions,
): Promise<unknown> {
  let output: unknown;
  for (;;) {
    await sendApprovals(graph, config, options);
    const waiting = (await pendingApprovals(graph, config)).flatMap(({ id, value }) =>
      value.countersign === 'decision' ? [{ id, intentId: value.intent_id }] : [],
    );
    if (waiting.length === 0) return output;
    const decided = await Promise.all(
      waiting.map(async ({ id, intentId }) => {
        const intent = await options.client.waitFor(intentId, {
          ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
          ...(options.signal ? { signal: options.signal } : {}),
        });
        return [id, intent] as const;
      }),
    );
    output = await graph.invoke(
      new Command({ resume: Object.fromEntries(decided) }),
      withSignal(config, options.signal),
    );
  }
}

function withSignal(
  config: LangGraphRunnableConfig,
  signal: AbortSignal | undefined,
): LangGraphRunnableConfig {
  return signal ? { ...config, signal } : config;
}
