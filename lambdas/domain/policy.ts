import { z } from 'zod';
import { parseDuration } from './durations';
import { DomainError, type FieldIssue } from './errors';
import {
  NOTIFICATION_CHANNELS,
  type NotificationChannel,
  type ResolvedPolicy,
  type ResolvedStep,
} from './intent';

/** The contract's built-in defaults: reminders at 5 and 30 minutes, timeout after 8 hours rejecting. */
export const BUILT_IN_POLICY: ResolvedPolicy = {
  remind_after: [300, 1800],
  escalate: [],
  timeout: { after: 8 * 3600, action: 'reject' },
  required_approvals: 1,
  steps: null,
  channels: [...NOTIFICATION_CHANNELS],
};

const EMAIL =
  /^[^\s@<>()[\]\\,;:"]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)+$/;
const TEAM = /^team:[a-z0-9][a-z0-9_-]{0,63}$/;

export function isEmail(value: string): boolean {
  return value.length <= 254 && EMAIL.test(value);
}

export function isTeamRef(value: string): boolean {
  return TEAM.test(value);
}

/** Emails compare case-insensitively; we keep them lower-cased everywhere. */
export function normalizeReviewer(value: string): string {
  return value.trim().toLowerCase();
}

const reviewer = z
  .string()
  .max(254)
  .transform(normalizeReviewer)
  .refine((value) => isEmail(value) || isTeamRef(value), {
    message: 'must be an email address or team:<name>',
  });

export const reviewerListSchema = z.array(reviewer).min(1).max(50);
const reviewerList = reviewerListSchema;

const duration = z.union([z.string().max(40), z.number()]).transform((value, ctx) => {
  const parsed = parseDuration(value);
  if ('error' in parsed) {
    ctx.addIssue({ code: 'custom', message: parsed.error });
    return z.NEVER;
  }
  return parsed.seconds;
});

const approvalsCount = z.number().int().min(1).max(50);

export const policyInputSchema = z
  .object({
    remind_after: z.array(duration).max(20).optional(),
    escalate: z
      .array(z.object({ after: duration, to: reviewerList }).strict())
      .max(10)
      .optional(),
    timeout: z
      .object({ after: duration.optional(), action: z.enum(['reject', 'approve']).optional() })
      .strict()
      .optional(),
    required_approvals: approvalsCount.optional(),
    steps: z
      .array(
        z
          .object({ reviewers: reviewerList, required_approvals: approvalsCount.optional() })
          .strict(),
      )
      .min(1)
      .max(10)
      .nullable()
      .optional(),
    channels: z.array(z.enum(NOTIFICATION_CHANNELS)).min(1).max(3).optional(),
  })
  .strict();

export type PolicyInput = z.infer<typeof policyInputSchema>;

/**
 * Deployment defaults by intent type: `{ "<intent_type>": <policy>, "*": <policy> }`, each a
 * request policy (same fields, same durations). An intent type's own entry wins over `"*"`;
 * they are not merged. A bad entry throws an Error naming `source` and the field, so that a
 * deployment (or `npm start`) fails at once instead of serving with defaults it did not mean.
 */
export function parsePolicyDefaults(value: unknown, source: string): Map<string, PolicyInput> {
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    throw new Error(`${source} must be a JSON object keyed by intent_type (or "*")`);
  }
  const defaults = new Map<string, PolicyInput>();
  for (const [intentType, policy] of Object.entries(value)) {
    const parsed = policyInputSchema.safeParse(policy);
    if (!parsed.success) {
      const issues = parsed.error.issues.map(
        (issue) => `${[intentType, ...issue.path.map(String)].join('.')}: ${issue.message}`,
      );
      throw new Error(`${source} has an invalid policy: ${issues.join('; ')}`);
    }
    defaults.set(intentType, parsed.data);
  }
  return defaults;
}

/** The deployment's defaults for one intent type: its own entry, else `"*"`. */
export function defaultsForType(
  defaults: Map<string, PolicyInput>,
  intentType: string,
): PolicyInput | undefined {
  return defaults.get(intentType) ?? defaults.get('*');
}

/**
 * Resolves the policy in layers: the request's own fields, then the deployment's defaults for
 * this intent type, then the built-in defaults. The result is stored on the intent, so every
 * reminder, escalation and timeout can be explained from the intent alone.
 */
