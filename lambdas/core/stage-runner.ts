import { applyTimeout } from '../domain/decisions';
import { DomainError } from '../domain/errors';
import { type IntentState, type PendingNotification, toView } from '../domain/intent';
import { renderDecidedMessage, renderMessage } from '../domain/messages';
import { isTeamRef } from '../domain/policy';
import { holdReminders, isSuperseded, type Profiles } from '../domain/reminder-holds';
import { signReviewLink } from '../domain/review-link';
import {
  askedAtStage,
  DECIDED_NOTICE_RETRY,
  enterStage,
  nextAction,
  planStages,
  queueDecidedNotices,
  settleNotifications,
  stageClockStart,
} from '../domain/stages';
import {
  type Clock,
  EmailSendError,
  type EmailSender,
  type IntentRepository,
  type ReviewerProfileRepository,
  type Signer,
  type TeamRepository,
  type UsageMeter,
  type Workflow,
} from './ports';
import { notificationQuotaRefusal } from './quotas';
import { loadProfiles } from './reviewer-profiles';
import type { NotificationOutcome, SlackNotifier } from './slack-notify';
import { transitionIntent } from './transitions';

export interface StageRunnerDeps {
  intents: IntentRepository;
  teams: TeamRepository;
  workflow: Workflow;
  clock: Clock;
  email: EmailSender;
  /** Present when the deployment has Slack configured (a bot token). */
  slack?: SlackNotifier;
  publicBaseUrl: string;
  linkSigningSecret: string;
  /** Counts notices against the creating key's quota (`core/quotas.ts`). */
  usage?: UsageMeter;
  /** Reviewer profiles: reminders wait for working hours, notices go to delegates. */
  profiles?: ReviewerProfileRepository;
}

/**
 * PlanStage reads the intent, the clock and the recipients' profiles, and writes the timeout
 * (and its receipt) or a reminder hold; it sends nothing.
 */
export type PlanStageDeps = Pick<StageRunnerDeps, 'intents' | 'clock' | 'profiles'> & {
  signer: Signer;
};

/**
 * What the PlanStage task returns to the state machine (its Choice reads `action`): `await` a
 * decision in a stage, `hold` the stage's reminders in the Wait state until `hold_until`,
 * `finish`, or `stop` (an execution superseded during its hold: another one carries on).
 * Every field is always present (null when unused): the state machine's ResultSelector reads
 * them all.
 */
export interface PlanResult {
  action: 'finish' | 'await' | 'hold' | 'stop';
  status: string;
  step: number | null;
  stage: number | null;
  timeout_seconds: number | null;
  /** RFC 3339, for the Wait state's TimestampPath. */
  hold_until: string | null;
  /** True when the machine must deliver the signed callback before it ends (a final intent with a callback_url). */
  callback: boolean;
}

/** The plan that ends the execution: the intent is final (`status`). */
export const finish = (status: string, callback: boolean): PlanResult => ({
  action: 'finish',
  status,
  step: null,
  stage: null,
  timeout_seconds: null,
  hold_until: null,
  callback,
});

/**
 * Decides the machine's next move from the stored intent, the clock and the recipients'
 * availability: finish, record the timeout, hold a reminder stage until working hours (the
 * hold is recorded on the intent, with the execution's name), or pause on the current stage
 * until the next planned moment. `execution` is the name of the asking execution: one that a
 * decision superseded during its hold stops (`domain/reminder-holds.ts`).
 */
