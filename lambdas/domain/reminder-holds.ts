import type { AuditEventDraft } from './audit';
import { isOutOfOffice, nextWorkingMoment, type ReviewerProfile } from './availability';
import type { Transition } from './decisions';
import type { IntentState } from './intent';
import { remindsInWorkingHours } from './policy';
import { samePrincipal } from './principals';
import type { Stage } from './stages';

/**
 * Reminders that wait for working hours, and notices that go to a delegate. First notices and
 * escalations go out at once; only reminders wait. When a reminder stage falls due and nobody
 * it would remind is within their working hours, the state machine holds the whole stage in a
 * Wait state (`TimestampPath`) until the first of them starts work (`planReminderHold`); it
 * records the hold on the intent, so that a decision meanwhile can hand the intent to a new
 * execution at once (`releaseHold`). When the stage is entered, each recipient still outside
 * their hours has their reminder held on the intent (`held_reminders`) until their own next
 * working moment, which the stage's pause then ends at. A held reminder still waiting when the
 * next stage falls due is dropped: that stage brings its own notices.
 */

/** Profiles by lower-cased email; a reviewer without one is always available and never away. */
export type Profiles = ReadonlyMap<string, ReviewerProfile>;

/**
 * A reminder due less than this before its recipient's working hours start goes out with the
 * rest: clocks of the machine and the functions differ by milliseconds, not by a second.
 */
export const HOLD_SLACK_MS = 1000;

/**
 * Who receives a notice meant for `recipient` at `at`: their delegate while they are out of
 * office. One level only: a delegate who is away too still gets it (no chains, no loops), and
 * never the intent's creator, who may not decide it: then the recipient keeps it.
 */
export function noticeTarget(
  recipient: string,
  profiles: Profiles,
  at: number,
  creator: string,
  intent?: Pick<IntentState, 'step' | 'delegations'>,
): string {
  // A delegate's own notices never pass on to their delegate: one level only.
  if (intent && isAddedDelegate(intent, recipient)) return recipient;
  const profile = profiles.get(recipient);
  if (!profile || !isOutOfOffice(profile, at)) return recipient;
  const delegate = profile.out_of_office?.delegate ?? recipient;
  return samePrincipal(delegate, creator) ? recipient : delegate;
}

/**
 * The recipient a vote by `voter` is cast for: the one whose notices went to them as delegate
 * in this step (the first who has not voted yet), or null when they vote for themselves (a
 * delegate asked in their own right too votes as themselves: each person counts once).
 */
export function delegatedVoteFor(
  intent: Pick<IntentState, 'step' | 'delegations' | 'approvals'>,
  voter: string,
): string | null {
  const mine = (intent.delegations ?? []).filter(
    (d) => d.step === intent.step && d.delegate === voter && d.added,
  );
  const open = mine.find(
    (d) =>
      !intent.approvals.some(
        (a) =>
          a.step === intent.step && (a.by === d.on_behalf_of || a.on_behalf_of === d.on_behalf_of),
      ),
  );
  return (open ?? mine[0])?.on_behalf_of ?? null;
}

/** Whether `person` is a delegate added for someone else in this step (not asked themselves). */
export function isAddedDelegate(intent: Pick<IntentState, 'step' | 'delegations'>, person: string) {
  return (intent.delegations ?? []).some(
    (d) => d.step === intent.step && d.delegate === person && d.added,
  );
}

/** When the person who gets `recipient`'s reminder next works (`at` when reminders do not wait). */
export function reminderMoment(
  intent: Pick<IntentState, 'policy' | 'from_agent' | 'step' | 'delegations'>,
  recipient: string,
  profiles: Profiles,
  at: number,
): number {
  if (!remindsInWorkingHours(intent.policy)) return at;
  const target = noticeTarget(recipient, profiles, at, intent.from_agent, intent);
  const profile = profiles.get(target);
  if (!profile) return at;
  const next = nextWorkingMoment(profile, at);
  return next - at < HOLD_SLACK_MS ? at : next;
}

export interface HoldPlan {
  /** When the Wait ends (ms): the first working moment, or the next stage, whichever comes first. */
  until: number;
  /** Who the held stage reminds. */
  recipients: string[];
}

