import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import { ulid } from 'ulid';
import { z } from 'zod';
import { sealEvents } from '../domain/audit';
import { createIntentSchema, newIntent } from '../domain/create';
import { applyCancel, applyVote, type Transition } from '../domain/decisions';
import { editsSchema } from '../domain/edits';
import { DomainError } from '../domain/errors';
import {
  INTENT_STATUSES,
  type IntentState,
  type IntentView,
  type NotificationChannel,
  toView,
} from '../domain/intent';
import { assertIntentTypeAllowed } from '../domain/key-scope';
import type { PolicyBase } from '../domain/operator-policy';
import { samePrincipal } from '../domain/principals';
import { releaseHold } from '../domain/reminder-holds';
import { intentReviewerFields, reviewerDomainIssues } from '../domain/reviewer-domains';
import { type Principal, requireRole } from './auth';
import { intentChanges } from './intent-changes';
import { type PolicyServiceDeps, policyFor } from './policies';
import {
  type Clock,
  type IntentRepository,
  InvalidCursorError,
  type Signer,
  type UsageMeter,
  type Workflow,
} from './ports';
import { creatorKeyOf, takeIntentQuota } from './quotas';
import { transitionIntent, withReceipt } from './transitions';

export interface IntentServiceDeps {
  intents: IntentRepository;
  workflow: Workflow;
  clock: Clock;
  configuredChannels: readonly NotificationChannel[];
  policies: PolicyServiceDeps;
  /** What a field an operator policy leaves out means (permissive locally, strict in AWS). */
  policyBase: PolicyBase;
  allowLoopbackCallbacks: boolean;
  /** How often the long poll re-reads the intent's status. */
  waitPollMs: number;
  /** Email domains reviewers must belong to; absent means any. */
  allowedReviewerDomains?: readonly string[];
  /** Counts what keys with a quota use (`core/quotas.ts`). */
  usage?: UsageMeter;
  /** Signs the receipt of a decision or cancellation. */
  signer: Signer;
}

export async function createIntent(
  deps: IntentServiceDeps,
  principal: Principal,
  body: Record<string, unknown>,
  idempotencyKey: string | undefined,
): Promise<{ status: 200 | 201; intent: IntentView }> {
  requireRole(principal, 'agent', 'admin');
  if (
    idempotencyKey !== undefined &&
    (idempotencyKey.length === 0 || idempotencyKey.length > 255)
  ) {
    throw new DomainError('invalid_request', 'Idempotency-Key must be 1 to 255 characters.');
  }
  const input = createIntentSchema.parse(body);
  // Agent key limits (issue #12): the key's intent types (its quota is taken before the write).
  assertIntentTypeAllowed(principal.intentTypes, input.intent_type);
  const now = deps.clock.now();
  const operator = await policyFor(deps.policies, input.intent_type);
  const { intent, events } = newIntent(input, {
    id: `int_${ulid(now.getTime())}`,
    from_agent: principal.name,
    now,
    configuredChannels: deps.configuredChannels,
    operatorPolicy: operator.policy,
    policySource: operator.source,
    base: deps.policyBase,
    allowLoopbackCallbacks: deps.allowLoopbackCallbacks,
  });
  const outsiders = reviewerDomainIssues(intentReviewerFields(intent), deps.allowedReviewerDomains);
  if (outsiders.length > 0) {
    throw new DomainError('validation_failed', 'The request has invalid fields.', {
      details: outsiders,
    });
  }
  const sealed = sealEvents(intent, events);
  const sealedIntent: IntentState = {
    ...intent,
    event_count: sealed.event_count,
    last_event_hash: sealed.last_event_hash,
    creator_key: creatorKeyOf(principal),
  };
  // An operator's rule decided at create: the intent is final, so it carries its receipt too.
  const stored =
    sealedIntent.status === 'pending' ? sealedIntent : await withReceipt(sealedIntent, deps.signer);
  const bodyHash = createHash('sha256')
    .update(canonicalize(body) ?? '')
    .digest('hex');
  // Taken once the request is known to be valid: a refused request uses none of the quota.
  const quota = await takeIntentQuota(deps, principal, idempotencyKey, stored.status === 'pending');
  const outcome = await deps.intents.create(
    stored,
    sealed.events,
    idempotencyKey === undefined
      ? undefined
      : {
          principal: principal.name,
          key: idempotencyKey,
          body_hash: bodyHash,
          intent_id: stored.id,
        },
  );
  if (outcome.kind === 'replayed') {
    await quota.giveBack();
    if (outcome.record.body_hash !== bodyHash) {
      throw new DomainError(
        'idempotency_conflict',
        'This Idempotency-Key was already used with a different request body.',
      );
    }
    const existing = await deps.intents.get(outcome.record.intent_id);
    if (!existing)
      throw new Error(`idempotency record points to missing intent ${outcome.record.intent_id}`);
    // The first attempt may have stored the intent and failed before its execution started.
    if (existing.status === 'pending') await deps.workflow.start(existing.id);
    return { status: 200, intent: toView(existing) };
  }
  await deps.workflow.start(stored.id);
  return { status: 201, intent: toView(stored) };
}

