import { z } from 'zod';
import { payloadSha256 } from '../../sdk/src/audit';
import { type AuditEventDraft, GENESIS_HASH } from './audit';
import { editableIssues, editableSchema } from './edits';
import { DomainError } from './errors';
import type { IntentState, NotificationChannel } from './intent';
import {
  matchingRule,
  type OperatorPolicy,
  type PolicyBase,
  type PolicySource,
  resolveIntentPolicy,
} from './operator-policy';
import {
  assertReviewersCanReachQuorum,
  isTeamRef,
  policyInputSchema,
  reviewerListSchema,
} from './policy';
import { callbackUrlIssue } from './webhook';

const MAX_PAYLOAD_BYTES = 128 * 1024;
const MAX_INTENT_TYPE_PARTS = 20;

export const createIntentSchema = z
  .object({
    intent_type: z
      .string()
      .min(1)
      .max(200)
      .regex(
        /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/,
        'must be a dotted name such as intent.report.review.v1',
      )
      // Each create looks up the policy of every prefix: a bounded number of them.
      .refine((type) => type.split('.').length <= MAX_INTENT_TYPE_PARTS, {
        message: `must have at most ${MAX_INTENT_TYPE_PARTS} dotted parts`,
      }),
    to_agent: z.string().min(1).max(500),
    summary: z.string().trim().min(1).max(500).optional(),
    payload: z.record(z.string(), z.unknown()),
    reviewers: reviewerListSchema.optional(),
    policy: policyInputSchema.optional(),
    callback_url: z.string().max(2000).optional(),
    editable: editableSchema.optional(),
  })
  .strict();

export type CreateIntentInput = z.infer<typeof createIntentSchema>;

export interface CreateContext {
  id: string;
  from_agent: string;
  now: Date;
  configuredChannels: readonly NotificationChannel[];
  /** The operator's policy for this intent type, and where it came from. */
  operatorPolicy: OperatorPolicy;
  policySource: PolicySource;
  base: PolicyBase;
  allowLoopbackCallbacks: boolean;
}

/** Builds a new pending intent and its `created` event from a validated request. */
export function newIntent(
  input: CreateIntentInput,
  context: CreateContext,
): { intent: IntentState; events: AuditEventDraft[] } {
  const payloadBytes = Buffer.byteLength(JSON.stringify(input.payload), 'utf8');
  if (payloadBytes > MAX_PAYLOAD_BYTES) {
    throw new DomainError(
      'payload_too_large',
      `The payload is ${payloadBytes} bytes; at most ${MAX_PAYLOAD_BYTES} are accepted.`,
    );
  }
  const { policy, reviewers, addedByRequest } = resolveIntentPolicy(
    context.operatorPolicy,
    context.base,
    { reviewers: input.reviewers, policy: input.policy, payload: input.payload },
    context.configuredChannels,
  );
  const callbackUrl = input.callback_url ?? null;
  const callbackIssue =
    callbackUrl === null ? null : callbackUrlIssue(callbackUrl, context.allowLoopbackCallbacks);
  if (callbackIssue !== null) {
    throw new DomainError('validation_failed', 'The request has invalid fields.', {
      details: [{ field: 'callback_url', message: callbackIssue }],
    });
  }
  const editable = input.editable ?? [];
  const editableProblems = editableIssues(input.payload, editable);
  if (editableProblems.length > 0) {
    throw new DomainError('validation_failed', 'The request has invalid fields.', {
      details: editableProblems,
    });
  }
  assertReviewersCanReachQuorum(policy, reviewers);

  const createdAt = context.now.toISOString();
  const deadline = new Date(context.now.getTime() + policy.timeout.after * 1000).toISOString();
  const summary = input.summary ?? summaryFromType(input.intent_type);
  const intent: IntentState = {
    id: context.id,
    intent_type: input.intent_type,
    to_agent: input.to_agent,
    from_agent: context.from_agent,
    summary,
    payload: input.payload,
    status: 'pending',
    policy,
    recipients: reviewers.filter((r) => !isTeamRef(r)),
    approvals: [],
    decision: null,
    callback_url: callbackUrl,
    step: 0,
    created_at: createdAt,
    updated_at: createdAt,
    deadline_at: deadline,
    next_action_at: createdAt,
    event_count: 0,
    last_event_hash: GENESIS_HASH,
    added_by_request: addedByRequest,
    editable,
    edits: {},
    payload_version: 0,
    version: 0,
    asked: reviewers,
    step_started_at: createdAt,
    stage_index: -1,
    task_token: null,
    pending_notifications: [],
    viewed_by: [],
  };
  const event: AuditEventDraft = {
    type: 'created',
    at: createdAt,
    actor: context.from_agent,
    channel: 'api',
    data: {
      intent_type: input.intent_type,
      to_agent: input.to_agent,
      summary,
      reviewers,
      policy,
      deadline_at: deadline,
      payload_bytes: payloadBytes,
      operator_policy: context.policySource,
      reviewers_added_by_request: addedByRequest,
      // What was asked, so that the chain covers it (the payload itself lives outside the trail).
      payload_sha256: payloadSha256(input.payload),
      callback_url: callbackUrl,
      from_agent: context.from_agent,
      editable,
    },
  };
  const rule = matchingRule(context.operatorPolicy.rules, input.payload);
  if (!rule) return { intent, events: [event] };
  // An operator's rule decides at once: nobody is notified, and the trail says which rule.
  const outcome = rule.effect === 'approve' ? 'approved' : 'rejected';
  const by = `rule:${rule.name}`;
  return {
    intent: {
      ...intent,
      status: outcome,
      decision: {
        outcome,
        by,
        at: createdAt,
        comment: null,
        channel: 'rule',
        ...(outcome === 'approved' ? { edits: {} } : {}),
      },
      next_action_at: null,
    },
    events: [
      event,
      {
        type: outcome,
        at: createdAt,
        actor: by,
        channel: 'rule',
        data: {
          rule: rule.name,
          ...(outcome === 'approved'
            ? { edits: {}, approved_payload_sha256: payloadSha256(input.payload) }
            : {}),
        },
      },
    ],
  };
}

/** "intent.report.review_approval.v1" → "Report review approval". */
function summaryFromType(intentType: string): string {
  const words = intentType
    .replace(/^intent\./, '')
    .replace(/\.v\d+$/, '')
    .split(/[._-]+/)
    .filter(Boolean)
    .join(' ');
  return words.length > 0 ? words.charAt(0).toUpperCase() + words.slice(1) : intentType;
}
