import { z } from 'zod';
import { DomainError } from '../domain/errors';
import { intentTypePatternSchema } from '../domain/key-scope';
import { isEmail, normalizeReviewer } from '../domain/policy';
import { canonicalPrincipal } from '../domain/principals';
import { reviewerDomainIssues } from '../domain/reviewer-domains';
import { newApiKey, type Principal, publicKey, requireRole } from './auth';
import type { Clock, InboxCredentialStore, KeyRepository, Team, TeamRepository } from './ports';

export const createKeySchema = z
  .object({
    role: z.enum(['agent', 'reviewer', 'admin']),
    principal: z.string().trim().min(1).max(500),
    intent_types: z.array(intentTypePatternSchema).min(1).max(50).optional(),
    quota: z
      .object({
        intents_per_hour: z.number().int().min(1).max(1_000_000).optional(),
        notifications_per_hour: z.number().int().min(1).max(10_000_000).optional(),
      })
      .strict()
      .optional(),
  })
  .strict()
  .superRefine((input, ctx) => {
    for (const field of ['intent_types', 'quota'] as const) {
      if (input.role !== 'agent' && input[field] !== undefined) {
        ctx.addIssue({ code: 'custom', path: [field], message: 'applies to agent keys only' });
      }
    }
  });

export async function createKey(
  keys: KeyRepository,
  clock: Clock,
  principal: Principal,
  body: Record<string, unknown>,
  allowedReviewerDomains?: readonly string[],
) {
  requireRole(principal, 'admin');
  const input = createKeySchema.parse(body);
  const name =
    input.role === 'reviewer'
      ? normalizeReviewer(input.principal)
      : canonicalPrincipal(input.principal);
  if (input.role === 'reviewer' && !isEmail(name)) {
    throw new DomainError('validation_failed', 'A reviewer key belongs to an email address.', {
      details: [{ field: 'principal', message: 'must be an email address for the reviewer role' }],
    });
  }
  if (input.role === 'reviewer') {
    assertAllowedReviewers('principal', [name], allowedReviewerDomains);
  }
  const { key, record } = newApiKey(input.role, name, clock.now(), {
    ...(input.intent_types ? { intent_types: [...new Set(input.intent_types)] } : {}),
    ...(input.quota ? { quota: input.quota } : {}),
  });
  await keys.put(record);
  return { ...publicKey(record), key };
}

export async function listKeys(keys: KeyRepository, principal: Principal) {
  requireRole(principal, 'admin');
  return { items: (await keys.list()).map(publicKey) };
}

/**
 * Revokes a key. A reviewer key's revocation also ends its reviewer's inbox sessions (all of
 * them: a session is not tied to a key), so that whoever lost their key loses the inbox too.
 */
export async function revokeKey(
  keys: KeyRepository,
  clock: Clock,
  principal: Principal,
  id: string,
  inbox?: Pick<InboxCredentialStore, 'deleteSessionsOf'>,
) {
  requireRole(principal, 'admin');
  const record = await keys.revoke(id, clock.now().toISOString());
  if (!record) throw new DomainError('not_found', 'No such key.');
  if (record.role === 'reviewer' && inbox) await inbox.deleteSessionsOf(record.principal);
  return publicKey(record);
}

export const teamSchema = z
  .object({
    name: z
      .string()
      .regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'must be lowercase letters, digits, - or _'),
    members: z
      .array(z.string().transform(normalizeReviewer).refine(isEmail, 'must be an email address'))
      .min(1)
      .max(100),
    slack_channel: z.string().max(40).nullable().optional(),
  })
  .strict();

export async function putTeam(
  teams: TeamRepository,
  clock: Clock,
  principal: Principal,
  body: Record<string, unknown>,
  allowedReviewerDomains?: readonly string[],
): Promise<{ created: boolean; team: Team }> {
  requireRole(principal, 'admin');
  const input = teamSchema.parse(body);
  assertAllowedReviewers('members', input.members, allowedReviewerDomains);
  const existing = await teams.get(input.name);
  const team: Team = {
    name: input.name,
    members: [...new Set(input.members)],
    slack_channel: input.slack_channel ?? null,
    updated_at: clock.now().toISOString(),
  };
  await teams.put(team);
  return { created: existing === null, team };
}

export async function listTeams(teams: TeamRepository, principal: Principal) {
  requireRole(principal, 'admin');
  return { items: await teams.list() };
}

export async function deleteTeam(teams: TeamRepository, principal: Principal, name: string) {
  requireRole(principal, 'admin');
  const team = await teams.get(name);
  if (!team || !(await teams.delete(name))) throw new DomainError('not_found', 'No such team.');
  return team;
}

function assertAllowedReviewers(
  field: string,
  reviewers: readonly string[],
  allowed: readonly string[] | undefined,
): void {
  const issues = reviewerDomainIssues([{ field, reviewers }], allowed);
  if (issues.length > 0) {
    throw new DomainError('validation_failed', 'The request has invalid fields.', {
      details: issues,
    });
  }
}
