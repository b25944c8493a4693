import { z } from 'zod';
import { DomainError, type FieldIssue } from './errors';
import {
  NOTIFICATION_CHANNELS,
  type NotificationChannel,
  type ResolvedPolicy,
  type ResolvedStep,
  type TimeoutAction,
} from './intent';
import {
  BUILT_IN_POLICY,
  isTeamRef,
  type PolicyInput,
  policyInputSchema,
  reviewerListSchema,
} from './policy';

/**
 * Operator policies: the authority over who approves an intent type and what a timeout does. A
 * request's `reviewers` and `policy` may only ask for more scrutiny: reviewers the policy admits,
 * more approvals, more reminders (no closer than the floor), more escalations, a longer wait.
 * `resolveIntentPolicy` is pure and total: it returns the effective policy or throws the
 * contract's error naming the field, so that nothing outside the policy is ever notified.
 */
export const POLICY_PATTERN = /^(\*|[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*(\.\*)?)$/;

const RULE_OPS = ['eq', 'ne', 'lt', 'lte', 'gt', 'gte', 'in', 'not_in', 'exists'] as const;

const condition = z
  .object({
    pointer: z
      .string()
      .max(500)
      .regex(/^(\/([^~/]|~[01])*)*$/, 'must be a JSON Pointer such as /amount'),
    op: z.enum(RULE_OPS),
    value: z.unknown().optional(),
  })
  .strict()
  .superRefine((value, ctx) => {
    if (value.value !== undefined && !isPlainJson(value.value, 8)) {
      ctx.addIssue({
        code: 'custom',
        path: ['value'],
        message: 'must be JSON: finite numbers, at most 8 levels deep',
      });
    } else if ((value.op === 'in' || value.op === 'not_in') && !Array.isArray(value.value)) {
      ctx.addIssue({ code: 'custom', path: ['value'], message: `${value.op} needs an array` });
    } else if (
      value.op === 'exists' &&
      value.value !== undefined &&
      typeof value.value !== 'boolean'
    ) {
      ctx.addIssue({ code: 'custom', path: ['value'], message: 'exists takes true or false' });
    } else if (value.op !== 'exists' && value.value === undefined) {
      ctx.addIssue({ code: 'custom', path: ['value'], message: `${value.op} needs a value` });
    }
  });

const rule = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'letters, digits, _ . or -'),
    effect: z.enum(['approve', 'reject']),
    when: z.array(condition).min(1).max(20),
  })
  .strict();
export type PolicyRule = z.infer<typeof rule>;

const emailOrDomain = z.string().trim().toLowerCase().max(254);

/** An operator policy as PUT by an admin (durations as in requests, every field optional). */
export const operatorPolicySchema = policyInputSchema
  .extend({
    reviewers: reviewerListSchema.optional(),
    allow_request_reviewers: z
      .object({
        domains: z
          .array(emailOrDomain.transform((domain) => domain.replace(/^@/, '')))
          .max(100)
          .optional(),
        principals: z.array(emailOrDomain).max(100).optional(),
        teams: z
          .array(
            z
              .string()
              .trim()
              .toLowerCase()
              .transform((team) => team.replace(/^team:/, ''))
              .refine((team) => team === '*' || /^[a-z0-9][a-z0-9_-]{0,63}$/.test(team), {
                message: 'must be a team name (finance, or team:finance) or *',
              }),
          )
          .max(100)
          .optional(),
      })
      .strict()
      .transform(
        (allow): ReviewerAdmission => ({
          domains: allow.domains ?? [],
          principals: allow.principals ?? [],
          teams: allow.teams ?? [],
        }),
      )
      .optional(),
    payload_reviewer_fallback: z.boolean().optional(),
    allow_timeout_approve: z.boolean().optional(),
    rules: z
      .array(rule)
      .max(50)
      .superRefine((rules, ctx) => {
        const names = new Set<string>();
        for (const [index, entry] of rules.entries()) {
          if (names.has(entry.name)) {
            ctx.addIssue({ code: 'custom', path: [index, 'name'], message: 'is used twice' });
          }
          names.add(entry.name);
        }
      })
      .optional(),
  })
  .strict();

/** An operator policy, durations in seconds. Fields left out come from the deployment's base. */
export type OperatorPolicy = z.output<typeof operatorPolicySchema>;

