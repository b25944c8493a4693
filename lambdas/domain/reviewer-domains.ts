import type { FieldIssue } from './errors';
import type { IntentState } from './intent';
import { isTeamRef } from './policy';

/**
 * A deployment may restrict reviewers to its own email domains (`ALLOWED_REVIEWER_DOMAINS`),
 * so that an agent cannot route an approval to an outside address. Team references are not
 * emails; their members are checked when the team is written.
 */
export function parseAllowedDomains(raw: string | undefined): string[] | undefined {
  const domains = (raw ?? '')
    .split(',')
    .map((domain) => domain.trim().toLowerCase().replace(/^@/, ''))
    .filter(Boolean);
  return domains.length > 0 ? domains : undefined;
}

function isAllowedReviewer(email: string, allowed: readonly string[]): boolean {
  const domain = email.slice(email.lastIndexOf('@') + 1).toLowerCase();
  return allowed.includes(domain);
}

/** One issue per reviewer outside the allowed domains, named by where it appears. */
export function reviewerDomainIssues(
  candidates: { field: string; reviewers: readonly string[] }[],
  allowed: readonly string[] | undefined,
): FieldIssue[] {
  if (!allowed) return [];
  const message = `must be an address in ${allowed.join(', ')}`;
  return candidates.flatMap(({ field, reviewers }) =>
    reviewers
      .filter((reviewer) => !isTeamRef(reviewer) && !isAllowedReviewer(reviewer, allowed))
      .map((reviewer) => ({ field, message: `${reviewer} ${message}` })),
  );
}

/** Everyone a new intent may ask: the first reviewers, every step's, every escalation's. */
export function intentReviewerFields(
  intent: Pick<IntentState, 'asked' | 'policy'>,
): { field: string; reviewers: readonly string[] }[] {
  return [
    { field: 'reviewers', reviewers: intent.asked },
    ...(intent.policy.steps ?? []).map((step, index) => ({
      field: `policy.steps.${index}.reviewers`,
      reviewers: step.reviewers,
    })),
    ...intent.policy.escalate.map((escalation, index) => ({
      field: `policy.escalate.${index}.to`,
      reviewers: escalation.to,
    })),
  ];
}
