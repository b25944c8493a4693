import { z } from 'zod';
import { DomainError } from '../domain/errors';
import {
  candidatePatterns,
  matchingRule,
  type OperatorPolicy,
  operatorPolicySchema,
  POLICY_PATTERN,
  type PolicySource,
  type StoredPolicy,
} from '../domain/operator-policy';
import { type Principal, requireRole } from './auth';
import type { Clock, IntentRepository, PolicyRepository } from './ports';

/**
 * Operator policies: the admin API over the policy store, and the lookup every create makes.
 * The most specific pattern wins (`intent.payment.v1`, then `intent.payment.*`, `intent.*`, `*`);
 * at the same pattern a policy stored through the API wins over one from configuration.
 */
export interface PolicyServiceDeps {
  policies: PolicyRepository;
  /** Policies from the deployment's configuration (construct props, `policies.json`). */
  configured: ReadonlyMap<string, OperatorPolicy>;
  clock: Clock;
  /** Where no policy matches: local mode's permissive `*`. @default - no policy (the base alone) */
  fallback?: OperatorPolicy;
}

const NO_POLICY: OperatorPolicy = {};

export async function policyFor(
  deps: PolicyServiceDeps,
  intentType: string,
): Promise<{ policy: OperatorPolicy; source: PolicySource }> {
  const patterns = candidatePatterns(intentType);
  const stored = new Map((await deps.policies.getMany(patterns)).map((p) => [p.intent_type, p]));
  for (const pattern of patterns) {
    const fromApi = stored.get(pattern);
    if (fromApi) {
      return {
        policy: fromApi.policy,
        source: { name: pattern, version: fromApi.version, source: 'api' },
      };
    }
    const fromConfig = deps.configured.get(pattern);
    if (fromConfig)
      return { policy: fromConfig, source: { name: pattern, version: 0, source: 'config' } };
  }
  return {
    policy: deps.fallback ?? NO_POLICY,
    source: { name: deps.fallback ? '*' : 'built-in', version: 0, source: 'built-in' },
  };
}

export function policyView(stored: StoredPolicy) {
  return {
    intent_type: stored.intent_type,
    version: stored.version,
    updated_at: stored.updated_at,
    updated_by: stored.updated_by,
    ...stored.document,
  };
}

function checkedPattern(pattern: string): string {
  if (!POLICY_PATTERN.test(pattern) || pattern.length > 200) {
    throw new DomainError('validation_failed', 'The intent type pattern is invalid.', {
      details: [
        {
          field: 'intent_type',
          message: 'must be an intent type, a prefix ending in .* (intent.payment.*), or *',
        },
      ],
    });
  }
  return pattern;
}

export async function putPolicy(
  deps: PolicyServiceDeps,
  principal: Principal,
  pattern: string,
  body: Record<string, unknown>,
): Promise<{ created: boolean; policy: ReturnType<typeof policyView> }> {
  requireRole(principal, 'admin');
  const intentType = checkedPattern(pattern);
  const policy = operatorPolicySchema.parse(body);
  const stored = await deps.policies.put({
    intent_type: intentType,
    policy,
    document: body,
    updated_at: deps.clock.now().toISOString(),
    updated_by: principal.name,
  });
  return { created: stored.version === 1, policy: policyView(stored) };
}

export async function getPolicy(deps: PolicyServiceDeps, principal: Principal, pattern: string) {
  requireRole(principal, 'admin');
  const [stored] = await deps.policies.getMany([checkedPattern(pattern)]);
  if (!stored) throw new DomainError('not_found', 'No policy is stored for this intent type.');
  return policyView(stored);
}

export async function listPolicies(deps: PolicyServiceDeps, principal: Principal) {
  requireRole(principal, 'admin');
  const stored = await deps.policies.list();
  const configured = [...deps.configured.keys()]
    .filter((pattern) => !stored.some((policy) => policy.intent_type === pattern))
    .map((pattern) => ({ intent_type: pattern, source: 'config' as const }));
  return {
    items: stored.map((policy) => ({ ...policyView(policy), source: 'api' as const })),
    configured,
  };
}

export async function deletePolicy(deps: PolicyServiceDeps, principal: Principal, pattern: string) {
  requireRole(principal, 'admin');
  const removed = await deps.policies.delete(checkedPattern(pattern));
  if (!removed) throw new DomainError('not_found', 'No policy is stored for this intent type.');
  return policyView(removed);
}

export const dryRunSchema = z
  .object({
    intent_type: z.string().min(1).max(200),
    policy: operatorPolicySchema,
    limit: z.number().int().min(1).max(500).optional(),
  })
  .strict();

const LIST_PAGE = 100;

/**
 * What a policy's rules would have decided for the most recent intents of one type, so that an
 * operator sees a rule's effect before turning it on. Reads only; changes nothing.
 */
export async function dryRunPolicy(
  deps: { intents: IntentRepository },
  principal: Principal,
  body: Record<string, unknown>,
) {
  requireRole(principal, 'admin');
  const input = dryRunSchema.parse(body);
  const limit = input.limit ?? 100;
  const items: {
    id: string;
    created_at: string;
    would: 'approve' | 'reject' | 'ask';
    rule: string | null;
  }[] = [];
  let cursor: string | undefined;
  do {
    const page = await deps.intents.list({
      intentType: input.intent_type,
      limit: Math.min(LIST_PAGE, limit - items.length),
      cursor,
    });
    for (const intent of page.items) {
      const rule = matchingRule(input.policy.rules, intent.payload);
      items.push({
        id: intent.id,
        created_at: intent.created_at,
        would: rule ? rule.effect : 'ask',
        rule: rule?.name ?? null,
      });
    }
    cursor = page.nextCursor ?? undefined;
  } while (cursor && items.length < limit);
  const count = (would: string) => items.filter((item) => item.would === would).length;
  return {
    items,
    summary: {
      total: items.length,
      approve: count('approve'),
      reject: count('reject'),
      ask: count('ask'),
    },
  };
}