export interface ReviewerAdmission {
  /** Email domains whose addresses a request may name; `*` admits any address. */
  domains: string[];
  principals: string[];
  /** Team names (without `team:`) a request may name; `*` admits any team. */
  teams: string[];
}

/** What stands behind the policy that applied, for the `created` event. */
export interface PolicySource {
  name: string;
  version: number;
  source: 'api' | 'config' | 'built-in';
}

export interface StoredPolicy {
  intent_type: string;
  policy: OperatorPolicy;
  /** The body as the admin sent it (durations as written), returned by GET. */
  document: Record<string, unknown>;
  version: number;
  updated_at: string;
  updated_by: string;
}

/**
 * The base under every policy: what a field left out of a policy means. A deployment admits
 * request reviewers only in its configured domains (teams are admitted: their members are checked
 * against those domains when a team is written); local mode admits none, and its permissiveness
 * is a policy of its own (`LOCAL_DEFAULT_POLICY`).
 */
export interface PolicyBase {
  allow_request_reviewers: ReviewerAdmission;
  payload_reviewer_fallback: boolean;
  allow_timeout_approve: boolean;
  /** The shortest reminder spacing a request may ask for, in seconds. */
  reminder_floor_seconds: number;
}

/**
 * Local mode's `*` until an admin (or `policies.json`) sets one: any reviewer a request names,
 * `payload.reviewer`, approve-on-timeout; so the seed's four lines and second-scale policies work
 * out of the box. It is a policy, not the base: a policy an admin sets is read as in AWS.
 */
export const LOCAL_DEFAULT_POLICY: OperatorPolicy = {
  allow_request_reviewers: { domains: ['*'], principals: [], teams: ['*'] },
  payload_reviewer_fallback: true,
  allow_timeout_approve: true,
};

/** Local mode's base: a deployment's with no domain, and the 1 s reminder floor. */
export const LOCAL_BASE: PolicyBase = {
  allow_request_reviewers: { domains: [], principals: [], teams: [] },
  payload_reviewer_fallback: false,
  allow_timeout_approve: false,
  reminder_floor_seconds: 1,
};

export function deploymentBase(allowedDomains: readonly string[] | undefined): PolicyBase {
  return {
    allow_request_reviewers: { domains: [...(allowedDomains ?? [])], principals: [], teams: ['*'] },
    payload_reviewer_fallback: false,
    allow_timeout_approve: false,
    reminder_floor_seconds: 60,
  };
}

/** Policy names that could apply to `intentType`, most specific first: itself, `a.b.*`, `a.*`, `*`. */
export function candidatePatterns(intentType: string): string[] {
  const parts = intentType.split('.');
  const prefixes = parts
    .slice(0, -1)
    .map((_, index) => `${parts.slice(0, parts.length - 1 - index).join('.')}.*`);
  return [intentType, ...prefixes, '*'];
}

export interface IntentRequest {
  reviewers?: string[];
  policy?: PolicyInput;
  payload: Record<string, unknown>;
}

export interface EffectivePolicy {
  policy: ResolvedPolicy;
  /** Who the first step asks (emails and team references). */
  reviewers: string[];
  /** Reviewers (anywhere in the policy) that the request added rather than the operator. */
  addedByRequest: string[];
}

/**
 * The effective policy of a new intent: the operator's policy, plus what the request may add.
 * Throws 403 `policy_violation` (details name each field) for anything the policy forbids, and
 * 400 `validation_failed` where nobody at all would be asked.
 */
