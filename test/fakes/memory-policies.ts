import type { PolicyRepository } from '../../lambdas/core/ports';
import type { StoredPolicy } from '../../lambdas/domain/operator-policy';

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
