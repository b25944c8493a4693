import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { ApiKeyRecord, KeyRepository } from '../../core/ports';
import { Coalescer } from '../coalescer';
import { TABLE_KEYS } from '../table-schema';
import { IN_FLIGHT } from './group-commit';
import { keyOf, stripKeys } from './intent-items';
import { DynamoTable } from './table';

/** Up to 100 keys per BatchGetItem. */
const LOOKUP_BATCH = 100;

/**
 * API keys, found by the SHA-256 of the key; the key itself is never stored. Lookups read
 * consistently (twice the read cost of an eventually consistent read, still one read unit per
 * request): an eventually consistent read may answer from before a revocation, so a revoked
 * key would go on working for a moment after `DELETE /v1/keys/{id}` answered.
 */
export class DynamoKeyRepository extends DynamoTable implements KeyRepository {
  /**
   * Every API request looks its key up: concurrent lookups share one BatchGetItem (a local-stack
   * optimisation; a Lambda container's lookups go out alone).
   */
  private readonly lookups = new Coalescer<string, ApiKeyRecord | null>(
    (keyHash) => this.findOne(keyHash),
    async (keyHashes) => {
      const keys = [...new Set(keyHashes)].map((hash) => ({ pk: `APIKEY#${hash}`, sk: 'APIKEY' }));
      const found = await this.batchGet(keys, { consistent: true });
      return keyHashes.map((hash) => {
        const item = found.get(keyOf({ pk: `APIKEY#${hash}`, sk: 'APIKEY' }));
        return { ok: true, value: item ? stripKeys<ApiKeyRecord>(item) : null };
      });
    },
    { maxBatch: LOOKUP_BATCH, maxInFlight: IN_FLIGHT },
  );

  findByHash(keyHash: string): Promise<ApiKeyRecord | null> {
    return this.lookups.run(keyHash);
  }

  private async findOne(keyHash: string): Promise<ApiKeyRecord | null> {
    const result = await this.db.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk: `APIKEY#${keyHash}`, sk: 'APIKEY' },
        ConsistentRead: true,
      }),
    );
    return result.Item ? stripKeys<ApiKeyRecord>(result.Item) : null;
  }

  async put(record: ApiKeyRecord): Promise<void> {
    await this.db.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          pk: `APIKEY#${record.key_hash}`,
          sk: 'APIKEY',
          gsi1pk: 'APIKEYS',
          gsi1sk: `${record.created_at}#${record.id}`,
          ...record,
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  }

  async list(): Promise<ApiKeyRecord[]> {
    const items = await this.queryAll({
      TableName: this.tableName,
      IndexName: TABLE_KEYS.gsi1.name,
      KeyConditionExpression: 'gsi1pk = :pk',
      ExpressionAttributeValues: { ':pk': 'APIKEYS' },
    });
    return items.map((item) => stripKeys<ApiKeyRecord>(item));
  }

  async revoke(id: string, at: string): Promise<ApiKeyRecord | null> {
    const record = (await this.list()).find((key) => key.id === id);
    if (!record) return null;
    if (record.revoked_at) return record;
    const result = await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: `APIKEY#${record.key_hash}`, sk: 'APIKEY' },
        UpdateExpression: 'SET revoked_at = :at',
        ConditionExpression:
          'attribute_exists(pk) AND attribute_not_exists(revoked_at) OR revoked_at = :null',
        ExpressionAttributeValues: { ':at': at, ':null': null },
        ReturnValues: 'ALL_NEW',
      }),
    );
    return result.Attributes ? stripKeys<ApiKeyRecord>(result.Attributes) : null;
  }
}