/** Who may read an intent. Everyone else gets 404, so an agent never learns another's intents exist. */
export function canSee(principal: Principal, intent: IntentState): boolean {
  switch (principal.role) {
    case 'admin':
      return true;
    case 'agent':
      return samePrincipal(intent.from_agent, principal.name);
    case 'reviewer': {
      const isReviewer = (name: string) => samePrincipal(name, principal.name);
      return (
        intent.recipients.some(isReviewer) ||
        intent.asked.some(isReviewer) ||
        intent.approvals.some((approval) => isReviewer(approval.by))
      );
    }
  }
}

/** The intent if `principal` may read it, else `not_found` (also the wait channel's subscribe). */
export async function loadVisible(
  deps: { intents: Pick<IntentRepository, 'get'> },
  principal: Principal,
  id: string,
): Promise<IntentState> {
  const intent = await deps.intents.get(id);
  if (!intent || !canSee(principal, intent)) throw new DomainError('not_found', 'No such intent.');
  return intent;
}

export async function getIntent(
  deps: IntentServiceDeps,
  principal: Principal,
  id: string,
): Promise<IntentView> {
  return toView(await loadVisible(deps, principal, id));
}

const WAIT_DEFAULT_SECONDS = 20;
const WAIT_MIN_SECONDS = 1;
const WAIT_MAX_SECONDS = 25;

export function parseWaitTimeout(raw: string | undefined): number {
  if (raw === undefined || raw === '') return WAIT_DEFAULT_SECONDS;
  const seconds = Number(raw);
  if (!Number.isFinite(seconds)) {
    throw new DomainError('invalid_request', 'timeout must be a number of seconds.', {
      details: [{ field: 'timeout', message: 'must be a number' }],
    });
  }
  return Math.min(WAIT_MAX_SECONDS, Math.max(WAIT_MIN_SECONDS, seconds));
}

/** The long poll: returns once the intent leaves pending, or after `timeoutSeconds` with it still pending. */
export async function waitForIntent(
  deps: IntentServiceDeps,
  principal: Principal,
  id: string,
  timeoutSeconds: number,
): Promise<IntentView> {
  const watch = intentChanges.watch(id);
  try {
    const first = await loadVisible(deps, principal, id);
    if (first.status !== 'pending') return toView(first);
    const deadline = Date.now() + timeoutSeconds * 1000;
    // Woken by a write in this process: it carries the intent as committed, no read needed.
    const answer = (committed: IntentState) =>
      committed.status !== 'pending' && canSee(principal, committed) ? committed : undefined;
    while (Date.now() < deadline) {
      const committed = await watch.changeOrTimeout(
        Math.min(deps.waitPollMs, Math.max(0, deadline - Date.now())),
      );
      if (committed) {
        const decided = answer(committed);
        if (decided) return toView(decided);
        continue;
      }
      // The backstop, for writes made by other processes (other Lambda containers). A write in
      // this process that commits while the read is in flight answers at once.
      const polled = await watch.changeDuring(deps.intents.getStatus(id));
      if ('changed' in polled) {
        const decided = answer(polled.changed);
        if (decided) return toView(decided);
        continue;
      }
      if (polled.settled && polled.settled.status !== 'pending') break;
    }
  } finally {
    watch.close();
  }
  return toView(await loadVisible(deps, principal, id));
}

export const listQuerySchema = z
  .object({
    status: z.enum(INTENT_STATUSES).optional(),
    reviewer: z.literal('me').optional(),
    limit: z.coerce.number().int().min(1).max(100).optional(),
    cursor: z.string().max(1000).optional(),
  })
  .strict();

export async function listIntents(
  deps: Pick<IntentServiceDeps, 'intents'>,
  principal: Principal,
  query: Record<string, string | undefined>,
): Promise<{ items: IntentView[]; next_cursor: string | null }> {
  const parsed = listQuerySchema.parse(query);
  const recipient =
    principal.role === 'reviewer' || parsed.reviewer === 'me' ? principal.name : undefined;
  try {
    const page = await deps.intents.list({
      status: parsed.reviewer === 'me' ? 'pending' : parsed.status,
      fromAgent: principal.role === 'agent' ? principal.name : undefined,
      recipient,
      limit: parsed.limit ?? 50,
      cursor: parsed.cursor,
    });
    return { items: page.items.map(toView), next_cursor: page.nextCursor };
  } catch (error) {
    if (error instanceof InvalidCursorError) {
      throw new DomainError('invalid_request', 'The cursor is not one this API returned.', {
        details: [{ field: 'cursor', message: error.message }],
      });
    }
    throw error;
  }
}

