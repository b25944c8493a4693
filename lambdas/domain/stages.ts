import type { AuditEventDraft } from './audit';
import type { Transition } from './decisions';
import { DomainError } from './errors';
import {
  type IntentState,
  type PendingNotification,
  type RequestKind,
  type ResolvedPolicy,
  type SentMessage,
  toView,
} from './intent';
import {
  HOLD_SLACK_MS,
  nextHeldReminder,
  noticeTarget,
  type Profiles,
  planReminderHold,
  splitReminders,
} from './reminder-holds';

/**
 * The stage plan of one step: the first notification, then reminders and escalations at
 * absolute times measured from the step's start, all strictly before the deadline. Entries due
 * at the same moment share one stage, so one pause of the state machine covers them.
 */
export interface Stage {
  index: number;
  at: number;
  kinds: RequestKind[];
  /** Recipients this stage adds (escalation). */
  adds: string[];
}

export function planStages(
  policy: ResolvedPolicy,
  stepStartedAt: number,
  deadlineAt: number,
): Stage[] {
  const entries: { at: number; kind: RequestKind; adds: string[] }[] = [
    { at: stepStartedAt, kind: 'notify', adds: [] },
    ...policy.remind_after.map((after) => ({
      at: stepStartedAt + after * 1000,
      kind: 'remind' as const,
      adds: [],
    })),
    ...policy.escalate.map((entry) => ({
      at: stepStartedAt + entry.after * 1000,
      kind: 'escalate' as const,
      adds: entry.to,
    })),
  ];
  const stages: Stage[] = [];
  for (const entry of entries
    .filter((e) => e.kind === 'notify' || e.at < deadlineAt)
    .sort((a, b) => a.at - b.at)) {
    const last = stages.at(-1);
    if (last && last.at === entry.at) {
      if (!last.kinds.includes(entry.kind)) last.kinds.push(entry.kind);
      last.adds.push(...entry.adds.filter((a) => !last.adds.includes(a)));
    } else {
      stages.push({
        index: stages.length,
        at: entry.at,
        kinds: [entry.kind],
        adds: [...entry.adds],
      });
    }
  }
  return stages;
}

/** Everyone asked once stage `index` is reached: the step's reviewers plus every escalation so far. */
export function askedAtStage(stepReviewers: string[], stages: Stage[], index: number): string[] {
  const asked = [...stepReviewers];
  for (const stage of stages.slice(0, index + 1)) {
    for (const add of stage.adds) if (!asked.includes(add)) asked.push(add);
  }
  return asked;
}

export type NextAction =
  | { action: 'finish' }
  | { action: 'timeout' }
  | { action: 'await'; step: number; stage: number; timeout_seconds: number; next_at: number }
  | { action: 'hold'; step: number; stage: number; until: number; recipients: string[] };

/**
 * What the state machine does next, from the stored intent and the clock alone. The current
 * stage is the latest one already due, so stages missed while nothing ran (a crash, a long
 * outage) are skipped rather than replayed, while their escalations still count. The pause
 * lasts until the next stage or the deadline (or a reminder of this stage held for working
 * hours), rounded up to whole seconds as Step Functions requires. With the recipients'
 * `profiles`, a reminder stage whose recipients are all outside their working hours is held
 * (`domain/reminder-holds.ts`).
 */
export function nextAction(intent: IntentState, now: number, profiles?: Profiles): NextAction {
  if (intent.status !== 'pending') return { action: 'finish' };
  const deadline = Date.parse(intent.deadline_at);
  if (now >= deadline) return { action: 'timeout' };
  const stages = planStages(intent.policy, stageClockStart(intent, now), deadline);
  let current = 0;
  for (const stage of stages) if (stage.at <= now) current = stage.index;
  const stageEnds = stages[current + 1]?.at ?? deadline;
  const currentStage = stages[current];
  const hold =
    profiles && currentStage
      ? planReminderHold(intent, currentStage, now, stageEnds, profiles)
      : null;
  if (hold) {
    return { action: 'hold', step: intent.step, stage: current, ...hold };
  }
  const held = current === intent.stage_index ? nextHeldReminder(intent) : null;
  const nextAt = held !== null && held < stageEnds ? Math.max(held, now) : stageEnds;
  return {
    action: 'await',
    step: intent.step,
    stage: current,
    timeout_seconds: Math.max(1, Math.ceil((nextAt - now) / 1000)),
    next_at: nextAt,
  };
}

