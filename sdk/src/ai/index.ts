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
 * Each intent is sent with `Idempotency-Key` `ai-<approvalId>`, so a process that restarts from
 * the saved messages finds the intent it sent (the API keeps keys 24 hours) instead of asking
 * again. The AI SDK (`ai`) is an optional peer dependency; this entry uses its types only.
 *
 * @example
 * ```ts
 * const tools = { sendEmail: tool({ inputSchema, needsApproval: true, execute: send }) };
 * let result = await generateText({ model, tools, messages });
 * messages.push(...result.response.messages);
 * messages = await decideToolApprovals(messages, { client, reviewers: ['cfo@company.com'] });
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
  askAboutToolCall,
  isApproved,
  type ToolCallApprovalOptions,
} from '../approval.js';

export type DecideToolApprovalsOptions = ToolCallApprovalOptions;

/** A tool call waiting for approval in the messages. */
export interface OpenToolApproval {
  approvalId: string;
  toolCall: ToolCallPart;
}

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
    return toolCall && !answered.has(approvalId) ? [{ approvalId, toolCall }] : [];
  });
}

/**
 * Asks people about every open tool approval in `messages` and returns a copy of the messages
 * with their decisions: approved inputs as the reviewers left them and one
 * `tool-approval-response` per request, in the last `tool` message (where the AI SDK reads
 * them). Returns `messages` unchanged when nothing is open.
 *
 * @throws `WaitTimeoutError` when `timeoutMs` passes; any `CountersignError` of the API calls.
 */
export async function decideToolApprovals(
  messages: readonly ModelMessage[],
  options: DecideToolApprovalsOptions,
): Promise<ModelMessage[]> {
  const open = openToolApprovals(messages);
  if (open.length === 0) return [...messages];
  const decided = await Promise.all(open.map((approval) => decide(approval, options)));

  const approvedInputs = new Map(
    decided.flatMap(({ toolCall, input }) => (input ? [[toolCall.toolCallId, input]] : [])),
  );
  const edited = messages.map((message): ModelMessage => {
    if (message.role !== 'assistant' || typeof message.content === 'string') return message;
    return {
      ...message,
      content: message.content.map((part) =>
        part.type === 'tool-call' && approvedInputs.has(part.toolCallId)
          ? { ...part, input: approvedInputs.get(part.toolCallId) }
          : part,
      ),
    };
  });
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
  { approvalId, toolCall }: OpenToolApproval,
  options: DecideToolApprovalsOptions,
): Promise<{
  approvalId: string;
  toolCall: ToolCallPart;
  input: unknown;
  response: { approved: boolean; reason: string };
}> {
  const tool = toolCall.toolName;
  const intent = await askAboutToolCall(tool, toolCall.input, `ai-${approvalId}`, options);
  if (!isApproved(intent)) {
    const reason = new ApprovalRejectedError(tool, intent).message;
    return { approvalId, toolCall, input: undefined, response: { approved: false, reason } };
  }
  const [input] = approvedArguments([toolCall.input], intent);
  const by = intent.decision?.by ?? 'the reviewers';
  const reason = `Approved by ${by}${intent.decision?.comment ? `: ${intent.decision.comment}` : ''}`;
  return { approvalId, toolCall, input, response: { approved: true, reason } };
}
