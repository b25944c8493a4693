/**
 * `@countersign/sdk/ai`: Countersign decides the Vercel AI SDK's tool approvals. A tool defined
 * with `needsApproval` makes `generateText` stop with a `tool-approval-request`; the messages so
 * far are the run's whole state and can be saved. {@link decideToolApprovals} sends one intent
 * per open request (the tool call's input as payload), waits for the reviewers and returns the
 * messages with the answers appended, ready for the next `generateText`: an approved call runs
 * with the input as approved (a value a reviewer edited replaces the model's in the tool call
 * itself, so the history shows what ran), a rejected one reaches the model as an
 * `execution-denied` result whose reason is the `ApprovalRejectedError` sentence.
 *
 * The messages keep the intent's id: once it is sent, the tool call's part carries
 * `providerOptions.countersign.intentId` (providers read only their own key there). Messages
 * saved after that ({@link sendToolApprovals}, or `onSent` of {@link decideToolApprovals}) make
 * a process that dies while people decide and starts again from them wait on the same intent,
 * however long the decision takes. Each intent is also sent with `Idempotency-Key`
 * `ai-<approvalId>`, which covers a restart between sending and saving (the API keeps keys 24
 * hours). The AI SDK (`ai`) is an optional peer dependency; this entry uses its types only.
 *
 * @example
 * ```ts
 * const tools = { sendEmail: tool({ inputSchema, needsApproval: true, execute: send }) };
 * let result = await generateText({ model, tools, messages });
 * messages.push(...result.response.messages);
 * messages = await decideToolApprovals(messages, {
 *   client,
 *   reviewers: ['cfo@company.com'],
 *   onSent: (sent) => store.save(runId, sent), // a restart resumes from here
 * });
 * result = await generateText({ model, tools, messages });
 * ```
 */
import type {
  ModelMessage,
  ToolApprovalResponse,
  ToolCallPart,
  ToolContent,
  ToolModelMessage,
} from 'ai';
import {
  ApprovalRejectedError,
  approvedArguments,
  isApproved,
  sendToolCallIntent,
  type ToolCallApprovalOptions,
  waitForToolCall,
} from '../approval.js';

export type SendToolApprovalsOptions = ToolCallApprovalOptions;

export interface DecideToolApprovalsOptions extends ToolCallApprovalOptions {
  /**
   * Called before waiting with the messages that name the intents sent: save them here, so that
   * a process that restarts from them waits on the same intents instead of sending new ones.
   */
  onSent?: (messages: ModelMessage[]) => void | Promise<void>;
}

/** A tool call waiting for approval in the messages. */
export interface OpenToolApproval {
  approvalId: string;
  toolCall: ToolCallPart;
  /** The intent sent for the call, as the messages record it; `undefined` until it is sent. */
  intentId: string | undefined;
}

/** The `providerOptions` key under which a tool call records its intent. */
const PROVIDER_KEY = 'countersign';

/** The approval requests in `messages` that no `tool-approval-response` answers yet. */
export function openToolApprovals(messages: readonly ModelMessage[]): OpenToolApproval[] {
  const calls = new Map<string, ToolCallPart>();
  const requests: Array<{ approvalId: string; toolCallId: string }> = [];
  const answered = new Set<string>();
  for (const message of messages) {
    if (typeof message.content === 'string') continue;
    for (const part of message.content) {
      if (part.type === 'tool-call') calls.set(part.toolCallId, part);
      if (part.type === 'tool-approval-request') requests.push(part);
      if (part.type === 'tool-approval-response') answered.add(part.approvalId);
    }
  }
  return requests.flatMap(({ approvalId, toolCallId }) => {
    const toolCall = calls.get(toolCallId);
    return toolCall && !answered.has(approvalId)
      ? [{ approvalId, toolCall, intentId: recordedIntentId(toolCall) }]
      : [];
  });
}

/**
 * Sends an intent for each open tool approval that has none yet and returns a copy of the
 * messages in which each such tool call records its intent's id
 * (`providerOptions.countersign.intentId`). Save what it returns: starting again from those
 * messages, {@link decideToolApprovals} waits on the same intents. Safe to repeat.
 *
 * @throws any `CountersignError` of the API calls.
 */