export function resolveIntentPolicy(
  operator: OperatorPolicy,
  base: PolicyBase,
  request: IntentRequest,
  configuredChannels: readonly NotificationChannel[],
): EffectivePolicy {
  const admission = operator.allow_request_reviewers ?? base.allow_request_reviewers;
  const fallback = operator.payload_reviewer_fallback ?? base.payload_reviewer_fallback;
  const allowTimeoutApprove = operator.allow_timeout_approve ?? base.allow_timeout_approve;
  const asked = request.policy ?? {};
  const violations: FieldIssue[] = [];
  const operatorReviewers = operator.reviewers ?? [];
  const operatorChain = operator.steps && operator.steps.length > 0 ? operator.steps : null;
  const quorum = Math.max(operator.required_approvals ?? 1, asked.required_approvals ?? 1);
  const added = new Set<string>();
  /**
   * A request may name only reviewers the policy admits. Naming one the operator already asks in
   * the very place the request widens adds nobody, so it is allowed (`alreadyThere`); an operator's
   * reviewer of another step or an escalation is not admitted anywhere else by being named there.
   */
  const admit = (
    field: string,
    reviewers: readonly string[],
    alreadyThere: readonly string[],
  ): string[] => {
    for (const reviewer of reviewers) {
      if (alreadyThere.includes(reviewer)) continue;
      if (admits(admission, reviewer)) added.add(reviewer);
      else violations.push({ field, message: `${reviewer} is not a reviewer this policy admits` });
    }
    return unique(reviewers);
  };

  // Who the request names outside a chain: `reviewers`, else the payload where the policy reads
  // it. A request's own chain replaces both, as in the contract.
  let requested: { field: string; reviewers: string[] } | undefined;
  if (asked.steps && asked.steps.length > 0) {
    requested = undefined;
  } else if (request.reviewers && request.reviewers.length > 0) {
    requested = { field: 'reviewers', reviewers: request.reviewers };
  } else if (fallback) {
    requested = payloadReviewers(request.payload);
  }

  // Steps a request adds come after everything the operator asks; they only add scrutiny, so the
  // operator's own reviewers may stand in them too.
  const everyOperatorReviewer = [
    ...operatorReviewers,
    ...(operatorChain ?? []).flatMap((step) => step.reviewers),
    ...(operator.escalate ?? []).flatMap((entry) => entry.to),
  ];
  const requestSteps = (asked.steps ?? []).map((step, index) => ({
    reviewers: admit(`policy.steps.${index}.reviewers`, step.reviewers, everyOperatorReviewer),
    required_approvals: step.required_approvals ?? 1,
  }));

  let steps: ResolvedStep[] | null = null;
  let reviewers: string[];
  if (operatorChain) {
    // The operator's chain stands as written (a request may raise a step's quorum); reviewers the
    // request names become a step of their own after it, never members of an operator's step.
    const ownStep = requested ? admit(requested.field, requested.reviewers, []) : [];
    steps = [
      ...operatorChain.map((step) => ({
        reviewers: unique(step.reviewers),
        required_approvals: Math.max(step.required_approvals ?? 1, asked.required_approvals ?? 1),
      })),
      ...(ownStep.length > 0
        ? [{ reviewers: ownStep, required_approvals: asked.required_approvals ?? 1 }]
        : []),
      ...requestSteps,
    ];
    reviewers = (steps[0] as ResolvedStep).reviewers;
    if ((asked.escalate ?? []).length > 0) {
      violations.push({
        field: 'policy.escalate',
        message: "a request may not add escalations to the operator's chain of steps",
      });
    }
  } else {
    // The operator's reviewers and the admitted ones the request names decide together, with
    // the larger quorum; a request's own steps follow them.
    const first = unique([
      ...operatorReviewers,
      ...(requested ? admit(requested.field, requested.reviewers, operatorReviewers) : []),
    ]);
    if (requestSteps.length > 0) {
      steps =
        first.length > 0
          ? [{ reviewers: first, required_approvals: quorum }, ...requestSteps]
          : requestSteps.map((step) => ({
              ...step,
              required_approvals: Math.max(step.required_approvals, quorum),
            }));
      reviewers = (steps[0] as ResolvedStep).reviewers;
    } else {
      reviewers = first;
    }
  }

  const escalate = [
    ...(operator.escalate ?? []).map((entry) => ({ after: entry.after, to: unique(entry.to) })),
    ...(operatorChain ? [] : (asked.escalate ?? [])).map((entry, index) => ({
      after: entry.after,
      to: admit(`policy.escalate.${index}.to`, entry.to, operatorReviewers),
    })),
  ].sort((a, b) => a.after - b.after);

  const remindAfter = mergeReminders(
    operator.remind_after,
    asked.remind_after,
    base.reminder_floor_seconds,
    violations,
  );

  const operatorTimeout = operator.timeout ?? {};
  const action: TimeoutAction =
    asked.timeout?.action ?? operatorTimeout.action ?? BUILT_IN_POLICY.timeout.action;
  const operatorAfter = operatorTimeout.after ?? BUILT_IN_POLICY.timeout.after;
  const after = asked.timeout?.after ?? operatorAfter;
  const operatorApproves = operatorTimeout.action === 'approve';
  if (action === 'approve' && !operatorApproves && !allowTimeoutApprove) {
    violations.push({
      field: 'policy.timeout.action',
      message: 'approve on timeout is not allowed by the policy of this intent type',
    });
  }
  // Where only the operator's own policy approves on timeout, a request may not hasten it.
  if (action === 'approve' && operatorApproves && !allowTimeoutApprove && after < operatorAfter) {
    violations.push({
      field: 'policy.timeout.after',
      message: `an approving timeout may not come sooner than the policy's ${operatorAfter}s`,
    });
  }

  // A request may add to the operator's channels, never take them away; where the operator
  // names none it may choose among the deployment's, but not leave people untold (a request for
  // the webhook alone still reaches the reviewers on the deployment's own channels).
  const configured = (wanted: readonly NotificationChannel[]) =>
    NOTIFICATION_CHANNELS.filter(
      (channel) => wanted.includes(channel) && configuredChannels.includes(channel),
    );
  const reachesPeople = (list: readonly NotificationChannel[]) =>
    list.some((channel) => channel === 'email' || channel === 'slack');
  let channels = configured([...(operator.channels ?? []), ...(asked.channels ?? [])]);
  if (!operator.channels && (!asked.channels || !reachesPeople(channels))) {
    channels = configured([...channels, ...configuredChannels]);
  }

  if (violations.length > 0) {
    throw new DomainError(
      'policy_violation',
      'The request asks for something the policy of this intent type does not allow.',
      { details: violations },
    );
  }
  if (reviewers.length === 0) {
    throw new DomainError('validation_failed', 'The request has invalid fields.', {
      details: [
        {
          field: 'reviewers',
          message: fallback
            ? 'name at least one reviewer (reviewers, policy.steps, or payload.reviewer)'
            : 'name at least one reviewer (reviewers or policy.steps); this intent type does not read payload.reviewer',
        },
      ],
    });
  }
  return {
    policy: {
      remind_after: remindAfter,
      escalate,
      timeout: { after, action },
      required_approvals: quorum,
      steps,
      channels,
      // The operator's choice stands; where it made none, the request's; else reminders wait.
      remind_in_working_hours:
        operator.remind_in_working_hours ?? asked.remind_in_working_hours ?? true,
    },
    reviewers,
    addedByRequest: [...added],
  };
}

