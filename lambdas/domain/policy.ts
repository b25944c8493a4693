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

export function assertReviewersCanReachQuorum(policy: ResolvedPolicy, reviewers: string[]): void {
  const hasTeam = reviewers.some(isTeamRef);
  const escalationAdds = policy.escalate.reduce((n, entry) => n + entry.to.length, 0);
  if (
    !hasTeam &&
    policy.steps === null &&
    reviewers.length + escalationAdds < policy.required_approvals
  ) {
    throw new DomainError(
      'validation_failed',
      'The quorum cannot be reached by the reviewers asked.',
      {
        details: [
          {
            field: 'policy.required_approvals',
            message: `needs ${policy.required_approvals} distinct approvals but only ${reviewers.length + escalationAdds} reviewers are asked`,
          },
        ],
      },
    );
  }
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}
