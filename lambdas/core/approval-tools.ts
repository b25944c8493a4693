import { z } from 'zod';
import type { IntentView } from '../domain/intent';
import type { Principal } from './auth';
import {
  cancelIntent,
  createIntent,
  decideIntent,
  getIntent,
  type IntentServiceDeps,
  listIntents,
  waitForIntent,
} from './intents';
import type { Role } from './ports';

/**
 * The approval tools of the MCP server (`/mcp`), as use cases: each runs the same core function
 * as the matching HTTP route, with the caller's principal, so roles, visibility (404 for other
 * agents' intents) and every validation are the API's own. Nothing here knows MCP: the handler
 * registers these with the MCP SDK and turns a thrown `DomainError` or `ZodError` into a tool
 * error. The descriptions are written for models: what the tool does, when to call again, and
 * what an outcome means for the action the model wants to take.
 */

/** The wait of one call: API Gateway stops a request at 29 s, so a Lambda never waits longer. */
export const MCP_MAX_WAIT_SECONDS = 20;
export const MCP_DEFAULT_WAIT_SECONDS = 15;
export const MCP_DEFAULT_INTENT_TYPE = 'intent.mcp.approval.v1';

const intentId = z
  .string()
  .min(1)
  .max(200)
  .describe('The id returned by request_approval, e.g. int_01JD…');
const waitSeconds = z
  .number()
  .int()
  .min(0)
  .max(MCP_MAX_WAIT_SECONDS)
  .optional()
  .describe(
    `How long to wait for the decision in this call, 0 to ${MCP_MAX_WAIT_SECONDS} seconds (default ${MCP_DEFAULT_WAIT_SECONDS}). The call returns as soon as someone decides.`,
  );

/** What every approval tool returns: the contract's `structuredContent`. */
export interface ApprovalResult {
  intent_id: string;
  status: IntentView['status'];
  /** Present once the intent left `pending`. */
  decision?: IntentView['decision'];
  approved_payload?: Record<string, unknown> | null;
  receipt?: string | null;
  [key: string]: unknown;
}

export const approvalResultShape = {
  intent_id: z.string(),
  status: z.enum(['pending', 'approved', 'rejected', 'timed_out', 'cancelled']),
  decision: z.record(z.string(), z.unknown()).nullable().optional(),
  approved_payload: z.record(z.string(), z.unknown()).nullable().optional(),
  receipt: z.string().nullable().optional(),
};

/**
 * The result of an intent. `approved_payload` and `receipt` come from other parts of the API
 * (edit before approve, signed receipts): they are passed through when the intent has them.
 */
export function approvalResult(intent: IntentView): ApprovalResult {
  const result: ApprovalResult = { intent_id: intent.id, status: intent.status };
  if (intent.status === 'pending') return result;
  const extra = intent as IntentView & { approved_payload?: unknown; receipt?: unknown };
  result.decision = intent.decision;
  if (extra.approved_payload !== undefined) {
    result.approved_payload = extra.approved_payload as Record<string, unknown> | null;
  }
  if (extra.receipt !== undefined) result.receipt = extra.receipt as string | null;
  return result;
}

const quoted = (text: string | null | undefined) => (text ? `: "${text}"` : '');

/** One line a model can act on. */
export function approvalLine(intent: IntentView): string {
  const decision = intent.decision;
  switch (intent.status) {
    case 'pending':
      return `Approval ${intent.id} is still pending (waiting for ${intent.recipients.join(', ') || 'reviewers'}). Do not act yet; call get_approval with intent_id "${intent.id}" to keep waiting.`;
    case 'approved':
      return `Approval ${intent.id} was APPROVED by ${decision?.by ?? 'a reviewer'}${quoted(decision?.comment)}. You may now perform the action${'approved_payload' in intent ? ', using approved_payload exactly' : ''}.`;
    case 'rejected':
      return `Approval ${intent.id} was REJECTED by ${decision?.by ?? 'a reviewer'}${quoted(decision?.comment)}. Do not perform the action; tell the user why, or ask a new approval for a changed request.`;
    case 'timed_out':
      return decision?.outcome === 'approved'
        ? `Approval ${intent.id} timed out and its policy approves on timeout. You may now perform the action.`
        : `Approval ${intent.id} timed out: nobody decided in time, which counts as a rejection. Do not perform the action.`;
    case 'cancelled':
      return `Approval ${intent.id} was cancelled by ${decision?.by ?? 'its requester'}${quoted(decision?.comment)}. Do not perform the action.`;
  }
}

