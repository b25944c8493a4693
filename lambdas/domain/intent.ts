/**
 * The intent: the contract's view of it (the types of `sdk/src/types.ts`, shared with the SDK
 * and the console), plus the internal fields that drive the workflow.
 */
import type {
  Edits,
  IntentStatus,
  Intent as IntentView,
  NotificationChannel,
  NotificationKind,
} from '../../sdk/src/types';
import { applyEdits } from './edits';

export type {
  Approval,
  Decision,
  DecisionChannel,
  Intent as IntentView,
  IntentStatus,
  NotificationChannel,
  NotificationKind,
  ResolvedPolicy,
  ResolvedStep,
  TimeoutAction,
} from '../../sdk/src/types';

/** The kinds of notice that ask for a decision; `decided` reports one. */
export type RequestKind = Exclude<NotificationKind, 'decided' | 'sign_in'>;

export const INTENT_STATUSES = [
  'pending',
  'approved',
  'rejected',
  'timed_out',
  'cancelled',
] as const satisfies readonly IntentStatus[];

export const NOTIFICATION_CHANNELS = [
  'email',
  'slack',
  'webhook',
] as const satisfies readonly NotificationChannel[];

/** A recipient's notices of one step went to their delegate, who may decide in their place. */
export interface Delegation {
  step: number;
  delegate: string;
  on_behalf_of: string;
  /** The delegate was added to the recipients for it (not asked in their own right). */
  added: boolean;
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
  /** Notices about an intent: never a sign-in link. */
  kind: Exclude<NotificationKind, 'sign_in'>;
  channel: NotificationChannel;
  /** A `decided` notice on Slack updates this posted message (`slack:<channel>:<ts>`). */
  message_id?: string;
}

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