export async function planNextStage(
  deps: PlanStageDeps,
  intentId: string,
  execution?: string,
): Promise<PlanResult> {
  const intent = await deps.intents.get(intentId);
  if (!intent) return finish('missing', false);
  if (execution && isSuperseded(intent, execution)) {
    return { ...finish(intent.status, false), action: 'stop' };
  }
  const hasCallback = intent.callback_url !== null;
  const now = deps.clock.now().getTime();
  let next = nextAction(intent, now);
  // Only a reminder stage about to begin can be held: its recipients' profiles are read then,
  // unless its hold just ended (the stage task reads them anyway, and holds whoever still does
  // not work: a reminder is sent the moment the window opens, not a read later).
  const holdEnded = intent.held_until != null && Date.parse(intent.held_until) <= now;
  if (
    next.action === 'await' &&
    next.stage > intent.stage_index &&
    intent.stage_index >= 0 &&
    !holdEnded
  ) {
    next = nextAction(intent, now, await loadProfiles(deps.profiles, intent.recipients, now));
  }
  if (next.action === 'hold') {
    const hold = next;
    const until = new Date(hold.until).toISOString();
    if (execution) {
      await transitionIntent(
        deps.intents,
        intentId,
        (current) =>
          holdReminders(
            current,
            { step: hold.step, stage: hold.stage, until, execution, recipients: hold.recipients },
            deps.clock.now().toISOString(),
          ),
        intent,
      );
    }
    return {
      action: 'hold',
      status: intent.status,
      step: hold.step,
      stage: hold.stage,
      timeout_seconds: null,
      hold_until: until,
      callback: false,
    };
  }
  if (next.action === 'await') {
    return {
      action: 'await',
      status: intent.status,
      step: next.step,
      stage: next.stage,
      timeout_seconds: next.timeout_seconds,
      hold_until: null,
      callback: false,
    };
  }
  if (next.action === 'timeout') {
    let final: IntentState;
    try {
      ({ after: final } = await transitionIntent(
        deps.intents,
        intentId,
        (current) => applyTimeout(current, deps.clock.now().toISOString()),
        intent,
        deps.signer,
      ));
    } catch (error) {
      // A decision landed first: it wins, the timeout changes nothing.
      if (!(error instanceof DomainError && error.code === 'already_decided')) throw error;
      final = (await deps.intents.get(intentId)) ?? intent;
    }
    return finish(final.status, hasCallback);
  }
  return finish(intent.status, hasCallback && intent.status !== 'pending');
}

/** How long NotifyDecided waits, within one attempt, for a stage still sending (they take seconds). */
const STAGE_WAIT = { totalMs: 15_000, pollMs: 250 };

/**
 * Some decided notices cannot go out yet (they failed for now, or a stage is still sending the
 * messages they would update): the task's Retry runs it again later.
 */
export class DecidedNoticesPendingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DecidedNoticesPendingError';
  }
}

/**
 * The NotifyDecided task, once the intent is final: tells everyone it reached
 * (`queueDecidedNotices`). It is the only sender of decided notices, so none goes out twice:
 * while a stage that began before the decision is still sending (its notices still pending),
 * it waits for the stage to record them (the stage's record then queues their decided notices
 * too), a few seconds here and then by throwing, so that Step Functions retries it; the
 * callback, which comes next, is held up by seconds, not by the retry's 30 s, in the usual
 * case of a reviewer who clicked the first message while the others went out. Notices that
 * failed in a way that may pass (Slack or SES unavailable, throttled) stay queued and it throws
 * likewise; refusals (no such message) and, on the last attempt (`attempt` counts from 0),
 * everything left are recorded as `notification_failed`.
 */
export async function notifyDecided(
  deps: StageRunnerDeps,
  input: { intent_id: string; attempt: number },
  stageWait: { totalMs: number; pollMs: number } = STAGE_WAIT,
): Promise<{ sent: number; failed: number }> {
  const lastAttempt = input.attempt >= DECIDED_NOTICE_RETRY.attempts - 1;
  const stillSending = (intent: IntentState) =>
    intent.pending_notifications.filter((n) => n.kind !== 'decided').length;
  let loaded = await deps.intents.get(input.intent_id);
  for (
    const giveUpAt = Date.now() + stageWait.totalMs;
    loaded && stillSending(loaded) > 0 && Date.now() < giveUpAt;
    loaded = await deps.intents.get(input.intent_id)
  ) {
    await new Promise((resolve) => setTimeout(resolve, stageWait.pollMs));
  }
  if (!loaded || loaded.status === 'pending') return { sent: 0, failed: 0 };
  const sending = stillSending(loaded);
  // A stage task that died mid-send leaves its notices pending for good: the last attempt
  // tells whom it can rather than wait on it.
  if (sending > 0 && !lastAttempt) {
    throw new DecidedNoticesPendingError(`a stage is still sending ${sending} notices`);
  }
  // What to tell follows from the stored intent (`sent_messages`, `decided_notices`), so it is
  // queued in the same write that settles the sends, not in one of its own before them: a
  // crash in between finds the same notices to send again, as a stored queue would. No stage
  // can add messages meanwhile: none begins once the intent is final.
  const due = queueDecidedNotices(loaded).intent.pending_notifications.filter(
    (n) => n.kind === 'decided',
  );
  if (due.length === 0) return { sent: 0, failed: 0 };
  const result = await sendAndSettle(deps, loaded, due, {
    retryLater: !lastAttempt,
    queueDecided: true,
    // Each reader's times in their own zone.
    profiles: await loadProfiles(
      deps.profiles,
      due.map((n) => n.to),
      deps.clock.now().getTime(),
    ),
  });
  if (result.kept > 0) {
    throw new DecidedNoticesPendingError(
      `${result.kept} of ${due.length} decided notices failed for now; queued for the next attempt`,
    );
  }
  return { sent: result.sent, failed: result.failed };
}

