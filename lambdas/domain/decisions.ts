import type { AuditEventDraft } from './audit';
import { DomainError } from './errors';
import { type DecisionChannel, type IntentState, type TimeoutAction, toView } from './intent';
import { requiredApprovalsFor } from './policy';
import { canonicalPrincipal, samePrincipal } from './principals';
import { delegatedVoteFor } from './reminder-holds';

/**
 * Pure transitions of an intent. Each returns the changed intent and the audit events that
 * must be written with it, in one conditional write, or throws the contract's error. Callers
 * retry on a write conflict by reloading and calling again, so these functions also decide
 * who lost a race (409 with the winner visible).
 */
export interface Transition {
  intent: IntentState;
  events: AuditEventDraft[];
  /** True when the state machine must be woken: the intent left pending, or a chain step ended. */
  signal: boolean;
}

export interface Vote {
  by: string;
  outcome: 'approve' | 'reject';
  comment: string | null;
  channel: DecisionChannel;
  at: string;
  /**
   * The chain step the button or form was shown for, on the channels that show one per step
   * (Slack, the review page): `null` for one made before they said which. Absent on the API,
   * whose caller names the intent and means its current step.
   */
  shownFor?: { step: number | null };
}

/**
 * Whether a vote cast on a button or form shown for `shownFor` must not count now. A vote
 * counts only in the step it was shown for: otherwise a double click, or a request replayed
 * within Slack's five minutes, becomes a vote in the next step that the reviewer never cast
 * when the same person is asked in both. A button or form that does not say its step (made
 * before they did) still counts, unless its voter approved an earlier step: then it may be
 * that approval again.
 */
export function isStepOver(
  intent: Pick<IntentState, 'step' | 'approvals'>,
  by: string,
  shownFor: number | null,
): boolean {
  if (shownFor !== null) return shownFor !== intent.step;
  return intent.approvals.some((a) => a.by === by && a.step < intent.step);
}

/**
 * The step a button or form that does not say its step was shown for, where that is certain:
 * an intent without a chain only ever has step 0.
 */
export function stepShownFor(
  intent: Pick<IntentState, 'policy'>,
  stated: number | null,
): number | null {
  if (stated !== null) return stated;
  return (intent.policy.steps?.length ?? 1) <= 1 ? 0 : null;
}