export interface ApprovalTool<Shape extends z.ZodRawShape = z.ZodRawShape> {
  name: string;
  title: string;
  description: string;
  roles: readonly Role[];
  input: Shape;
  output: z.ZodRawShape;
  run(
    deps: IntentServiceDeps,
    principal: Principal,
    args: z.infer<z.ZodObject<Shape>>,
  ): Promise<{ structured: Record<string, unknown>; text: string }>;
}

const tool = <Shape extends z.ZodRawShape>(definition: ApprovalTool<Shape>) => definition;

async function waitIfPending(
  deps: IntentServiceDeps,
  principal: Principal,
  intent: IntentView,
  seconds: number,
): Promise<IntentView> {
  if (intent.status !== 'pending' || seconds <= 0) return intent;
  return waitForIntent(deps, principal, intent.id, seconds);
}

const answer = (intent: IntentView) => ({
  structured: approvalResult(intent),
  text: approvalLine(intent),
});

const jsonObject = z.record(z.string(), z.unknown());

export const requestApproval = tool({
  name: 'request_approval',
  title: 'Ask a human to approve an action',
  roles: ['agent', 'admin'],
  description: [
    'Ask a human reviewer to approve an action BEFORE you perform it (sending money or email, deleting data, deploying, anything irreversible or on behalf of someone).',
    `Describe the action in one line in summary and put its exact parameters in payload. The call waits up to wait_seconds (default ${MCP_DEFAULT_WAIT_SECONDS}, at most ${MCP_MAX_WAIT_SECONDS}) for the decision.`,
    'If the result status is "pending", nobody has decided yet: call get_approval with the returned intent_id (repeatedly) until the status is final. Never perform the action while pending.',
    '"approved": perform the action, with approved_payload when present (a reviewer may have edited it). "rejected", "timed_out" or "cancelled": do not perform it; the decision comment says why.',
  ].join(' '),
  input: {
    summary: z
      .string()
      .min(1)
      .max(500)
      .describe(
        'One line for the reviewer: what you want to do and why, e.g. "Refund $40 to order 1182 (damaged in transit)".',
      ),
    payload: jsonObject
      .optional()
      .describe(
        'The exact parameters of the action as a JSON object (what will be done if approved).',
      ),
    intent_type: z
      .string()
      .optional()
      .describe(
        `A dotted name for the kind of action, e.g. intent.refund.v1 (default ${MCP_DEFAULT_INTENT_TYPE}). Operators set policies per type.`,
      ),
    reviewers: z
      .array(z.string())
      .optional()
      .describe(
        'Email addresses or team:<name> to ask; usually leave this out so that the configured policy decides who reviews.',
      ),
    policy: jsonObject
      .optional()
      .describe(
        'Optional policy (reminders, escalation, timeout, required_approvals); it can only make approval harder.',
      ),
    editable: z
      .array(z.string())
      .optional()
      .describe(
        'JSON Pointers into payload a reviewer may change before approving, e.g. ["/amount"].',
      ),
    wait_seconds: waitSeconds,
  },
  output: approvalResultShape,
  async run(deps, principal, args) {
    const body: Record<string, unknown> = {
      intent_type: args.intent_type ?? MCP_DEFAULT_INTENT_TYPE,
      to_agent: principal.name,
      summary: args.summary,
      payload: args.payload ?? {},
    };
    if (args.reviewers !== undefined) body.reviewers = args.reviewers;
    if (args.policy !== undefined) body.policy = args.policy;
    if (args.editable !== undefined) body.editable = args.editable;
    const { intent } = await createIntent(deps, principal, body, undefined);
    return answer(
      await waitIfPending(deps, principal, intent, args.wait_seconds ?? MCP_DEFAULT_WAIT_SECONDS),
    );
  },
});