export function resolvePolicy(
  request: PolicyInput | undefined,
  deploymentDefaults: PolicyInput | undefined,
  configuredChannels: readonly NotificationChannel[],
): ResolvedPolicy {
  const layers = [request ?? {}, deploymentDefaults ?? {}];
  const pick = <K extends keyof PolicyInput>(key: K): PolicyInput[K] | undefined =>
    layers.find((layer) => layer[key] !== undefined)?.[key];

  const requiredApprovals = pick('required_approvals') ?? BUILT_IN_POLICY.required_approvals;
  const steps: ResolvedStep[] | null =
    pick('steps')?.map((step) => ({
      reviewers: unique(step.reviewers),
      required_approvals: step.required_approvals ?? 1,
    })) ?? null;
  const timeoutLayer = layers.map((layer) => layer.timeout).filter((t) => t !== undefined);
  const channels = (pick('channels') ?? configuredChannels).filter((channel) =>
    configuredChannels.includes(channel),
  );

  return {
    remind_after: [...new Set(pick('remind_after') ?? BUILT_IN_POLICY.remind_after)].sort(
      (a, b) => a - b,
    ),
    escalate: [...(pick('escalate') ?? [])]
      .map((entry) => ({ after: entry.after, to: unique(entry.to) }))
      .sort((a, b) => a.after - b.after),
    timeout: {
      after:
        timeoutLayer.find((t) => t.after !== undefined)?.after ?? BUILT_IN_POLICY.timeout.after,
      action:
        timeoutLayer.find((t) => t.action !== undefined)?.action ?? BUILT_IN_POLICY.timeout.action,
    },
    required_approvals: requiredApprovals,
    steps,
    channels,
  };
}

/**
 * Who is asked first: the policy's first step, else `reviewers`, else the seed's
 * `payload.reviewer` / `payload.reviewers`, so the four-line agent flow works unchanged.
 */
export function initialReviewers(
  policy: ResolvedPolicy,
  reviewers: string[] | undefined,
  payload: Record<string, unknown>,
): { reviewers: string[]; issues: FieldIssue[] } {
  const firstStep = policy.steps?.[0];
  if (firstStep) return { reviewers: firstStep.reviewers, issues: [] };
  if (reviewers && reviewers.length > 0) return { reviewers: unique(reviewers), issues: [] };

  const fromPayload = payload.reviewers ?? payload.reviewer;
  const candidates = typeof fromPayload === 'string' ? [fromPayload] : fromPayload;
  if (candidates === undefined) {
    return {
      reviewers: [],
      issues: [
        {
          field: 'reviewers',
          message: 'name at least one reviewer (reviewers, policy.steps, or payload.reviewer)',
        },
      ],
    };
  }
  const parsed = reviewerList.safeParse(candidates);
  if (!parsed.success) {
    return {
      reviewers: [],
      issues: [
        {
          field: typeof fromPayload === 'string' ? 'payload.reviewer' : 'payload.reviewers',
          message: 'must be an email address or team:<name> (or a list of them)',
        },
      ],
    };
  }
  return { reviewers: unique(parsed.data), issues: [] };
}

/** Quorum of the current step: a step's own count, else the policy's. Never more than can vote. */
export function requiredApprovalsFor(policy: ResolvedPolicy, step: number): number {
  const chainStep = policy.steps?.[step];
  return chainStep ? chainStep.required_approvals : policy.required_approvals;
}

/**
 * Refuses a quorum that can never be met: fewer distinct reviewers (plus those every escalation
 * adds) than the approvals required, for the intent or, in a chain, for any step. A team may
 * have any number of members, so a step with a team is not checked.
 */
export function assertReviewersCanReachQuorum(policy: ResolvedPolicy, reviewers: string[]): void {
  const escalationAdds = new Set(policy.escalate.flatMap((entry) => entry.to));
  const groups: { field: string; reviewers: string[]; required: number }[] = policy.steps
    ? policy.steps.map((step, index) => ({
        field: `policy.steps.${index}.required_approvals`,
        reviewers: step.reviewers,
        required: step.required_approvals,
      }))
    : [{ field: 'policy.required_approvals', reviewers, required: policy.required_approvals }];
  const details = groups.flatMap((group) => {
    const asked = new Set([...group.reviewers, ...escalationAdds]);
    if ([...asked].some(isTeamRef) || asked.size >= group.required) return [];
    return [
      {
        field: group.field,
        message: `needs ${group.required} distinct approvals but only ${asked.size} reviewers are asked`,
      },
    ];
  });
  if (details.length > 0) {
    throw new DomainError(
      'validation_failed',
      'The quorum cannot be reached by the reviewers asked.',
      { details },
    );
  }
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}