/** Does the admission list let a request name this reviewer? */
export function admits(admission: ReviewerAdmission, reviewer: string): boolean {
  if (isTeamRef(reviewer)) {
    const team = reviewer.slice('team:'.length);
    return admission.teams.includes('*') || admission.teams.includes(team);
  }
  const address = reviewer.toLowerCase();
  if (admission.principals.includes(address)) return true;
  const domain = address.slice(address.lastIndexOf('@') + 1);
  return admission.domains.includes('*') || admission.domains.includes(domain);
}

/**
 * The operator's reminders, plus the request's. A request's reminders must each be at least
 * `floor` seconds after the first notice and after the one before (else 403); one closer than
 * the floor to an operator's reminder is dropped, as it adds only noise. Where the operator set
 * none, the request's list replaces the built-in default (an empty list: no reminders).
 */
function mergeReminders(
  operator: readonly number[] | undefined,
  requested: readonly number[] | undefined,
  floor: number,
  violations: FieldIssue[],
): number[] {
  const own = [...new Set(operator ?? [])].sort((a, b) => a - b);
  if (requested === undefined) return operator ? own : [...BUILT_IN_POLICY.remind_after];
  const sorted = [...new Set(requested)].sort((a, b) => a - b);
  let previous = 0;
  for (const value of sorted) {
    if (value - previous < floor) {
      violations.push({
        field: 'policy.remind_after',
        message: `reminders must be at least ${floor}s apart (and after the first notice)`,
      });
      return own;
    }
    previous = value;
  }
  const merged = [...own];
  for (const value of sorted) {
    if (own.every((kept) => Math.abs(kept - value) >= floor)) merged.push(value);
  }
  return merged.sort((a, b) => a - b);
}

function payloadReviewers(
  payload: Record<string, unknown>,
): { field: string; reviewers: string[] } | undefined {
  const value = payload.reviewers ?? payload.reviewer;
  if (value === undefined) return undefined;
  const field = typeof value === 'string' ? 'payload.reviewer' : 'payload.reviewers';
  const list = reviewerListSchema.safeParse(typeof value === 'string' ? [value] : value);
  if (!list.success) {
    throw new DomainError('validation_failed', 'The request has invalid fields.', {
      details: [{ field, message: 'must be an email address or team:<name> (or a list of them)' }],
    });
  }
  return { field, reviewers: list.data };
}

