/**
 * The contract: the wire types of the Countersign HTTP API v1, the one set that the server
 * (`lambdas/`), this SDK and the local console import (type-only, so the SDK stays free of
 * runtime dependencies). Field names stay snake_case because they are the JSON the API sends
 * and receives. `test/contract/types.test.ts` checks that the three agree, and that the
 * response schemas of the OpenAPI document (`GET /v1/openapi.json`) describe these types.
 *
 * @packageDocumentation
 */

/** Any JSON object, as used for intent payloads and event data. */
export type JsonObject = Record<string, unknown>;

/** A value a reviewer may set before approving: what an editable pointer may name. */
export type EditValue = string | number | boolean;

/** Values reviewers changed, JSON Pointer (into the payload as asked) to new value. */
export type Edits = Record<string, EditValue>;

/** The lifecycle of an intent. Once it leaves `pending` it never changes again. */
export type IntentStatus = 'pending' | 'approved' | 'rejected' | 'timed_out' | 'cancelled';

/** Where reviewers are notified. */
export type NotificationChannel = 'email' | 'slack' | 'webhook';

/** Where a vote or decision came from. `web` is the local console; `timeout` is the deadline. */
export type DecisionChannel = 'email' | 'slack' | 'cli' | 'api' | 'web' | 'timeout' | 'rule';

/** The outcome recorded when nobody decided before the policy's timeout. */
export type TimeoutAction = 'reject' | 'approve';

/**
 * A duration in a request policy: `"90s"`, `"5m"`, `"8h"`, `"2d"`, ISO 8601 (`"PT5M"`) or
 * whole seconds. At least 1 second, at most 364 days.
 */
export type Duration = string | number;

/** One step of a sequential approval chain, as sent. */
export interface StepInput {
  /** Email addresses or `team:<name>`. */
  reviewers: string[];
  /** Distinct approvals this step needs. Default 1. */
  required_approvals?: number;
}

/** One escalation, as sent: adds recipients once `after` has passed since the first notification. */
export interface EscalationInput {
  after: Duration;
  /** Email addresses or `team:<name>`. */
  to: string[];
}

/** The policy of a new intent. Every field is optional; the API fills in defaults. */
export interface PolicyInput {
  /** Reminders to the current recipients, from the first notification. Default `["5m", "30m"]`. */
  remind_after?: Duration[];
  /** Default none. */
  escalate?: EscalationInput[];
  /** Default `{ after: "8h", action: "reject" }`, measured from creation. */
  timeout?: { after?: Duration; action?: TimeoutAction };
  /** Distinct reviewers who must approve (quorum); one rejection rejects. Default 1. */
  required_approvals?: number;
  /** A sequential chain; when present it replaces `reviewers` and the `payload.reviewer` fallback. */
  steps?: StepInput[] | null;
  /** Default: every channel the deployment has configured. */
  channels?: NotificationChannel[];
  /**
   * Reminders wait for each recipient's working hours (their reviewer profile). Default true;
   * an operator's policy decides where it sets it.
   */
  remind_in_working_hours?: boolean;
}

/** One step of a resolved policy. */
export interface ResolvedStep {
  reviewers: string[];
  required_approvals: number;
}

/**
 * The policy as stored on the intent: defaults filled in and every duration in whole seconds,
 * so a resolved policy is itself a valid {@link PolicyInput}.
 */
export interface ResolvedPolicy {
  remind_after: number[];
  escalate: { after: number; to: string[] }[];
  timeout: { after: number; action: TimeoutAction };
  required_approvals: number;
  steps: ResolvedStep[] | null;
  channels: NotificationChannel[];
  /** Absent on intents created before reviewer availability (read as true). */
  remind_in_working_hours?: boolean;
}

/** One reviewer's approval so far (quorums and chains). */
export interface Approval {
  by: string;
  at: string;
  comment: string | null;
  channel: DecisionChannel;
  /** The step of the chain it counted for (0 without steps). */
  step: number;
  /** The version of the payload it approved (`Intent.payload_version`; absent means 0). */
  payload_version?: number;
  /** The recipient a delegate approved for while they were out of office. */
  on_behalf_of?: string;
}

