import type { PolicyRepository } from '../../lambdas/core/ports';
import {
  LOCAL_BASE,
  LOCAL_DEFAULT_POLICY,
  type PolicyBase,
  type StoredPolicy,
} from '../../lambdas/domain/operator-policy';

/**
 * Local mode in one base, for tests that resolve without a policy store: local mode's base with
 * its permissive `*` policy's fields, as `npm start` resolves an intent no policy matches.
 */
export const PERMISSIVE_BASE: PolicyBase = {
  ...LOCAL_BASE,
  allow_request_reviewers:
    LOCAL_DEFAULT_POLICY.allow_request_reviewers ?? LOCAL_BASE.allow_request_reviewers,
  payload_reviewer_fallback: true,
  allow_timeout_approve: true,
};

/** The policy store in memory, for core and handler tests that need no DynamoDB. */
export class InMemoryPolicyRepository implements PolicyRepository {
  private readonly items = new Map<string, StoredPolicy>();

  async getMany(patterns: readonly string[]): Promise<StoredPolicy[]> {
    return patterns.flatMap((pattern) => {
      const found = this.items.get(pattern);
      return found ? [structuredClone(found)] : [];
    });
  }

  async list(): Promise<StoredPolicy[]> {
    return [...this.items.values()]
      .map((policy) => structuredClone(policy))
      .sort((a, b) => a.intent_type.localeCompare(b.intent_type));
  }

  async put(policy: Omit<StoredPolicy, 'version'>): Promise<StoredPolicy> {
    const version = (this.items.get(policy.intent_type)?.version ?? 0) + 1;
    const stored = structuredClone({ ...policy, version });
    this.items.set(policy.intent_type, stored);
    return structuredClone(stored);
  }

  async delete(pattern: string): Promise<StoredPolicy | null> {
    const found = this.items.get(pattern) ?? null;
    this.items.delete(pattern);
    return found;
  }
}
