import type { AuditEventDraft } from './audit';
import type { Transition } from './decisions';
import { DomainError } from './errors';
import { type IntentState, type PendingNotification, type ResolvedPolicy, toView } from './intent';

/**
 * The stage plan of one step: the first notification, then reminders and escalations at
 * absolute times measured from the step's start, all strictly before the deadline. Entries due
 * at the same moment share one stage, so one pause of the state machine covers them.
 */
export type StageKind = 'notify' | 'remind' | 'escalate';

export interface Stage {
  index: number;
  at: number;
  kinds: StageKind[];
  /** Recipients this stage adds (escalation). */
  adds: string[];
}

export function planStages(
  policy: ResolvedPolicy,
  stepStartedAt: number,
  deadlineAt: number,
): Stage[] {
  const entries: { at: number; kind: StageKind; adds: string[] }[] = [
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
  | { action: 'await'; step: number; stage: number; timeout_seconds: number; next_at: number };

/**
 * What the state machine does next, from the stored intent and the clock alone. The current
 * stage is the latest one already due, so stages missed while nothing ran (a crash, a long
 * outage) are skipped rather than replayed, while their escalations still count. The pause
 * lasts until the next stage or the deadline, rounded up to whole seconds as Step Functions
 * requires.
 */
export function nextAction(intent: IntentState, now: number): NextAction {
  if (intent.status !== 'pending') return { action: 'finish' };
  const deadline = Date.parse(intent.deadline_at);
  if (now >= deadline) return { action: 'timeout' };
  const stages = planStages(intent.policy, stageClockStart(intent, now), deadline);
  let current = 0;
  for (const stage of stages) if (stage.at <= now) current = stage.index;
  const nextAt = stages[current + 1]?.at ?? deadline;
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

/** The step's reviewers: the chain step's list, or the intent's first-asked list. */
export function stepReviewers(policy: ResolvedPolicy, step: number, initial: string[]): string[] {
  return policy.steps?.[step]?.reviewers ?? initial;
}

/**
 * Records that the state machine entered a stage and now waits on `token`. A stage entered for
 * the first time gets its reminder/escalation events and the list of notifications to send; a
 * stage entered again (a retried task, a re-plan within the same stage) only swaps the token,
 * so nobody is notified twice by the workflow itself.
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
  },
): Transition {
  if (intent.status !== 'pending' || intent.step !== entry.step) {
    throw new DomainError('not_pending', 'The intent moved on before this stage began.', {
      intent: toView(intent),
    });
  }
  if (entry.stage.index <= intent.stage_index) {
    return { intent: { ...intent, task_token: entry.token }, events: [], signal: false };
  }
  const previous = new Set(intent.recipients);
  const recipients = [...intent.recipients, ...entry.recipients.filter((r) => !previous.has(r))];
  const firstContact = intent.stage_index < 0;
  const added = recipients.filter((r) => !previous.has(r));
  const sends: { to: string; kind: 'notify' | 'remind' | 'escalate' }[] = firstContact
    ? recipients.map((to) => ({ to, kind: 'notify' }))
    : [
        ...(entry.stage.kinds.includes('remind')
          ? intent.recipients.map((to) => ({ to, kind: 'remind' as const }))
          : []),
        ...added.map((to) => ({ to, kind: 'escalate' as const })),
      ];
  const base = { at: entry.at, actor: 'countersign', channel: 'workflow' };
  const events: AuditEventDraft[] = [];
  if (!firstContact && entry.stage.kinds.includes('remind')) {
    events.push({
      ...base,
      type: 'reminded',
      data: { step: entry.step, stage: entry.stage.index },
    });
  }
  if (added.length > 0 && !firstContact) {
    events.push({
      ...base,
      type: 'escalated',
      data: { step: entry.step, stage: entry.stage.index, added },
    });
  }
  return {
    intent: {
      ...intent,
      recipients,
      ...(firstContact ? { step_started_at: entry.at } : {}),
      stage_index: entry.stage.index,
      task_token: entry.token,
      next_action_at: new Date(entry.nextAt).toISOString(),
      updated_at: entry.at,
      pending_notifications: sends.flatMap((send) =>
        intent.policy.channels
          .filter((channel) => channel !== 'webhook')
          .map((channel) => ({ ...send, channel })),
      ),
    },
    events,
    signal: false,
  };
}

/**
 * Once an intent is final, tells everyone it asked: an email to each address it emailed (except
 * whoever decided, who already knows), and an update of each Slack message it posted, so that no
 * button is left that can no longer decide anything. Read from the trail, so that the reviewers
 * of earlier chain steps and escalations are told too. Queued once (`final_notices_queued`);
 * notices of a stage still being sent stay queued beside them for that stage to settle.
 */
export function queueDecidedNotices(intent: IntentState, trail: AuditEventDraft[]): Transition {
  if (intent.status === 'pending') {
    throw new DomainError('not_pending', 'Decided notices wait for the final outcome.', {
      intent: toView(intent),
    });
  }
  if (intent.final_notices_queued) return { intent, events: [], signal: false };
  const decider = intent.decision?.by;
  const notices: PendingNotification[] = [];
  const seen = new Set<string>();
  for (const event of trail) {
    if (event.type !== 'notified') continue;
    const to = event.data.to;
    const messageId = event.data.message_id;
    if (typeof to !== 'string') continue;
    if (event.channel === 'email' && to !== decider && !seen.has(`email:${to}`)) {
      seen.add(`email:${to}`);
      notices.push({ to, kind: 'decided', channel: 'email' });
    }
    if (event.channel === 'slack' && typeof messageId === 'string' && !seen.has(messageId)) {
      seen.add(messageId);
      notices.push({ to, kind: 'decided', channel: 'slack', message_id: messageId });
    }
  }
  return {
    intent: {
      ...intent,
      final_notices_queued: true,
      pending_notifications: [...intent.pending_notifications, ...notices],
    },
    events: [],
    signal: false,
  };
}

/** Records several sent (or failed) notifications as one transition, in the given order. */
export function settleNotifications(
  intent: IntentState,
  settled: {
    notification: PendingNotification;
    outcome: { ok: true; messageId: string } | { ok: false; error: string };
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
  return { intent: current, events, signal: false };
}

export function settleNotification(
  intent: IntentState,
  notification: PendingNotification,
  outcome: { ok: true; messageId: string } | { ok: false; error: string },
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
        data: { to: notification.to, kind: notification.kind, error: outcome.error },
      };
  return {
    intent: { ...intent, pending_notifications: remaining },
    events: [event],
    signal: false,
  };
}