/** The final decision of an intent; `null` on the intent while it is pending. */
export interface Decision {
  /**
   * `approved` or `rejected` (for `timed_out`, the policy's timeout action), or `cancelled`
   * for a cancelled intent.
   */
  outcome: 'approved' | 'rejected' | 'cancelled';
  /** A reviewer's email, `timeout`, or the agent (or admin) that cancelled. */
  by: string;
  at: string;
  comment: string | null;
  channel: DecisionChannel;
  /** On an approval: the values reviewers changed, JSON Pointer to value (`{}` where nobody edited). */
  edits?: Edits;
  /** The recipient a delegate (`by`) decided for while they were out of office. */
  on_behalf_of?: string;
}

/** An intent: an agent's action that waits for human approval. */
export interface Intent {
  /** e.g. `int_01JD…` */
  id: string;
  intent_type: string;
  to_agent: string;
  /** The principal of the key that created the intent. */
  from_agent: string;
  summary: string;
  payload: JsonObject;
  status: IntentStatus;
  policy: ResolvedPolicy;
  /** Who may decide at the current step, teams expanded. */
  recipients: string[];
  approvals: Approval[];
  decision: Decision | null;
  callback_url: string | null;
  /** The current step of a chain; 0 without steps. */
  step: number;
  created_at: string;
  updated_at: string;
  /** When the policy's timeout action applies. */
  deadline_at: string;
  /** When the next reminder, escalation or timeout is due; `null` once final. */
  next_action_at: string | null;
  /** Length of the audit trail, so truncation is detectable. */
  event_count: number;
  /** Hash of the last audit event. */
  last_event_hash: string;
  /**
   * The payload as approved, with the reviewers' edits applied: `null` until approved, the
   * payload itself where nobody edited. Run the action with this. Absent on older servers.
   */
  approved_payload?: JsonObject | null;
  /** JSON Pointers into the payload that reviewers may change before approving. */
  editable?: string[];
  /** The values reviewers changed so far, JSON Pointer to value, relative to `payload` (as asked). */
  edits?: Edits;
  /** How many times reviewers changed the payload; approvals count for the version they saw. */
  payload_version?: number;
  /**
   * Once the intent left `pending`: the signed receipt of its decision, a compact JWS of type
   * `countersign-receipt` (verify it with `verifyReceipt`). Absent while pending, and on intents
   * decided before the deployment signed receipts.
   */
  receipt?: string;
  /** Reviewers the agent's request named that the operator's policy did not; messages say so. */
  added_by_request?: string[];
}

/** The body of `POST /v1/intents`. */
export interface CreateIntentRequest {
  /** Dotted name, at most 200 characters, e.g. `intent.report.review_approval.v1`. */
  intent_type: string;
  /** The agent whose action waits, at most 500 characters. */
  to_agent: string;
  /**
   * Any JSON object, at most 128 KiB serialized. Without `reviewers`, `payload.reviewer`
   * (a string) or `payload.reviewers` (an array) names the reviewers.
   */
  payload: JsonObject;
  /** One line shown to reviewers; defaults to a line made from `intent_type`. */
  summary?: string;
  /** Email addresses or `team:<name>`. */
  reviewers?: string[];
  policy?: PolicyInput;
  /** Receives a signed POST of the final intent. https only (http to loopback in local mode). */
  callback_url?: string;
  /**
   * JSON Pointers (`/amount`, `/message/subject`) to strings, numbers or booleans of the payload
   * that reviewers may change before approving; at most 50.
   */
  editable?: string[];
}

/** The query of `GET /v1/intents`. */
export interface ListIntentsQuery {
  status?: IntentStatus;
  /** `me`: what the calling reviewer may decide now. */
  reviewer?: 'me';
  /** 1 to 100; the API's default is 50. */
  limit?: number;
  /** A `next_cursor` from an earlier page. */
  cursor?: string;
}

/** A page of intents, newest first. */
export interface ListIntentsResponse {
  items: Intent[];
  /** Pass as `cursor` for the next page; `null` on the last page. */
  next_cursor: string | null;
}

/** The body of `POST /v1/intents/{id}/decision`. */
export interface DecisionRequest {
  outcome: 'approve' | 'reject';
  /** Required by the API when rejecting: a rejection says why. */
  comment?: string;
  /** Default `api`. */
  channel?: 'api' | 'cli';
  /**
   * With `approve` only: new values at pointers the intent lists in `editable`, each of the same
   * JSON type (any other is refused with 400, naming the pointer).
   */
  edits?: JsonObject;
}

/** One item of `POST /v1/decisions`: a decision's body and the intent it decides. */
export interface BulkDecisionItem extends DecisionRequest {
  intent_id: string;
}