export interface StageTaskInput {
  intent_id: string;
  step: number;
  stage: number;
  task_token: string;
}

/**
 * The callback task of one stage: store the token on the intent, then notify. When the intent
 * moved on before the stage could begin (a decision landed between stages), the task answers
 * its own token, so the execution ends promptly instead of waiting out the stage.
 */
export async function runStage(
  deps: StageRunnerDeps,
  input: StageTaskInput,
): Promise<{ notified: number }> {
  const loaded = await deps.intents.get(input.intent_id);
  if (loaded?.status !== 'pending' || loaded.step !== input.step) {
    await deps.workflow.wake(input.task_token, { reason: 'stale_stage' });
    return { notified: 0 };
  }
  const now = deps.clock.now();
  const deadline = Date.parse(loaded.deadline_at);
  const stages = planStages(loaded.policy, stageClockStart(loaded, now.getTime()), deadline);
  const stage = stages[input.stage];
  if (!stage) throw new Error(`stage ${input.stage} does not exist for intent ${input.intent_id}`);
  const recipients = await expandTeams(deps.teams, askedAtStage(loaded.asked, stages, stage.index));
  const profiles = await loadProfiles(deps.profiles, recipients, now.getTime());

  let entered: IntentState;
  try {
    ({ after: entered } = await transitionIntent(
      deps.intents,
      input.intent_id,
      (intent) =>
        enterStage(intent, {
          step: input.step,
          stage,
          recipients,
          token: input.task_token,
          at: now.toISOString(),
          nextAt: stages[stage.index + 1]?.at ?? deadline,
          profiles,
        }),
      loaded,
    ));
  } catch (error) {
    if (error instanceof DomainError && error.code === 'not_pending') {
      await deps.workflow.wake(input.task_token, { reason: 'stale_stage' });
      return { notified: 0 };
    }
    throw error;
  }
  // A pending intent holds no decided notice. If it ends while these are sent, their record
  // queues the decided notices of the messages sent (`settleNotifications`), and NotifyDecided,
  // which waits for it, sends them.
  const settled = await sendAndSettle(deps, entered, entered.pending_notifications, { profiles });
  return { notified: settled.sent };
}

/**
 * Sends notices a batch at a time, side by side within a batch, and records each batch as soon
 * as it is sent, in a conditional write of its own (the intent and one event per notice). A
 * write stays far below DynamoDB's 100 items per transaction whatever the stage's size, and a
 * crash or a retry re-sends only the batch that was not recorded yet (at least once). With
 * `retryLater`, failures that may pass are left queued (for a later attempt) instead of
 * recorded as failed; with `queueDecided`, the decided notices are queued in the first write.
 *
 * Every batch is rendered from `intent` as given, not as recorded since: a team channel is
 * posted once per run of a stage, which the Slack notifier knows by the version it was entered
 * with.
 */