/**
 * Whether stage `stage`, due now and not entered yet, must be held: it only reminds (no
 * escalation, not the first notice), reminders wait for working hours, and nobody it reminds
 * works now. The hold never outlasts the next stage (or the deadline), `nextAt`.
 */
export function planReminderHold(
  intent: IntentState,
  stage: Stage,
  now: number,
  nextAt: number,
  profiles: Profiles,
): HoldPlan | null {
  if (intent.stage_index < 0 || stage.index <= intent.stage_index) return null;
  if (stage.kinds.some((kind) => kind !== 'remind') || intent.recipients.length === 0) return null;
  const moments = intent.recipients.map((to) => reminderMoment(intent, to, profiles, now));
  const first = Math.min(...moments);
  if (first <= now) return null;
  return { until: Math.min(first, nextAt), recipients: [...intent.recipients] };
}

/**
 * Records that the state machine holds a stage's reminders until `until`, and which execution
 * waits (`held_by`), so that a decision meanwhile can hand the intent on (`releaseHold`). A
 * hold recorded already (the PlanStage task retried) changes nothing.
 */
export function holdReminders(
  intent: IntentState,
  hold: { step: number; stage: number; until: string; execution: string; recipients: string[] },
  at: string,
): Transition {
  if (
    intent.status !== 'pending' ||
    (intent.held_until === hold.until && intent.held_by === hold.execution)
  ) {
    return { intent, events: [], signal: false };
  }
  const event: AuditEventDraft = {
    type: 'reminder_held',
    at,
    actor: 'countersign',
    channel: 'workflow',
    data: { step: hold.step, stage: hold.stage, until: hold.until, to: hold.recipients },
  };
  return {
    intent: {
      ...intent,
      held_until: hold.until,
      held_by: hold.execution,
      next_action_at: hold.until,
      updated_at: at,
    },
    events: [event],
    signal: false,
  };
}

/** Executions remembered as superseded, after the time they were held until. */
const SUPERSEDED_KEPT_MS = 24 * 3600_000;

/**
 * A transition that must wake the state machine (a decision, the end of a chain step, a
 * cancellation) while it holds reminders in a Wait, which no task token can end: the hold is
 * released and its execution marked superseded, so that when its Wait ends it stops without
 * doing anything, and the caller starts a new execution, which carries on at once. Returns
 * the intent unchanged when nothing is held.
 */
export function releaseHold(intent: IntentState, now: number): IntentState {
  if (!intent.held_until || !intent.held_by || Date.parse(intent.held_until) <= now) return intent;
  const kept = (intent.superseded_executions ?? []).filter(
    (entry) => Date.parse(entry.until) + SUPERSEDED_KEPT_MS > now,
  );
  return {
    ...intent,
    held_until: null,
    held_by: null,
    superseded_executions: [...kept, { name: intent.held_by, until: intent.held_until }],
    successor_execution: successorName(intent),
  };
}

/** Whether the named execution was superseded by `releaseHold` (it must stop when it wakes). */
export function isSuperseded(intent: IntentState, execution: string): boolean {
  return (intent.superseded_executions ?? []).some((entry) => entry.name === execution);
}

/**
 * The name of the execution that takes over from one released from its hold: unique, since
 * each version of the intent is written once, and within Step Functions' 80 characters.
 */
export function successorName(intent: Pick<IntentState, 'id' | 'version'>): string {
  return `${intent.id}-h${intent.version}`;
}

/**
 * The reminders of a stage being entered at `at`: those whose recipient works now go out, the
 * others are held until their own working moment if that comes before `nextAt` (the next
 * stage), else dropped.
 */
export function splitReminders(
  intent: IntentState,
  reminded: string[],
  profiles: Profiles,
  at: number,
  nextAt: number,
): { now: string[]; held: { to: string; at: string }[] } {
  const now: string[] = [];
  const held: { to: string; at: string }[] = [];
  for (const to of reminded) {
    const moment = reminderMoment(intent, to, profiles, at);
    if (moment <= at) now.push(to);
    else if (moment < nextAt) held.push({ to, at: new Date(moment).toISOString() });
  }
  return { now, held };
}

/** The earliest held reminder of the current stage (ms), if any. */
export function nextHeldReminder(intent: IntentState): number | null {
  const held = intent.held_reminders ?? [];
  return held.length === 0 ? null : Math.min(...held.map((entry) => Date.parse(entry.at)));
}