export const decisionSchema = z
  .object({
    outcome: z.enum(['approve', 'reject']),
    comment: z.string().trim().max(2000).optional(),
    channel: z.enum(['api', 'cli']).optional(),
    edits: editsSchema.optional(),
  })
  .strict();

/**
 * `current` is the intent as read while the caller authenticated (see `transitionIntent`): the
 * two reads overlap instead of adding up on the way to the agent's resume.
 */
export async function decideIntent(
  deps: IntentServiceDeps,
  principal: Principal,
  id: string,
  body: Record<string, unknown>,
  current?: IntentState,
): Promise<IntentView> {
  requireRole(principal, 'reviewer', 'admin');
  const input = decisionSchema.parse(body);
  return recordVote(
    deps,
    id,
    {
      by: principal.name,
      outcome: input.outcome,
      comment: input.comment || null,
      channel: input.channel ?? 'api',
      override: principal.role === 'admin',
      ...(input.edits ? { edits: input.edits } : {}),
    },
    current,
    principal,
  );
}

/**
 * Records one reviewer's vote (from any channel) exactly once and wakes the state machine when
 * the vote decided the intent or ended a chain step.
 */
export async function recordVote(
  deps: Pick<IntentServiceDeps, 'intents' | 'workflow' | 'clock' | 'signer'>,
  id: string,
  vote: {
    by: string;
    outcome: 'approve' | 'reject';
    comment: string | null;
    channel: 'api' | 'cli' | 'email' | 'slack' | 'web';
    override: boolean;
    /** The step (and payload version) the Slack button or review form was shown for (see `Vote.shownFor`). */
    shownFor?: { step: number | null; version?: number };
    /** Values changed before approving, by JSON Pointer (`domain/edits.ts`). */
    edits?: Record<string, unknown>;
  },
  current?: IntentState,
  /**
   * The API caller. One who may not read the intent (`canSee`) is refused before its state is
   * looked at, alike whether it is pending or decided, and never sees it in the error: a 409
   * `already_decided` carries the whole intent, which GET would answer 404.
   */
  caller?: Principal,
): Promise<IntentView> {
  const { before, after, transition } = await transitionIntent(
    deps.intents,
    id,
    (intent) => {
      if (caller && !canSee(caller, intent)) {
        throw new DomainError(
          'not_a_reviewer',
          `${vote.by} is not asked to decide this intent now.`,
        );
      }
      return releasingHold(
        applyVote(
          vote.override && !intent.recipients.includes(vote.by)
            ? { ...intent, recipients: [...intent.recipients, vote.by] }
            : intent,
          { ...vote, at: deps.clock.now().toISOString() },
        ),
        deps.clock.now().getTime(),
      );
    },
    current,
    deps.signer,
  );
  if (transition.signal) {
    await wakeWorkflow(
      deps.workflow,
      before,
      after,
      after.status === 'pending' ? 'step' : 'decided',
    );
  }
  return toView(after);
}

/** A transition that wakes the state machine also releases a reminder hold (`releaseHold`). */
function releasingHold(transition: Transition, now: number): Transition {
  return transition.signal
    ? { ...transition, intent: releaseHold(transition.intent, now) }
    : transition;
}

/**
 * Wakes the state machine after a decision, a chain step's end or a cancellation: the stage's
 * token answers it; while it holds reminders in its Wait state, which no token ends, a
 * successor execution takes over at once instead (the held one stops when it wakes).
 */
async function wakeWorkflow(
  workflow: Workflow,
  before: IntentState,
  after: IntentState,
  reason: string,
): Promise<void> {
  const released = before.held_by && !after.held_by && after.successor_execution;
  if (released) await workflow.start(after.id, after.successor_execution ?? undefined);
  else if (after.task_token) await workflow.wake(after.task_token, { reason });
}

export const cancelSchema = z.object({ reason: z.string().trim().max(2000).optional() }).strict();

export async function cancelIntent(
  deps: IntentServiceDeps,
  principal: Principal,
  id: string,
  body: Record<string, unknown>,
): Promise<IntentView> {
  requireRole(principal, 'agent', 'admin');
  const input = cancelSchema.parse(body);
  const visible = await loadVisible(deps, principal, id);
  const { before, after } = await transitionIntent(
    deps.intents,
    id,
    (intent) =>
      releasingHold(
        applyCancel(intent, principal.name, input.reason || null, deps.clock.now().toISOString()),
        deps.clock.now().getTime(),
      ),
    visible,
    deps.signer,
  );
  await wakeWorkflow(deps.workflow, before, after, 'cancelled');
  return toView(after);
}

export async function intentEvents(deps: IntentServiceDeps, principal: Principal, id: string) {
  await loadVisible(deps, principal, id);
  return { items: await deps.intents.events(id) };
}