/**
 * One result of `POST /v1/decisions`, in the order asked: what deciding that intent alone would
 * have answered (`status` 200 with the intent, or the error's status and body).
 */
export type BulkDecisionResult =
  | { intent_id: string; status: 200; intent: Intent }
  | { intent_id: string; status: number; error: ErrorBody['error'] };

/** The answer of `POST /v1/decisions`. */
export interface BulkDecisionResponse {
  results: BulkDecisionResult[];
}

/** The body of `POST /v1/intents/{id}/cancel`. */
export interface CancelRequest {
  reason?: string;
}

/** The kinds of audit events this version of the contract defines. */
export type KnownAuditEventType =
  | 'created'
  | 'notified'
  | 'reminded'
  | 'reminder_held'
  | 'delegated'
  | 'escalated'
  | 'viewed'
  | 'approval'
  | 'rejection'
  | 'step_completed'
  | 'step_restarted'
  | 'approved'
  | 'rejected'
  | 'timed_out'
  | 'cancelled'
  | 'callback_sent'
  | 'notification_failed';

/**
 * The kinds of audit events. The union is open (`string & {}`) so that an SDK older than the
 * server still accepts event types added later.
 */
export type AuditEventType = KnownAuditEventType | (string & {});

/**
 * What a message to a person is for: the first request for a decision, a reminder, an
 * escalation (to recipients added later), the notice that the intent was decided, or an inbox
 * sign-in link (the one message about no intent). The `kind` of `notified` events and of the
 * local outbox's items.
 */
export type NotificationKind = 'notify' | 'remind' | 'escalate' | 'decided' | 'sign_in';

/**
 * One entry of an intent's hash-chained audit trail. `hash` is the lowercase hex SHA-256 of
 * `prev_hash + canonical`, where `canonical` is the event without `hash` under RFC 8785. The
 * server writes only {@link KnownAuditEventType}s (`AuditEvent<KnownAuditEventType>`).
 */
export interface AuditEvent<Type extends string = AuditEventType> {
  seq: number;
  type: Type;
  at: string;
  actor: string;
  channel: string;
  data: JsonObject;
  prev_hash: string;
  hash: string;
}

/** The audit trail of an intent, oldest first. */
export interface EventsResponse {
  items: AuditEvent[];
}

export type Role = 'agent' | 'reviewer' | 'admin';

/** An API key's metadata. The key itself is shown only once, by {@link CreatedKey}. */
export interface ApiKey {
  id: string;
  role: Role;
  /** An agent name, a reviewer's email, or an operator name. */
  principal: string;
  /** The first characters of the key, to recognise it. */
  prefix: string;
  created_at: string;
  revoked_at: string | null;
  /**
   * Agent keys: the intent types the key may create (`intent.refund.*` is a prefix, `*` all);
   * `["*"]` when not scoped.
   */
  intent_types?: string[];
  /** Agent keys: the hourly quotas, or null when the key has none. */
  quota?: KeyQuota | null;
}

/** An agent key's hourly limits (a limit left out is no limit). */
export interface KeyQuota {
  /** Creates over it are refused with 429 `rate_limited` and `Retry-After` until the hour ends. */
  intents_per_hour?: number;
  /**
   * Notices asking reviewers for the key's intents; over it they are not sent (recorded), and
   * creates are refused with 429 `rate_limited` and `Retry-After` until the hour ends.
   */
  notifications_per_hour?: number;
}

/** The body of `POST /v1/keys`. */
export interface CreateKeyRequest {
  role: Role;
  /** An email address is stored lower-cased. */
  principal: string;
  /** Agent keys only: exact types, prefixes ending in `*`, or `*`; default all. */
  intent_types?: string[];
  /** Agent keys only. */
  quota?: KeyQuota;
}

/** A new key: its metadata plus the key, which the API never shows again. */
export interface CreatedKey extends ApiKey {
  key: string;
}

export interface ListKeysResponse {
  items: ApiKey[];
}

/** The body of `POST /v1/teams`. */
export interface PutTeamRequest {
  /** Lowercase letters, digits, `-` or `_`. */
  name: string;
  /** Email addresses. */
  members: string[];
  slack_channel?: string | null;
}

/** A team: `team:<name>` in reviewers or escalations means every member. */
export interface Team {
  name: string;
  members: string[];
  slack_channel: string | null;
  updated_at: string;
}

export interface ListTeamsResponse {
  items: Team[];
}

export type Weekday = 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat' | 'sun';