export async function sendToolApprovals(
  messages: readonly ModelMessage[],
  options: SendToolApprovalsOptions,
): Promise<ModelMessage[]> {
  const unsent = openToolApprovals(messages).filter(({ intentId }) => intentId === undefined);
  const sent = new Map(
    await Promise.all(
      unsent.map(
        async ({ approvalId, toolCall }) =>
          [
            toolCall.toolCallId,
            await sendToolCallIntent(
              toolCall.toolName,
              toolCall.input,
              `ai-${approvalId}`,
              options,
            ),
          ] as const,
      ),
    ),
  );
  return mapToolCalls(messages, (part) => {
    const intentId = sent.get(part.toolCallId);
    if (intentId === undefined) return part;
    const providerOptions = {
      ...part.providerOptions,
      [PROVIDER_KEY]: { ...part.providerOptions?.[PROVIDER_KEY], intentId },
    };
    return { ...part, providerOptions };
  });
}

/**
 * Asks people about every open tool approval in `messages` and returns a copy of the messages
 * with their decisions: approved inputs as the reviewers left them and one
 * `tool-approval-response` per request, in the last `tool` message (where the AI SDK reads
 * them). A call whose intent the messages record already ({@link sendToolApprovals}) is only
 * waited on. Returns `messages` unchanged when nothing is open.
 *
 * @throws `WaitTimeoutError` when `timeoutMs` passes; any `CountersignError` of the API calls.
 */
export async function decideToolApprovals(
  messages: readonly ModelMessage[],
  options: DecideToolApprovalsOptions,
): Promise<ModelMessage[]> {
  if (openToolApprovals(messages).length === 0) return [...messages];
  const sent = await sendToolApprovals(messages, options);
  await options.onSent?.(sent);
  const decided = await Promise.all(
    openToolApprovals(sent).map((approval) => decide(approval, options)),
  );

  const approvedInputs = new Map(
    decided.flatMap(({ toolCall, input }) => (input ? [[toolCall.toolCallId, input]] : [])),
  );
  const edited = mapToolCalls(sent, (part) =>
    approvedInputs.has(part.toolCallId)
      ? { ...part, input: approvedInputs.get(part.toolCallId) }
      : part,
  );
  const responses: ToolApprovalResponse[] = decided.map(({ approvalId, response }) => ({
    type: 'tool-approval-response',
    approvalId,
    ...response,
  }));
  const last = edited.at(-1);
  if (last?.role === 'tool') {
    const content: ToolContent = [...last.content, ...responses];
    return [...edited.slice(0, -1), { ...last, content }];
  }
  const answer: ToolModelMessage = { role: 'tool', content: responses };
  return [...edited, answer];
}

async function decide(
  { approvalId, toolCall, intentId }: OpenToolApproval,
  options: DecideToolApprovalsOptions,
): Promise<{
  approvalId: string;
  toolCall: ToolCallPart;
  input: unknown;
  response: { approved: boolean; reason: string };
}> {
  const tool = toolCall.toolName;
  const intent = await waitForToolCall(
    intentId ?? (await sendToolCallIntent(tool, toolCall.input, `ai-${approvalId}`, options)),
    options,
  );
  if (!isApproved(intent)) {
    const reason = new ApprovalRejectedError(tool, intent).message;
    return { approvalId, toolCall, input: undefined, response: { approved: false, reason } };
  }
  const [input] = approvedArguments([toolCall.input], intent);
  const by = intent.decision?.by ?? 'the reviewers';
  const reason = `Approved by ${by}${intent.decision?.comment ? `: ${intent.decision.comment}` : ''}`;
  return { approvalId, toolCall, input, response: { approved: true, reason } };
}

/** The intent id a tool call records, if it records one. */
function recordedIntentId(toolCall: ToolCallPart): string | undefined {
  const recorded = toolCall.providerOptions?.[PROVIDER_KEY]?.intentId;
  return typeof recorded === 'string' && recorded !== '' ? recorded : undefined;
}

/** A copy of the messages with each assistant tool call replaced by what `change` makes of it. */
function mapToolCalls(
  messages: readonly ModelMessage[],
  change: (part: ToolCallPart) => ToolCallPart,
): ModelMessage[] {
  return messages.map((message): ModelMessage => {
    if (message.role !== 'assistant' || typeof message.content === 'string') return message;
    return {
      ...message,
      content: message.content.map((part) => (part.type === 'tool-call' ? change(part) : part)),
    };
  });
}