/** The first rule whose every condition holds for the payload, if any. */
export function matchingRule(
  rules: readonly PolicyRule[] | undefined,
  payload: Record<string, unknown>,
): PolicyRule | undefined {
  return rules?.find((candidate) => candidate.when.every((test) => conditionHolds(test, payload)));
}

type Condition = PolicyRule['when'][number];

function conditionHolds(test: Condition, payload: Record<string, unknown>): boolean {
  const found = resolvePointer(payload, test.pointer);
  if (test.op === 'exists') return found.present === (test.value ?? true);
  if (!found.present) return false;
  const actual = found.value;
  switch (test.op) {
    case 'eq':
      return jsonEqual(actual, test.value);
    case 'ne':
      return !jsonEqual(actual, test.value);
    case 'in':
      return (test.value as unknown[]).some((option) => jsonEqual(actual, option));
    case 'not_in':
      return !(test.value as unknown[]).some((option) => jsonEqual(actual, option));
    default:
      return compare(test.op, actual, test.value);
  }
}

function compare(op: 'lt' | 'lte' | 'gt' | 'gte', actual: unknown, expected: unknown): boolean {
  const comparable =
    (typeof actual === 'number' && typeof expected === 'number') ||
    (typeof actual === 'string' && typeof expected === 'string');
  if (!comparable) return false;
  const a = actual as number | string;
  const b = expected as number | string;
  if (op === 'lt') return a < b;
  if (op === 'lte') return a <= b;
  if (op === 'gt') return a > b;
  return a >= b;
}

/** RFC 6901 JSON Pointer lookup; `""` is the whole document. */
function resolvePointer(
  document: unknown,
  pointer: string,
): { present: true; value: unknown } | { present: false } {
  if (pointer === '') return { present: true, value: document };
  let current: unknown = document;
  for (const raw of pointer.slice(1).split('/')) {
    const token = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(current)) {
      if (!/^(0|[1-9]\d*)$/.test(token) || Number(token) >= current.length) {
        return { present: false };
      }
      current = current[Number(token)];
    } else if (current !== null && typeof current === 'object') {
      if (!Object.hasOwn(current, token)) return { present: false };
      current = (current as Record<string, unknown>)[token];
    } else {
      return { present: false };
    }
  }
  return { present: true, value: current };
}

function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((item, index) => jsonEqual(item, b[index]));
  }
  const aKeys = Object.keys(a);
  const bKeys = Object.keys(b);
  return (
    aKeys.length === bKeys.length &&
    aKeys.every((key) =>
      jsonEqual((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]),
    )
  );
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}

/**
 * Policies from configuration (the construct's `policies`, `DEFAULT_POLICIES`, the local
 * `policies.json`): `{ "<pattern>": <policy> }`. A bad entry throws an Error naming `source` and
 * the field, so a deployment (or `npm start`) fails at once instead of serving a policy it did
 * not mean. Policies stored through the API take precedence over these, pattern by pattern.
 */
export function parsePolicyDefaults(value: unknown, source: string): Map<string, OperatorPolicy> {
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    throw new Error(`${source} must be a JSON object keyed by intent_type (or "*")`);
  }
  const policies = new Map<string, OperatorPolicy>();
  for (const [pattern, policy] of Object.entries(value)) {
    if (!POLICY_PATTERN.test(pattern)) {
      throw new Error(`${source} has an invalid intent_type pattern: ${JSON.stringify(pattern)}`);
    }
    const parsed = operatorPolicySchema.safeParse(policy);
    if (!parsed.success) {
      const issues = parsed.error.issues.map(
        (issue) => `${[pattern, ...issue.path.map(String)].join('.')}: ${issue.message}`,
      );
      throw new Error(`${source} has an invalid policy: ${issues.join('; ')}`);
    }
    policies.set(pattern, parsed.data);
  }
  return policies;
}

/** A value JSON can carry as it is: finite numbers, no deeper than `depth` levels. */
function isPlainJson(value: unknown, depth: number): boolean {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value);
  if (depth <= 0 || typeof value !== 'object') return false;
  const items = Array.isArray(value) ? value : Object.values(value);
  return items.every((item) => isPlainJson(item, depth - 1));
}
