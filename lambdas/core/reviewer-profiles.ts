import {
  isOutOfOffice,
  mergeProfile,
  profileInputSchema,
  type ReviewerProfile,
} from '../domain/availability';
import { DomainError } from '../domain/errors';
import { isEmail, normalizeReviewer } from '../domain/policy';
import { canonicalPrincipal, samePrincipal } from '../domain/principals';
import type { Profiles } from '../domain/reminder-holds';
import { reviewerDomainIssues } from '../domain/reviewer-domains';
import type { Principal } from './auth';
import type { Clock, ReviewerProfileRepository } from './ports';

/**
 * Reviewer profiles over the API: `PUT /v1/reviewers/{email}` by an admin or by the reviewer
 * (a reviewer key of that email, in any spelling), `GET` of one by the same, and the
 * catalogue (`GET /v1/reviewers?out_of_office=true`) for admins. A reviewer without a stored
 * profile reads as always available (UTC, no working hours, not away).
 */
export interface ReviewerProfileDeps {
  profiles: ReviewerProfileRepository;
  clock: Clock;
  /** Email domains reviewers (and so delegates) must belong to; absent means any. */
  allowedReviewerDomains?: readonly string[];
}

/** The profile as the API shows it: a stored one, or what having none means. */
export type ProfileView = Omit<ReviewerProfile, 'updated_at' | 'updated_by'> & {
  updated_at: string | null;
  updated_by: string | null;
};

/**
 * The path's email, percent-encoded or not (`ada%40x.com`), in its canonical spelling; `me` is
 * the calling reviewer's own.
 */
function reviewerEmail(raw: string, principal: Principal): string {
  if (raw === 'me') {
    if (principal.role !== 'reviewer') {
      throw new DomainError('validation_failed', 'The request has invalid fields.', {
        details: [
          { field: 'email', message: 'me is the calling reviewer; an admin names the email' },
        ],
      });
    }
    return normalizeReviewer(principal.name);
  }
  let decoded = raw;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    // Not valid percent-encoding: checked as given, and refused below.
  }
  const email = normalizeReviewer(decoded);
  if (!isEmail(email)) {
    throw new DomainError('validation_failed', 'The request has invalid fields.', {
      details: [{ field: 'email', message: 'must be an email address' }],
    });
  }
  return email;
}

function requireSelfOrAdmin(principal: Principal, email: string): void {
  if (principal.role === 'admin') return;
  if (principal.role === 'reviewer' && samePrincipal(principal.name, email)) return;
  throw new DomainError(
    'forbidden',
    'Only an admin or the reviewer may see or change this profile.',
  );
}

function view(email: string, profile: ReviewerProfile | null): ProfileView {
  return (
    profile ?? {
      email,
      time_zone: 'UTC',
      working_hours: null,
      out_of_office: null,
      updated_at: null,
      updated_by: null,
    }
  );
}

export async function putReviewerProfile(
  deps: ReviewerProfileDeps,
  principal: Principal,
  rawEmail: string,
  body: Record<string, unknown>,
): Promise<{ created: boolean; profile: ProfileView }> {
  const email = reviewerEmail(rawEmail, principal);
  requireSelfOrAdmin(principal, email);
  const input = profileInputSchema.parse(body);
  const stored = await deps.profiles.get(email);
  const merged = mergeProfile(
    email,
    stored,
    input,
    canonicalPrincipal(principal.name),
    deps.clock.now().toISOString(),
  );
  const issues =
    'field' in merged
      ? [merged]
      : reviewerDomainIssues(
          [
            {
              field: 'out_of_office.delegate',
              reviewers: merged.out_of_office ? [merged.out_of_office.delegate] : [],
            },
          ],
          deps.allowedReviewerDomains,
        );
  if ('field' in merged || issues.length > 0) {
    throw new DomainError('validation_failed', 'The request has invalid fields.', {
      details: issues,
    });
  }
  await deps.profiles.put(merged);
  return { created: stored === null, profile: merged };
}

export async function getReviewerProfile(
  deps: ReviewerProfileDeps,
  principal: Principal,
  rawEmail: string,
): Promise<ProfileView> {
  const email = reviewerEmail(rawEmail, principal);
  requireSelfOrAdmin(principal, email);
  return view(email, await deps.profiles.get(email));
}

export async function listReviewerProfiles(
  deps: ReviewerProfileDeps,
  principal: Principal,
  query: Record<string, string | undefined>,
): Promise<{ items: ReviewerProfile[] }> {
  if (principal.role !== 'admin') {
    throw new DomainError('forbidden', 'This needs one of the roles: admin.');
  }
  const unknown = Object.keys(query).filter((name) => name !== 'out_of_office');
  const away = query.out_of_office;
  if (unknown.length > 0 || (away !== undefined && away !== 'true' && away !== 'false')) {
    throw new DomainError('validation_failed', 'The request has invalid fields.', {
      details: [
        ...unknown.map((field) => ({ field, message: 'is not a filter of this list' })),
        ...(away !== undefined && away !== 'true' && away !== 'false'
          ? [{ field: 'out_of_office', message: 'must be true or false' }]
          : []),
      ],
    });
  }
  const now = deps.clock.now().getTime();
  const items = (await deps.profiles.list())
    .filter((profile) => away === undefined || isOutOfOffice(profile, now) === (away === 'true'))
    .sort((a, b) => a.email.localeCompare(b.email));
  return { items };
}

/**
 * The profiles the workflow needs for `emails`: theirs, and those of the delegates of whoever
 * is away at `at` (a delegate's working hours decide when their reminders go).
 */
export async function loadProfiles(
  profiles: ReviewerProfileRepository | undefined,
  emails: readonly string[],
  at: number,
): Promise<Profiles> {
  if (!profiles || emails.length === 0) return new Map();
  const found = await profiles.getMany(emails);
  const delegates = [...found.values()]
    .filter((profile) => isOutOfOffice(profile, at))
    .map((profile) => profile.out_of_office?.delegate ?? '')
    .filter((delegate) => delegate !== '' && !found.has(delegate));
  if (delegates.length > 0) {
    for (const [email, profile] of await profiles.getMany(delegates)) found.set(email, profile);
  }
  return found;
}
