import { applyEdits, type Edits } from './edits';

/** The intent as the contract shows it, plus the internal fields that drive the workflow. */
export const INTENT_STATUSES = [
  'pending',
  'approved',
  'rejected',
  'timed_out',
  'cancelled',
] as const;
export type IntentStatus = (typeof INTENT_STATUSES)[number];

export const NOTIFICATION_CHANNELS = ['email', 'slack', 'webhook'] as const;
export type NotificationChannel = (typeof NOTIFICATION_CHANNELS)[number];

/** Where a decision came from. `web` is the local console; `timeout` the deadline; `rule` an operator's rule. */
export type DecisionChannel = 'email' | 'slack' | 'cli' | 'api' | 'web' | 'timeout' | 'rule';

export type TimeoutAction = 'reject' | 'approve';

export interface ResolvedStep {
  reviewers: string[];
  required_approvals: number;
}

/** Every duration in whole seconds, so the resolved policy is itself a valid request policy. */
export interface ResolvedPolicy {
  remind_after: number[];
  escalate: { after: number; to: string[] }[];
  timeout: { after: number; action: TimeoutAction };
  required_approvals: number;
  steps: ResolvedStep[] | null;
  channels: NotificationChannel[];
  /**
   * Reminders wait for each recipient's working hours (`domain/availability.ts`). Absent on
   * intents stored before reviewer availability: read as true.
   */
  remind_in_working_hours?: boolean;
}

export interface Approval {
  by: string;
  at: string;
  comment: string | null;
  channel: DecisionChannel;
  step: number;
  /** The version of the payload approved (see `payload_version`); absent means 0, as asked. */
  payload_version?: number;
  /** The recipient a delegate approved for, while they were out of office. */
  on_behalf_of?: string;
}

export interface Decision {
  outcome: 'approved' | 'rejected' | 'cancelled';
  by: string;
  at: string;
  comment: string | null;
  channel: DecisionChannel;
  /** On an approval: the values reviewers changed, by JSON Pointer (`{}` where nobody edited). */
  edits?: Edits;
  /** The recipient a delegate decided for, while they were out of office. */
  on_behalf_of?: string;
}

/** A recipient's notices of one step went to their delegate, who may decide in their place. */
export interface Delegation {
  step: number;
  delegate: string;
  on_behalf_of: string;
  /** The delegate was added to the recipients for it (not asked in their own right). */
  added: boolean;
}

/** What the API returns. */
export interface IntentView {
  id: string;
  intent_type: string;
  to_agent: string;
  from_agent: string;
  summary: string;
  payload: Record<string, unknown>;
  status: IntentStatus;
  policy: ResolvedPolicy;
  recipients: string[];
  approvals: Approval[];
  decision: Decision | null;
  callback_url: string | null;
  step: number;
  created_at: string;
  updated_at: string;
  deadline_at: string;
  next_action_at: string | null;
  event_count: number;
  last_event_hash: string;
  /**
   * The signed receipt (a compact JWS of `domain/receipts.ts`'s claims), stored with the final
   * transition. Absent while pending, and on intents decided before receipts were signed.
   */
  receipt?: string;
  /**
   * Reviewers the agent's request named that the operator's policy did not (it admitted them):
   * every message to reviewers says so. Absent on intents created before operator policies.
   */
  added_by_request?: string[];
  /** JSON Pointers into the payload that reviewers may change before approving (`domain/edits.ts`). */
  editable?: string[];
  /**
   * The values reviewers changed so far, relative to `payload` (which stays as asked). While
   * pending they make the version later approvers see; see `approved_payload` once approved.
   */
  edits?: Edits;
  /** How many times reviewers changed the payload: approvals count for the version they saw. */
  payload_version?: number;
  /** The payload as approved (edits applied): null until approved. Computed, never stored. */
  approved_payload?: Record<string, unknown> | null;
}

/**
 * The stored intent: the view plus what the workflow needs. `version` increases with every
 * change and guards every write (optimistic concurrency), so a decision, a stage change and a
 * timeout can never overwrite each other.
 */