/**
 * Reminders and escalations count from the step's first notification (the contract), not from
 * its creation: a first notice delayed by an outage still gets its reminders at the planned
 * distances. Until the first notice goes out, the clock starts now.
 */
export function stageClockStart(intent: IntentState, now: number): number {
  return intent.stage_index < 0 ? now : Date.parse(intent.step_started_at);
}

/**
 * When the workflow must next act on a pending intent: at once while a stage's notifications
 * wait to be sent or no stage holds a token (between stages, before the first), else at the
 * next planned moment (a reminder, an escalation, the deadline). An intent whose moment has
 * passed by more than the reconciler's grace has no execution moving it on.
 */
export function workflowDueAt(intent: Omit<IntentState, 'payload'>): string {
  if (intent.task_token === null || intent.pending_notifications.length > 0) {
    return intent.updated_at;
  }
  return intent.next_action_at ?? intent.updated_at;
}

/**
 * The most people asked in one step (its reviewers, escalations and teams expanded, counted
 * once each). Every one of them gets a notice per channel at each reminder, so this bounds a
 * stage's notices (and the intent item that lists them); they are recorded a few at a time
 * (`core/stage-runner.ts`), so the bound is not DynamoDB's 100 items per transaction. People
 * past it (big teams, many escalations) are not notified: one `notification_failed` event with
 * `error: "recipient_limit"` says how many, and lists the first `NOT_REACHED_LISTED`.
 */
export const MAX_RECIPIENTS_PER_STEP = 200;
const NOT_REACHED_LISTED = 20;

/**
 * Records that the state machine entered a stage and now waits on `token`. A stage entered for
 * the first time gets its reminder/escalation events and the list of notifications to send; a
 * stage entered again (a retried task, a re-plan within the same stage) only swaps the token,
 * so nobody is notified twice by the workflow itself, and sends the reminders held for working
 * hours that are due by now. With `profiles`, reminders wait for each recipient's working
 * hours and every notice to someone out of office goes to their delegate
 * (`domain/reminder-holds.ts`).
 */
export function enterStage(
  intent: IntentState,
  entry: {
    step: number;
    stage: Stage;
    /** Everyone asked at this stage, teams expanded to their members. */
    recipients: string[];
    token: string;
    at: string;
    nextAt: number;
    profiles?: Profiles;
  },
): Transition {
  if (intent.status !== 'pending' || intent.step !== entry.step) {
    throw new DomainError('not_pending', 'The intent moved on before this stage began.', {
      intent: toView(intent),
    });
  }
  const profiles: Profiles = entry.profiles ?? new Map();
  const atMs = Date.parse(entry.at);
  const base = { at: entry.at, actor: 'countersign', channel: 'workflow' };
  if (entry.stage.index <= intent.stage_index) {
    const held = intent.held_reminders ?? [];
    const due = held.filter((h) => Date.parse(h.at) <= atMs + HOLD_SLACK_MS);
    if (due.length === 0) {
      return { intent: { ...intent, task_token: entry.token }, events: [], signal: false };
    }
    const rest = held.filter((h) => !due.includes(h));
    const routed = routeNotices(
      intent,
      due.map((h) => ({ to: h.to, kind: 'remind' as const })),
      profiles,
      atMs,
      entry,
    );
    return {
      intent: {
        ...intent,
        ...routed.delegated,
        task_token: entry.token,
        held_reminders: rest,
        next_action_at: new Date(
          Math.min(entry.nextAt, ...rest.map((h) => Date.parse(h.at))),
        ).toISOString(),
        updated_at: entry.at,
        pending_notifications: [...intent.pending_notifications, ...routed.notifications],
      },
      events: [
        {
          ...base,
          type: 'reminded',
          data: { step: entry.step, stage: entry.stage.index, to: due.map((h) => h.to) },
        },
        ...routed.events,
      ],
      signal: false,
    };
  }
  const previous = new Set(intent.recipients);
  const asked = entry.recipients.filter((r) => !previous.has(r));
  const room = Math.max(0, MAX_RECIPIENTS_PER_STEP - intent.recipients.length);
  const added = asked.slice(0, room);
  const notReached = asked.slice(room);
  const recipients = [...intent.recipients, ...added];
  const firstContact = intent.stage_index < 0;
  const reminds = !firstContact && entry.stage.kinds.includes('remind');
  const split = reminds
    ? splitReminders(intent, intent.recipients, profiles, atMs, entry.nextAt)
    : { now: [], held: [] };
  const sends: { to: string; kind: RequestKind }[] = firstContact
    ? recipients.map((to) => ({ to, kind: 'notify' }))
    : [
        ...split.now.map((to) => ({ to, kind: 'remind' as const })),
        ...added.map((to) => ({ to, kind: 'escalate' as const })),
      ];
  const routed = routeNotices({ ...intent, recipients }, sends, profiles, atMs, entry);
  const events: AuditEventDraft[] = [];
  if (reminds) {
    events.push({
      ...base,
      type: 'reminded',
      data: {
        step: entry.step,
        stage: entry.stage.index,
        ...(split.held.length > 0
          ? { held: split.held.map((h) => ({ to: h.to, until: h.at })) }
          : {}),
      },
    });
  }
  if (added.length > 0 && !firstContact) {
    events.push({
      ...base,
      type: 'escalated',
      data: { step: entry.step, stage: entry.stage.index, added },
    });
  }
  if (notReached.length > 0) {
    events.push({
      ...base,
      type: 'notification_failed',
      data: {
        step: entry.step,
        stage: entry.stage.index,
        kind: firstContact ? 'notify' : 'escalate',
        error: 'recipient_limit',
        message: `At most ${MAX_RECIPIENTS_PER_STEP} people are asked per step; ${notReached.length} more were not notified and cannot decide.`,
        not_notified_count: notReached.length,
        not_notified: notReached.slice(0, NOT_REACHED_LISTED),
      },
    });
  }
  events.push(...routed.events);
  return {
    intent: {
      ...intent,
      // The recipients, with any delegate their notices went to.
      ...routed.delegated,
      ...(firstContact ? { step_started_at: entry.at } : {}),
      stage_index: entry.stage.index,
      task_token: entry.token,
      next_action_at: new Date(
        Math.min(entry.nextAt, ...split.held.map((h) => Date.parse(h.at))),
      ).toISOString(),
      updated_at: entry.at,
      pending_notifications: routed.notifications,
      held_reminders: split.held,
      held_until: null,
      held_by: null,
    },
    events,
    signal: false,
  };
}

