import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { PolicyRepository } from '../core/ports';
import type { StoredPolicy } from '../domain/operator-policy';
import { DynamoTable } from './dynamo-store';
import { TABLE_KEYS } from './table-schema';

/**
 * Operator policies, one item each (`POLICY#<pattern>` / `POLICY`), listed through GSI1
 * (`POLICIES`). Every write is conditional on the version it replaces, so two admins writing at
 * once both get distinct versions and the `created` event names the exact version that applied.
 */
const policyKey = (pattern: string) => ({ pk: `POLICY#${pattern}`, sk: 'POLICY' });
const PUT_ATTEMPTS = 5;

export class DynamoPolicyRepository extends DynamoTable implements PolicyRepository {
  async getMany(patterns: readonly string[]): Promise<StoredPolicy[]> {
    if (patterns.length === 0) return [];
    const found = await this.batchGet(patterns.map(policyKey), { consistent: true });
    return [...found.values()].map(fromItem);
  }

  async list(): Promise<StoredPolicy[]> {
    const items = await this.queryAll({
      TableName: this.tableName,
      IndexName: TABLE_KEYS.gsi1.name,
      KeyConditionExpression: 'gsi1pk = :pk',
      ExpressionAttributeValues: { ':pk': 'POLICIES' },
    });
    return items.map(fromItem).sort((a, b) => a.intent_type.localeCompare(b.intent_type));
  }

  async put(policy: Omit<StoredPolicy, 'version'>): Promise<StoredPolicy> {
    for (let attempt = 0; attempt < PUT_ATTEMPTS; attempt++) {
      const [current] = await this.getMany([policy.intent_type]);
      const stored: StoredPolicy = { ...policy, version: (current?.version ?? 0) + 1 };
      try {
        await this.db.send(
          new PutCommand({
            TableName: this.tableName,
            Item: {
              ...policyKey(policy.intent_type),
              gsi1pk: 'POLICIES',
              gsi1sk: policy.intent_type,
              ...stored,
            },
            ConditionExpression: current ? '#version = :version' : 'attribute_not_exists(pk)',
            ExpressionAttributeNames: current ? { '#version': 'version' } : undefined,
            ExpressionAttributeValues: current ? { ':version': current.version } : undefined,
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
    const result = await this.db.send(
      new DeleteCommand({
        TableName: this.tableName,
        Key: policyKey(pattern),
        ReturnValues: 'ALL_OLD',
      }),
    );
    return result.Attributes ? fromItem(result.Attributes) : null;
  }
}

function fromItem(item: Record<string, unknown>): StoredPolicy {
  const { pk: _pk, sk: _sk, gsi1pk: _a, gsi1sk: _b, ...rest } = item;
  return rest as unknown as StoredPolicy;
}