export interface IntentState extends IntentView {
  version: number;
  /**
   * The current step's own reviewers (emails and `team:<name>` targets), before escalations and
   * team expansion; `recipients` is what they expand to at the current stage.
   */
  asked: string[];
  /** When the current step's first notification was due: reminders and escalations count from it. */
  step_started_at: string;
  /** The last stage of the current step whose notifications were recorded; -1 before the first. */
  stage_index: number;
  /** The task token of the stage the state machine waits on now. Never leaves the backend. */
  task_token: string | null;
  /**
   * Notifications of the current stage not yet confirmed sent. Written with the stage and
   * removed one by one as each is sent, so a crash between the two re-sends (at least once)
   * instead of losing a notification.
   */
  pending_notifications: PendingNotification[];
  /** Reviewers who opened their review page; `viewed` is recorded once per reviewer. */
  viewed_by: string[];
  /**
   * The messages the workflow delivered (not `decided` notices): one entry per email address
   * and per posted Slack message, so that the final outcome can be told to each of them and
   * every button rewritten. Kept on the intent, not read from the trail, so that it changes in
   * the same conditional write as the intent's status. Absent means none.
   */
  sent_messages?: SentMessage[];
  /**
   * The `decided` notices queued so far (`email:<to>`, `slack:<message id>`): each is queued
   * once, also when a stage still sending at the decision settles later. Absent means none.
   */
  decided_notices?: string[];
  /**
   * The API key that created the intent, with its notifications quota at the time: the stage
   * task counts the notices it sends against that key. Absent on intents stored before keys had
   * quotas: their notices are not limited.
   */
  creator_key?: { id: string; notifications_per_hour: number | null };
  /**
   * While the state machine holds a stage's reminders in its Wait state: until when, and the
   * execution that waits (`domain/reminder-holds.ts`). Absent or null otherwise.
   */
  held_until?: string | null;
  held_by?: string | null;
  /** Executions released from a hold by a decision: each stops when its Wait ends. */
  superseded_executions?: { name: string; until: string }[];
  /** The execution started to take over from the last one released (the reconciler checks it). */
  successor_execution?: string | null;
  /** Reminders of the current stage waiting for their recipient's working hours. */
  held_reminders?: { to: string; at: string }[];
  /** Who decides for whom while out of office (`domain/reminder-holds.ts`). Absent: nobody. */
  delegations?: Delegation[];
}

export interface SentMessage {
  channel: 'email' | 'slack';
  to: string;
  /** SES's message id, or a Slack message as `slack:<channel>:<ts>`. */
  message_id: string;
}

export interface PendingNotification {
  to: string;
  kind: 'notify' | 'remind' | 'escalate' | 'decided';
  channel: NotificationChannel;
  /** A `decided` notice on Slack updates this posted message (`slack:<channel>:<ts>`). */
  message_id?: string;
}

export const INTERNAL_FIELDS = [
  'version',
  'asked',
  'step_started_at',
  'stage_index',
  'task_token',
] as const;

export function toView(state: IntentState): IntentView {
  const {
    version: _version,
    asked: _asked,
    step_started_at: _stepStartedAt,
    stage_index: _stageIndex,
    task_token: _taskToken,
    pending_notifications: _pendingNotifications,
    viewed_by: _viewedBy,
    sent_messages: _sentMessages,
    decided_notices: _decidedNotices,
    creator_key: _creatorKey,
    held_until: _heldUntil,
    held_by: _heldBy,
    superseded_executions: _superseded,
    successor_execution: _successor,
    held_reminders: _heldReminders,
    delegations: _delegations,
    ...view
  } = state;
  return {
    ...view,
    editable: state.editable ?? [],
    edits: editsOf(state),
    payload_version: state.payload_version ?? 0,
    approved_payload: state.decision?.outcome === 'approved' ? currentPayload(state) : null,
  };
}

/** The edits so far (none on intents stored before reviewers could edit). */
export function editsOf(intent: Pick<IntentView, 'edits'>): Edits {
  return intent.edits ?? {};
}

/** The payload as reviewers see it now: as asked, with the edits so far. */
export function currentPayload(
  intent: Pick<IntentView, 'payload' | 'edits'>,
): Record<string, unknown> {
  return applyEdits(intent.payload, editsOf(intent));
}

export function isFinal(status: IntentStatus): boolean {
  return status !== 'pending';
}