async function sendAndSettle(
  deps: StageRunnerDeps,
  intent: IntentState,
  notifications: PendingNotification[],
  options: { retryLater?: boolean; queueDecided?: boolean; profiles?: Profiles } = {},
): Promise<{
  sent: number;
  failed: number;
  /** Failures left queued for a later attempt. */
  kept: number;
}> {
  const totals = { sent: 0, failed: 0, kept: 0 };
  let recordedSoFar = intent;
  for (let start = 0; start < notifications.length; start += NOTICES_PER_BATCH) {
    const batch = notifications.slice(start, start + NOTICES_PER_BATCH);
    const settled = await Promise.all(
      batch.map(async (notification) => ({
        notification,
        outcome: await sendOnChannel(
          deps,
          intent,
          notification,
          options.profiles?.get(notification.to)?.time_zone,
        ),
      })),
    );
    const sent = settled.filter(({ outcome }) => outcome.ok).length;
    const recorded = settled.filter(
      ({ outcome }) => !(options.retryLater && !outcome.ok && outcome.retryable),
    );
    totals.sent += sent;
    totals.kept += settled.length - recorded.length;
    totals.failed += recorded.length - sent;
    if (recorded.length === 0) continue;
    ({ after: recordedSoFar } = await transitionIntent(
      deps.intents,
      intent.id,
      (current) =>
        settleNotifications(
          options.queueDecided ? queueDecidedNotices(current).intent : current,
          recorded,
          deps.clock.now().toISOString(),
        ),
      recordedSoFar,
    ));
  }
  return totals;
}

/**
 * Notices sent side by side and then recorded in one write: enough to notify a team quickly
 * without tripping SES or Slack rate limits, and a write of 9 items (the intent and an event
 * each), where DynamoDB allows 100.
 */
export const NOTICES_PER_BATCH = 8;

type SendOutcome = NotificationOutcome;

/** `timeZone`: the reader's, from their profile; absent, times are in UTC and say so. */
async function sendOnChannel(
  deps: StageRunnerDeps,
  intent: IntentState,
  notification: PendingNotification,
  timeZone?: string,
): Promise<SendOutcome> {
  const now = deps.clock.now();
  const overQuota = await notificationQuotaRefusal(deps.usage, intent, notification, now);
  if (overQuota) return overQuota;
  const reviewUrl = reviewUrlFor(deps, intent, notification.to);
  if (notification.channel === 'slack') {
    if (!deps.slack) return { ok: false, error: 'channel slack is not configured' };
    return deps.slack.send({ intent, notification, reviewUrl, now });
  }
  if (notification.channel !== 'email') {
    return { ok: false, error: `channel ${notification.channel} is not configured` };
  }
  // A review link dies with the deadline: a timed-out request's notice has no page to link.
  const link = now.getTime() < Date.parse(intent.deadline_at) ? reviewUrl : null;
  const message =
    notification.kind === 'decided'
      ? renderDecidedMessage(toView(intent), link, now, timeZone ? { timeZone } : {})
      : renderMessage(toView(intent), notification.kind, reviewUrl, now, {
          stepClock: intent,
          ...(timeZone ? { timeZone } : {}),
        });
  try {
    const { messageId } = await deps.email.send({
      to: notification.to,
      ...message,
      intentId: intent.id,
      kind: notification.kind,
      reviewUrl: notification.kind === 'decided' ? link : reviewUrl,
    });
    return { ok: true, messageId };
  } catch (error) {
    // The adapter says whether the failure may pass (`EmailSendError`); anything else is a fault.
    if (error instanceof EmailSendError) {
      return { ok: false, error: error.message, retryable: error.retryable };
    }
    return {
      ok: false,
      error: error instanceof Error ? `${error.name}: ${error.message}` : 'send failed',
      retryable: false,
    };
  }
}

function reviewUrlFor(
  deps: Pick<StageRunnerDeps, 'publicBaseUrl' | 'linkSigningSecret'>,
  intent: IntentState,
  reviewer: string,
): string {
  const token = signReviewLink(
    { intentId: intent.id, reviewer, expiresAt: Math.floor(Date.parse(intent.deadline_at) / 1000) },
    deps.linkSigningSecret,
  );
  return `${deps.publicBaseUrl.replace(/\/$/, '')}/review/${token}`;
}

/** Team membership is resolved when the team is notified, as the contract says. */
async function expandTeams(teams: TeamRepository, asked: string[]): Promise<string[]> {
  const expanded: string[] = [];
  for (const target of asked) {
    const members = isTeamRef(target)
      ? ((await teams.get(target.slice('team:'.length)))?.members ?? [])
      : [target];
    for (const member of members) if (!expanded.includes(member)) expanded.push(member);
  }
  return expanded;
}
