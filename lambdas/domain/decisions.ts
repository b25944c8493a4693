import { payloadSha256 } from '../../sdk/src/audit';
import type { AuditEventDraft } from './audit';
import {
  applyEdits,
  type Edits,
  type EditValue,
  editIssues,
  editsTooLarge,
  mergeEdits,
  sameEdits,
  valueAt,
} from './edits';
import { DomainError } from './errors';
import {
  type Approval,
  currentPayload,
  type DecisionChannel,
  editsOf,
  type IntentState,
  type IntentView,
  type TimeoutAction,
  toView,
} from './intent';
import { isTeamRef, requiredApprovalsFor } from './policy';
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
  shownFor?: { step: number | null; version?: number };
  /**
   * Values changed before approving, by JSON Pointer (only with `approve`; each pointer must be
   * in the intent's `editable`, each value keep its type). See `domain/edits.ts`.
   */
  edits?: Record<string, unknown>;
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

/**
 * Whether `by` approved the current step's current version of the payload: an approval of an
 * earlier version (before an edit) does not count, and its reviewer may approve again.
 */
export function approvedCurrentVersion(
  intent: Pick<IntentView, 'approvals' | 'step' | 'payload_version'>,
  by: string,
): boolean {
  const version = intent.payload_version ?? 0;
  return intent.approvals.some(
    (a) => a.by === by && a.step === intent.step && (a.payload_version ?? 0) === version,
  );
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
  const version = intent.payload_version ?? 0;
  const shownVersion = vote.shownFor?.version;
  if (shownVersion !== undefined && shownVersion !== version) {
    throw new DomainError(
      'step_over',
      'The request was edited after this was shown; review the edited version and decide again.',
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
  // An approval counts for the version it saw: after an edit, earlier approvers approve again.
  const onBehalfOf = delegatedVoteFor(intent, vote.by);
  const counted = (person: string) =>
    intent.approvals.some(
      (a) =>
        a.step === intent.step &&
        (a.payload_version ?? 0) === version &&
        (a.by === person || a.on_behalf_of === person),
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
  const requested = vote.edits ?? {};
  if (vote.outcome === 'reject' && Object.keys(requested).length > 0) {
    throw new DomainError('validation_failed', 'Edits go with an approval only.', {
      details: Object.keys(requested).map((pointer) => ({
        field: `edits.${pointer}`,
        message: 'cannot go with a rejection',
      })),
    });
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

  return applyApproval(intent, vote, requested, onBehalfOf);
}

/**
 * An approval (of `applyVote`, its checks passed), with the reviewer's edits if any. An edit
 * makes a new version: approvals of earlier versions no longer count, a step whose quorum the
 * new version lacks starts again (its reviewers are notified of it), and in a chain the first
 * step approves it again, so that every step approved what runs.
 */
function applyApproval(
  intent: IntentState,
  vote: Vote,
  requested: Record<string, unknown>,
  /** The recipient a delegate approves for (`domain/reminder-holds.ts`), or null. */
  onBehalfOf: string | null,
): Transition {
  const base = { at: vote.at, actor: vote.by, channel: vote.channel };
  const comment = vote.comment ?? null;
  const behalf = onBehalfOf ? { on_behalf_of: onBehalfOf } : {};
  const version = intent.payload_version ?? 0;
  const approvedVersion = (a: Approval) => a.payload_version ?? 0;
  const issues = editIssues(intent, requested);
  const edits = issues.length > 0 ? {} : mergeEdits(intent.payload, editsOf(intent), requested);
  issues.push(...editsTooLarge(edits));
  if (issues.length > 0) {
    throw new DomainError('validation_failed', 'The edits cannot apply to this intent.', {
      details: issues,
    });
  }
  const edited = !sameEdits(edits, editsOf(intent));
  const nextVersion = edited ? version + 1 : version;
  const approvedHash = payloadSha256(applyEdits(intent.payload, edits));
  const approvals: Approval[] = [
    ...intent.approvals,
    {
      by: vote.by,
      at: vote.at,
      comment,
      channel: vote.channel,
      step: intent.step,
      payload_version: nextVersion,
      ...behalf,
    },
  ];
  const approvalsOf = (step: number) =>
    approvals.filter((a) => a.step === step && approvedVersion(a) === nextVersion).length;
  const events: AuditEventDraft[] = [
    ...(onBehalfOf
      ? [
          {
            ...base,
            type: 'delegated' as const,
            data: { step: intent.step, kind: 'vote', by: vote.by, on_behalf_of: onBehalfOf },
          },
        ]
      : []),
    {
      ...base,
      type: 'approval',
      data: {
        step: intent.step,
        comment,
        approvals: approvalsOf(intent.step),
        required: requiredApprovalsFor(intent.policy, intent.step),
        payload_version: nextVersion,
        edits: edited ? requestedChanges(intent, requested) : {},
        approved_payload_sha256: approvedHash,
        ...behalf,
      },
    },
  ];

  const stepCount = intent.policy.steps?.length ?? 1;
  let step = edited ? 0 : intent.step;
  if (
    edited &&
    (step !== intent.step || approvalsOf(step) < requiredApprovalsFor(intent.policy, step))
  ) {
    events.push({
      ...base,
      type: 'step_restarted',
      data: { from_step: intent.step, step, payload_version: nextVersion, reason: 'edited' },
    });
  }
  while (step < stepCount && approvalsOf(step) >= requiredApprovalsFor(intent.policy, step)) {
    if (step + 1 < stepCount) {
      events.push({ ...base, type: 'step_completed', data: { step, next_step: step + 1 } });
    }
    step += 1;
  }
  const changed = { approvals, edits, payload_version: nextVersion, updated_at: vote.at };

  if (step >= stepCount) {
    return {
      intent: {
        ...intent,
        ...changed,
        status: 'approved',
        decision: {
          outcome: 'approved',
          by: vote.by,
          at: vote.at,
          comment,
          channel: vote.channel,
          edits,
          ...behalf,
        },
        next_action_at: null,
      },
      events: [
        ...events,
        {
          ...base,
          type: 'approved',
          data: { comment, edits, approved_payload_sha256: approvedHash, ...behalf },
        },
      ],
      signal: true,
    };
  }
  if (step === intent.step && !edited) {
    return { intent: { ...intent, ...changed }, events, signal: false };
  }
  // A step entered afresh (the next one, or this one again on a new version): its reviewers are
  // notified from its first stage, the edited version in front of them.
  const reviewers =
    step === intent.step ? intent.asked : (intent.policy.steps?.[step]?.reviewers ?? intent.asked);
  return {
    intent: {
      ...intent,
      ...changed,
      step,
      asked: reviewers,
      recipients: step === intent.step ? intent.recipients : reviewers.filter((r) => !isTeamRef(r)),
      step_started_at: vote.at,
      stage_index: -1,
    },
    events,
    signal: true,
  };
}

/** The values one approval changed: its edits that differ from the version it saw. */
function requestedChanges(intent: IntentState, requested: Record<string, unknown>): Edits {
  const seen = currentPayload(intent);
  const changes: Edits = {};
  for (const [pointer, value] of Object.entries(requested)) {
    if (valueAt(seen, pointer) !== value) changes[pointer] = value as EditValue;
  }
  return changes;
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
  // The approve action approves the version reviewers last saw (an edit notified them all).
  const approved =
    outcome === 'approved'
      ? {
          edits: editsOf(intent),
          approved_payload_sha256: payloadSha256(currentPayload(intent)),
        }
      : null;
  return {
    intent: {
      ...intent,
      status: 'timed_out',
      decision: {
        outcome,
        by: 'timeout',
        at,
        comment,
        channel: 'timeout',
        ...(approved ? { edits: approved.edits } : {}),
      },
      updated_at: at,
      next_action_at: null,
      task_token: null,
    },
    events: [
      {
        type: 'timed_out',
        at,
        actor: 'timeout',
        channel: 'timeout',
        data: { outcome, action, ...approved },
      },
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