/**
 * The notifications of `sends` on each of the intent's people channels, each sent to whoever
 * receives the recipient's notices now (a delegate while they are out of office, with a
 * `delegated` event saying so), one per person and kind. A delegate becomes a recipient (so
 * that they see the intent and may decide, in the recipient's place) and the delegation is
 * recorded for the step: `delegated` is what the intent gains.
 */
function routeNotices(
  intent: IntentState,
  sends: { to: string; kind: 'notify' | 'remind' | 'escalate' }[],
  profiles: Profiles,
  at: number,
  entry: { step: number; stage: Stage; at: string },
): {
  notifications: PendingNotification[];
  events: AuditEventDraft[];
  delegated: Pick<IntentState, 'recipients' | 'delegations'>;
} {
  const seen = new Set<string>();
  const routed: { to: string; kind: 'notify' | 'remind' | 'escalate' }[] = [];
  const events: AuditEventDraft[] = [];
  const recipients = [...intent.recipients];
  const delegations = [...(intent.delegations ?? [])];
  for (const send of sends) {
    const target = noticeTarget(send.to, profiles, at, intent.from_agent, intent);
    if (target !== send.to) {
      const known = delegations.some(
        (d) => d.step === entry.step && d.delegate === target && d.on_behalf_of === send.to,
      );
      if (!known) {
        delegations.push({
          step: entry.step,
          delegate: target,
          on_behalf_of: send.to,
          added: !recipients.includes(target),
        });
      }
      if (!recipients.includes(target)) recipients.push(target);
      events.push({
        type: 'delegated',
        at: entry.at,
        actor: 'countersign',
        channel: 'workflow',
        data: {
          step: entry.step,
          stage: entry.stage.index,
          kind: send.kind,
          on_behalf_of: send.to,
          to: target,
        },
      });
    }
    const key = `${target}|${send.kind}`;
    if (seen.has(key)) continue;
    seen.add(key);
    routed.push({ to: target, kind: send.kind });
  }
  return {
    notifications: routed.flatMap((send) =>
      intent.policy.channels
        .filter((channel) => channel !== 'webhook')
        .map((channel) => ({ ...send, channel })),
    ),
    events,
    delegated: { recipients, delegations },
  };
}

/**
 * How the NotifyDecided task is retried: attempts in all (the last records what still fails as
 * `notification_failed`), and the pause before the first retry, doubling after. The second
 * retry (90 s after the first attempt) comes after Slack's outage pause (`OUTAGE_PAUSE_MS`,
 * 60 s) has run out.
 */