/** A reviewer's absence: their notices go to `delegate`, who may decide in their place. */
export interface OutOfOffice {
  /** RFC 3339. */
  from: string;
  /** RFC 3339, after `from`. */
  until: string;
  delegate: string;
}

/**
 * A reviewer's availability. Working hours are `HH:MM-HH:MM` ranges per weekday in
 * `time_zone` (an IANA name); an end before the start runs past midnight; none at all means
 * always available. Reminders outside them wait; first notices and escalations do not.
 */
export interface ReviewerProfile {
  email: string;
  time_zone: string;
  working_hours: Partial<Record<Weekday, string[]>> | null;
  out_of_office: OutOfOffice | null;
  /** Null for a reviewer who never set a profile. */
  updated_at: string | null;
  updated_by: string | null;
}

/** The body of `PUT /v1/reviewers/{email}`: fields left out keep their stored value. */
export interface PutReviewerProfileRequest {
  time_zone?: string;
  working_hours?: Partial<Record<Weekday, string[]>> | null;
  out_of_office?: OutOfOffice | null;
}

export interface ListReviewerProfilesResponse {
  items: ReviewerProfile[];
}

/** One condition of a rule: a JSON Pointer into the payload, an operator and a value. */
export interface RuleCondition {
  pointer: string;
  op: 'eq' | 'ne' | 'lt' | 'lte' | 'gt' | 'gte' | 'in' | 'not_in' | 'exists';
  value?: unknown;
}

/** An operator's rule: the first whose every condition holds decides at create. */
export interface PolicyRule {
  name: string;
  effect: 'approve' | 'reject';
  when: RuleCondition[];
}

/** An operator policy as an admin writes it (every field optional). */
export interface OperatorPolicy extends PolicyInput {
  reviewers?: string[];
  allow_request_reviewers?: { domains?: string[]; principals?: string[]; teams?: string[] };
  payload_reviewer_fallback?: boolean;
  allow_timeout_approve?: boolean;
  rules?: PolicyRule[];
}

/** A policy as stored: the admin's document with its pattern and version. */
export interface StoredPolicy extends OperatorPolicy {
  intent_type: string;
  version: number;
  updated_at: string;
  updated_by: string;
}

export interface ListPoliciesResponse {
  items: (StoredPolicy & { source: 'api' })[];
  /** Patterns set by the deployment's configuration that no stored policy replaces. */
  configured: { intent_type: string; source: 'config' }[];
}

export interface PolicyDryRunRequest {
  intent_type: string;
  policy: OperatorPolicy;
  /** How many of the most recent intents of that type, 1 to 500 (default 100). */
  limit?: number;
}

export interface PolicyDryRunResponse {
  items: {
    id: string;
    created_at: string;
    would: 'approve' | 'reject' | 'ask';
    rule: string | null;
  }[];
  summary: { total: number; approve: number; reject: number; ask: number };
}

/** `GET /healthz`; with `?ready=1`, also `ready` once the parts the API needs answer. */
export interface HealthResponse {
  ok: boolean;
  ready?: boolean;
}

/** The error codes this version of the contract defines. */
export type KnownErrorCode =
  | 'invalid_request'
  | 'validation_failed'
  | 'unauthenticated'
  | 'forbidden'
  | 'not_a_reviewer'
  | 'not_found'
  | 'already_decided'
  | 'already_voted'
  | 'idempotency_conflict'
  | 'not_pending'
  /**
   * A vote from a button or form shown for a chain step that is over. Only the channels that
   * bind votes to a step (Slack, the review page) answer it; the API never does.
   */
  | 'step_over'
  /** A request asks for something the operator's policy does not allow (403). */
  | 'policy_violation'
  | 'payload_too_large'
  /** Over a key's hourly quota, with `Retry-After`. */
  | 'rate_limited'
  /** A part the API needs does not answer (readiness, a local restart), with `Retry-After`. */
  | 'unavailable'
  /** A fault; never with its text. */
  | 'internal';

/** The error codes of the contract. The union is open for codes added later. */
export type ApiErrorCode = KnownErrorCode | (string & {});

/** One problem with a request, naming the field. */
export interface ErrorDetail {
  field: string;
  message: string;
}

/** Every non-2xx response of the API (the server sends only {@link KnownErrorCode}s). */
export interface ErrorBody<Code extends string = ApiErrorCode> {
  error: {
    code: Code;
    message: string;
    details: ErrorDetail[];
    /** The current intent, on errors about an existing intent (the 409s). */
    intent?: Intent;
  };
}
