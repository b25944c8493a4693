import { z } from 'zod';
import { parseDuration } from './durations';
import { DomainError } from './errors';
import { NOTIFICATION_CHANNELS, type ResolvedPolicy } from './intent';

/** The contract's built-in defaults: reminders at 5 and 30 minutes, timeout after 8 hours rejecting. */
export const BUILT_IN_POLICY: ResolvedPolicy = {
  remind_after: [300, 1800],
  escalate: [],
  timeout: { after: 8 * 3600, action: 'reject' },
  required_approvals: 1,
  steps: null,
  channels: [...NOTIFICATION_CHANNELS],
  remind_in_working_hours: true,
};

/** Whether reminders wait for working hours (the default; intents older than the field too). */
export function remindsInWorkingHours(policy: ResolvedPolicy): boolean {
  return policy.remind_in_working_hours !== false;
}

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
    remind_in_working_hours: z.boolean().optional(),
  })
  .strict();

export type PolicyInput = z.infer<typeof policyInputSchema>;

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