export const DECIDED_NOTICE_RETRY = { attempts: 3, intervalSeconds: 30, backoffRate: 2 } as const;

/**
 * Once an intent is final, tells everyone it reached: an email to each address it emailed
 * (except whoever decided, who already knows), and an update of each Slack message it posted, so
 * that no button is left that can no longer decide anything. Read from `sent_messages`, so the
 * reviewers of earlier chain steps and escalations are told too. Each notice is queued once
 * (`decided_notices`); calling this again queues only messages delivered since, which is how a
 * stage still sending when the decision landed gets its messages updated too.
 */
export function queueDecidedNotices(intent: IntentState): Transition {
  if (intent.status === 'pending') {
    throw new DomainError('not_pending', 'Decided notices wait for the final outcome.', {
      intent: toView(intent),
    });
  }
  const decider = intent.decision?.by;
  const queued = new Set(intent.decided_notices ?? []);
  const notices: PendingNotification[] = [];
  for (const message of intent.sent_messages ?? []) {
    if (message.channel === 'email' && message.to === decider) continue;
    const key = decidedNoticeKey(message);
    if (queued.has(key)) continue;
    queued.add(key);
    notices.push(
      message.channel === 'email'
        ? { to: message.to, kind: 'decided', channel: 'email' }
        : { to: message.to, kind: 'decided', channel: 'slack', message_id: message.message_id },
    );
  }
  if (notices.length === 0) return { intent, events: [], signal: false };
  return {
    intent: {
      ...intent,
      decided_notices: [...queued],
      pending_notifications: [...intent.pending_notifications, ...notices],
    },
    events: [],
    signal: false,
  };
}

/** One decided email per address, one update per posted Slack message. */
function decidedNoticeKey(message: SentMessage): string {
  return message.channel === 'email' ? `email:${message.to}` : `slack:${message.message_id}`;
}

/** Records several sent (or failed) notifications as one transition, in the given order. */
export function settleNotifications(
  intent: IntentState,
  settled: {
    notification: PendingNotification;
    outcome: { ok: true; messageId: string } | { ok: false; error: string; reason?: string };
  }[],
  at: string,
): Transition {
  let current = intent;
  const events: AuditEventDraft[] = [];
  for (const { notification, outcome } of settled) {
    const step = settleNotification(current, notification, outcome, at);
    current = step.intent;
    events.push(...step.events);
  }
  // A stage that was still sending when the intent ended: its messages get their decided
  // notice queued in this same write, so none is left with live buttons.
  if (current.status !== 'pending') current = queueDecidedNotices(current).intent;
  return { intent: current, events, signal: false };
}

function settleNotification(
  intent: IntentState,
  notification: PendingNotification,
  outcome: { ok: true; messageId: string } | { ok: false; error: string; reason?: string },
  at: string,
): Transition {
  const remaining = intent.pending_notifications.filter(
    (n) =>
      !(
        n.to === notification.to &&
        n.kind === notification.kind &&
        n.channel === notification.channel &&
        n.message_id === notification.message_id
      ),
  );
  if (remaining.length === intent.pending_notifications.length) {
    return { intent, events: [], signal: false };
  }
  const event: AuditEventDraft = outcome.ok
    ? {
        type: 'notified',
        at,
        actor: 'countersign',
        channel: notification.channel,
        data: { to: notification.to, kind: notification.kind, message_id: outcome.messageId },
      }
    : {
        type: 'notification_failed',
        at,
        actor: 'countersign',
        channel: notification.channel,
        data: {
          to: notification.to,
          kind: notification.kind,
          error: outcome.error,
          ...(outcome.reason ? { reason: outcome.reason } : {}),
        },
      };
  const sent = intent.sent_messages ?? [];
  // One entry per email address is enough (it gets one decided email); every Slack message
  // counts, since each has buttons of its own.
  const delivered =
    outcome.ok &&
    notification.kind !== 'decided' &&
    notification.channel !== 'webhook' &&
    !(
      notification.channel === 'email' &&
      sent.some((message) => message.channel === 'email' && message.to === notification.to)
    )
      ? [{ channel: notification.channel, to: notification.to, message_id: outcome.messageId }]
      : [];
  return {
    intent: {
      ...intent,
      pending_notifications: remaining,
      ...(delivered.length > 0 ? { sent_messages: [...sent, ...delivered] } : {}),
    },
    events: [event],
    signal: false,
  };
}
