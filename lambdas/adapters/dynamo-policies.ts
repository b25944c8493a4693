import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import type { PolicyRepository } from '../core/ports';
import type { StoredPolicy } from '../domain/operator-policy';
import { DynamoTable } from './dynamo-store';
import { TABLE_KEYS } from './table-schema';

/**
 * Operator policies, one item each (`POLICY#<pattern>` / `POLICY`), listed through GSI1
 * (`POLICIES`). Every write is conditional on the version it replaces, so two admins writing at
 * once both get distinct versions and the `created` event names the exact version that applied.
 * A deleted policy leaves a tombstone with its last version, so a pattern's versions never repeat.
 * The policy and the admin's document are kept as JSON text: any JSON an admin sends is stored as
 * sent (DynamoDB's own number type would refuse large numbers, its maps deep nesting).
 */
const policyKey = (pattern: string) => ({ pk: `POLICY#${pattern}`, sk: 'POLICY' });
const PUT_ATTEMPTS = 5;

export class DynamoPolicyRepository extends DynamoTable implements PolicyRepository {
  async getMany(patterns: readonly string[]): Promise<StoredPolicy[]> {
    return (await this.itemsOf(patterns)).flatMap((item) => (item.deleted ? [] : [fromItem(item)]));
  }

  /** The items of `patterns`, tombstones included, in batches BatchGetItem accepts. */
  private async itemsOf(patterns: readonly string[]): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    for (let first = 0; first < patterns.length; first += 100) {
      const keys = patterns.slice(first, first + 100).map(policyKey);
      items.push(...(await this.batchGet(keys, { consistent: true })).values());
    }
    return items;
  }

  async list(): Promise<StoredPolicy[]> {
    const items = await this.queryAll({
      TableName: this.tableName,
      IndexName: TABLE_KEYS.gsi1.name,
      KeyConditionExpression: 'gsi1pk = :pk',
      ExpressionAttributeValues: { ':pk': 'POLICIES' },
    });
    return items
      .filter((item) => !item.deleted)
      .map(fromItem)
      .sort((a, b) => a.intent_type.localeCompare(b.intent_type));
  }

  async put(policy: Omit<StoredPolicy, 'version'>): Promise<StoredPolicy> {
    for (let attempt = 0; attempt < PUT_ATTEMPTS; attempt++) {
      const [current] = await this.itemsOf([policy.intent_type]);
      const currentVersion = current ? Number(current.version) : 0;
      const stored: StoredPolicy = { ...policy, version: currentVersion + 1 };
      try {
        await this.db.send(
          new PutCommand({
            TableName: this.tableName,
            Item: { ...itemOf(stored), gsi1pk: 'POLICIES', gsi1sk: policy.intent_type },
            ConditionExpression: current ? '#version = :version' : 'attribute_not_exists(pk)',
            ExpressionAttributeNames: current ? { '#version': 'version' } : undefined,
            ExpressionAttributeValues: current ? { ':version': currentVersion } : undefined,
          }),
        );
        return stored;
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      }
    }
    throw new Error(`policy ${policy.intent_type} kept changing during ${PUT_ATTEMPTS} writes`);
  }

  async delete(pattern: string): Promise<StoredPolicy | null> {
    const [current] = await this.getMany([pattern]);
    if (!current) return null;
    try {
      // The tombstone keeps the version (and leaves the listing), so the next PUT is newer.
      await this.db.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...policyKey(pattern), deleted: true, version: current.version },
          ConditionExpression: '#version = :version',
          ExpressionAttributeNames: { '#version': 'version' },
          ExpressionAttributeValues: { ':version': current.version },
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return this.delete(pattern);
      throw error;
    }
    return current;
  }
}

function itemOf(policy: StoredPolicy): Record<string, unknown> {
  return {
    ...policyKey(policy.intent_type),
    intent_type: policy.intent_type,
    version: policy.version,
    updated_at: policy.updated_at,
    updated_by: policy.updated_by,
    policy_json: JSON.stringify(policy.policy),
    document_json: JSON.stringify(policy.document),
  };
}

function fromItem(item: Record<string, unknown>): StoredPolicy {
  return {
    intent_type: String(item.intent_type),
    version: Number(item.version),
    updated_at: String(item.updated_at),
    updated_by: String(item.updated_by),
    policy: JSON.parse(String(item.policy_json)) as StoredPolicy['policy'],
    document: JSON.parse(String(item.document_json)) as StoredPolicy['document'],
  };
}