export function applyVote(intent: IntentState, cast: Vote): Transition {
  // Recipients are stored lower-cased: a voter's email counts in any spelling.
  const vote = { ...cast, by: canonicalPrincipal(cast.by) };
  if (intent.status !== 'pending') {
    throw new DomainError('already_decided', `This intent is already ${intent.status}.`, {
      intent: toView(intent),
    });
  }
  if (vote.shownFor && isStepOver(intent, vote.by, vote.shownFor.step)) {
    const shown = vote.shownFor.step;
    throw new DomainError(
      'step_over',
      shown === null
        ? `${vote.by} already approved an earlier step, and this vote does not say which step it was for.`
        : `Step ${shown + 1} is over; this intent is at step ${intent.step + 1}.`,
      { intent: toView(intent) },
    );
  }
  if (samePrincipal(vote.by, intent.from_agent)) {
    throw new DomainError('forbidden', 'The principal that created an intent cannot decide it.');
  }
  if (!intent.recipients.includes(vote.by)) {
    throw new DomainError('not_a_reviewer', `${vote.by} is not asked to decide this intent now.`);
  }
  // A delegate votes in the place of a recipient who is out of office; each person counts once.
  const onBehalfOf = delegatedVoteFor(intent, vote.by);
  const counted = (person: string) =>
    intent.approvals.some(
      (a) => a.step === intent.step && (a.by === person || a.on_behalf_of === person),
    );
  if (counted(vote.by) || (onBehalfOf !== null && counted(onBehalfOf))) {
    throw new DomainError(
      'already_voted',
      onBehalfOf && !counted(vote.by)
        ? `${onBehalfOf} has already approved this intent.`
        : `${vote.by} has already approved this intent.`,
      { intent: toView(intent) },
    );
  }
  if (vote.outcome === 'reject' && !vote.comment) {
    throw new DomainError('validation_failed', 'A rejection needs a comment saying why.', {
      details: [{ field: 'comment', message: 'is required to reject' }],
    });
  }

  const base = { at: vote.at, actor: vote.by, channel: vote.channel };
  const comment = vote.comment ?? null;
  const behalf = onBehalfOf ? { on_behalf_of: onBehalfOf } : {};
  const delegated: AuditEventDraft[] = onBehalfOf
    ? [
        {
          ...base,
          type: 'delegated',
          data: { step: intent.step, kind: 'vote', by: vote.by, on_behalf_of: onBehalfOf },
        },
      ]
    : [];
  if (vote.outcome === 'reject') {
    return {
      intent: {
        ...intent,
        status: 'rejected',
        decision: {
          outcome: 'rejected',
          by: vote.by,
          at: vote.at,
          comment,
          channel: vote.channel,
          ...behalf,
        },
        updated_at: vote.at,
        next_action_at: null,
      },
      events: [
        ...delegated,
        { ...base, type: 'rejection', data: { step: intent.step, comment, ...behalf } },
        { ...base, type: 'rejected', data: { comment, ...behalf } },
      ],
      signal: true,
    };
  }

  const approvals = [
    ...intent.approvals,
    { by: vote.by, at: vote.at, comment, channel: vote.channel, step: intent.step, ...behalf },
  ];
  const approvedInStep = approvals.filter((a) => a.step === intent.step).length;
  const required = requiredApprovalsFor(intent.policy, intent.step);
  const approvalEvent: AuditEventDraft = {
    ...base,
    type: 'approval',
    data: { step: intent.step, comment, approvals: approvedInStep, required, ...behalf },
  };
  if (approvedInStep < required) {
    return {
      intent: { ...intent, approvals, updated_at: vote.at },
      events: [...delegated, approvalEvent],
      signal: false,
    };
  }

  const nextStep = intent.policy.steps?.[intent.step + 1];
  if (nextStep) {
    return {
      intent: {
        ...intent,
        approvals,
        step: intent.step + 1,
        asked: nextStep.reviewers,
        recipients: nextStep.reviewers.filter((r) => !r.startsWith('team:')),
        step_started_at: vote.at,
        stage_index: -1,
        updated_at: vote.at,
      },
      events: [
        ...delegated,
        approvalEvent,
        {
          ...base,
          type: 'step_completed',
          data: { step: intent.step, next_step: intent.step + 1 },
        },
      ],
      signal: true,
    };
  }

  return {
    intent: {
      ...intent,
      approvals,
      status: 'approved',
      decision: {
        outcome: 'approved',
        by: vote.by,
        at: vote.at,
        comment,
        channel: vote.channel,
        ...behalf,
      },
      updated_at: vote.at,
      next_action_at: null,
    },
    events: [
      ...delegated,
      approvalEvent,
      { ...base, type: 'approved', data: { comment, ...behalf } },
    ],
    signal: true,
  };
}

export function applyTimeout(intent: IntentState, at: string): Transition {
  if (intent.status !== 'pending') {
    throw new DomainError('already_decided', `This intent is already ${intent.status}.`, {
      intent: toView(intent),
    });
  }
  const action: TimeoutAction = intent.policy.timeout.action;
  const outcome = action === 'approve' ? 'approved' : 'rejected';
  const comment = `No decision before the deadline; the policy's timeout action is ${action}.`;
  return {
    intent: {
      ...intent,
      status: 'timed_out',
      decision: { outcome, by: 'timeout', at, comment, channel: 'timeout' },
      updated_at: at,
      next_action_at: null,
      task_token: null,
    },
    events: [
      { type: 'timed_out', at, actor: 'timeout', channel: 'timeout', data: { outcome, action } },
    ],
    signal: false,
  };
}

export function applyCancel(
  intent: IntentState,
  by: string,
  reason: string | null,
  at: string,
): Transition {
  if (intent.status !== 'pending') {
    throw new DomainError('not_pending', `This intent is already ${intent.status}.`, {
      intent: toView(intent),
    });
  }
  return {
    intent: {
      ...intent,
      status: 'cancelled',
      decision: { outcome: 'cancelled', by, at, comment: reason, channel: 'api' },
      updated_at: at,
      next_action_at: null,
    },
    events: [{ type: 'cancelled', at, actor: by, channel: 'api', data: { reason } }],
    signal: true,
  };
}

/**
 * A reviewer opened the review page. Recorded once per reviewer and never decides anything:
 * mail scanners open links before people do.
 */
export function applyView(intent: IntentState, reviewer: string, at: string): Transition {
  if ((intent.viewed_by ?? []).includes(reviewer)) return { intent, events: [], signal: false };
  return {
    intent: { ...intent, viewed_by: [...(intent.viewed_by ?? []), reviewer] },
    events: [{ type: 'viewed', at, actor: reviewer, channel: 'email', data: {} }],
    signal: false,
  };
}