export const getApproval = tool({
  name: 'get_approval',
  title: 'Wait for an approval decision',
  roles: ['agent', 'admin'],
  description: [
    'Get the status of an approval you requested, waiting up to wait_seconds for a decision.',
    'Call it again (with the same intent_id) for as long as the status is "pending"; people may take minutes or hours.',
    '"approved": perform the action, with approved_payload when present. "rejected", "timed_out" or "cancelled": do not perform it; the decision comment carries the reviewer\'s reason.',
  ].join(' '),
  input: { intent_id: intentId, wait_seconds: waitSeconds },
  output: approvalResultShape,
  async run(deps, principal, args) {
    const intent = await getIntent(deps, principal, args.intent_id);
    return answer(
      await waitIfPending(deps, principal, intent, args.wait_seconds ?? MCP_DEFAULT_WAIT_SECONDS),
    );
  },
});

export const cancelApproval = tool({
  name: 'cancel_approval',
  title: 'Withdraw an approval request',
  roles: ['agent', 'admin'],
  description:
    'Withdraw a pending approval request you made, when the action is no longer wanted. Reviewers are told it was cancelled. Fails with not_pending when it was already decided.',
  input: {
    intent_id: intentId,
    reason: z
      .string()
      .max(2000)
      .optional()
      .describe('Why it is no longer needed, shown to reviewers.'),
  },
  output: approvalResultShape,
  async run(deps, principal, args) {
    const body = args.reason === undefined ? {} : { reason: args.reason };
    return answer(await cancelIntent(deps, principal, args.intent_id, body));
  },
});

const pendingItemShape = {
  intent_id: z.string(),
  intent_type: z.string(),
  summary: z.string(),
  from_agent: z.string(),
  payload: jsonObject,
  deadline_at: z.string(),
  editable: z.array(z.string()).optional(),
};

export const listPendingApprovals = tool({
  name: 'list_pending_approvals',
  title: 'List approvals waiting for you',
  roles: ['reviewer', 'admin'],
  description:
    'List the approval requests waiting for your decision (newest first, at most 50): what each agent wants to do (summary, payload) and by when. Decide one with decide_approval.',
  input: {},
  output: { items: z.array(z.object(pendingItemShape)) },
  async run(deps, principal) {
    const page = await listIntents(deps, principal, { reviewer: 'me' });
    const items = page.items.map((intent) => {
      const editable = (intent as IntentView & { editable?: unknown }).editable;
      return {
        intent_id: intent.id,
        intent_type: intent.intent_type,
        summary: intent.summary,
        from_agent: intent.from_agent,
        payload: intent.payload,
        deadline_at: intent.deadline_at,
        ...(Array.isArray(editable) ? { editable: editable as string[] } : {}),
      };
    });
    const text =
      items.length === 0
        ? 'Nothing is waiting for your decision.'
        : `${items.length} approval(s) wait for your decision: ${items.map((item) => `${item.intent_id} (${item.summary})`).join('; ')}.`;
    return { structured: { items }, text };
  },
});

export const decideApproval = tool({
  name: 'decide_approval',
  title: 'Approve or reject a request',
  roles: ['reviewer', 'admin'],
  description: [
    'Record your decision on an approval request waiting for you: outcome "approve" lets the agent act, "reject" stops it (give the reason in comment; the agent sees it).',
    'edits (approve only) changes payload values at the JSON Pointers the request marked editable, e.g. {"/amount": 40}.',
    'The status stays "pending" while a quorum or a later step still needs approvals.',
  ].join(' '),
  input: {
    intent_id: intentId,
    outcome: z.enum(['approve', 'reject']),
    comment: z
      .string()
      .max(2000)
      .optional()
      .describe('Your reason; required in spirit for a rejection.'),
    edits: jsonObject.optional().describe('JSON Pointer to new value, for approve only.'),
  },
  output: approvalResultShape,
  async run(deps, principal, args) {
    const body: Record<string, unknown> = { outcome: args.outcome };
    if (args.comment !== undefined) body.comment = args.comment;
    if (args.edits !== undefined) body.edits = args.edits;
    return answer(await decideIntent(deps, principal, args.intent_id, body));
  },
});

export const APPROVAL_TOOLS = [
  requestApproval,
  getApproval,
  cancelApproval,
  listPendingApprovals,
  decideApproval,
] as unknown as readonly ApprovalTool[];

/** The tools a role may call: agents ask, reviewers decide, admins may do both. */
export function approvalToolsFor(role: Role): ApprovalTool[] {
  return APPROVAL_TOOLS.filter((candidate) => candidate.roles.includes(role));
}
