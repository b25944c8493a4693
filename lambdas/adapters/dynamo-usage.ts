import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { UsageCounter, UsageMeter } from '../core/ports';
import { TABLE_KEYS } from './table-schema';

/**
 * Quota counters on the single table: one item per key, counter and window of the clock
 * (`USAGE#<key id>` / `<counter>#<window start>`), taken with a conditional `ADD`, so that
 * concurrent requests never take more than the limit, read with a consistent GetItem (`used`),
 * and deleted by the table's TTL an hour after the window ends. The window is an hour; the local stack may shorten it for tests.
 */
export class DynamoUsageMeter implements UsageMeter {
  private readonly windowMs: number;

  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
    windowSeconds = 3600,
  ) {
    this.windowMs = windowSeconds * 1000;
  }

  async take(
    keyId: string,
    counter: UsageCounter,
    limit: number,
    at: Date,
  ): Promise<{ ok: true } | { ok: false; retryAfterSeconds: number }> {
    const start = this.windowStart(at);
    const end = start + this.windowMs;
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: this.key(keyId, counter, start),
          UpdateExpression: 'ADD #count :one SET #ttl = :ttl',
          ConditionExpression: 'attribute_not_exists(#count) OR #count < :limit',
          ExpressionAttributeNames: { '#count': 'count', '#ttl': TABLE_KEYS.timeToLive },
          ExpressionAttributeValues: {
            ':one': 1,
            ':limit': limit,
            ':ttl': Math.ceil(end / 1000) + 3600,
          },
        }),
      );
      return { ok: true };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      return { ok: false, retryAfterSeconds: this.retryAfterSeconds(at) };
    }
  }

  async used(
    keyId: string,
    counter: UsageCounter,
    at: Date,
  ): Promise<{ count: number; retryAfterSeconds: number }> {
    const found = await this.db.send(
      new GetCommand({
        TableName: this.tableName,
        Key: this.key(keyId, counter, this.windowStart(at)),
        ConsistentRead: true,
        ProjectionExpression: '#count',
        ExpressionAttributeNames: { '#count': 'count' },
      }),
    );
    const count = found.Item?.count;
    return {
      count: typeof count === 'number' ? count : 0,
      retryAfterSeconds: this.retryAfterSeconds(at),
    };
  }

  async giveBack(keyId: string, counter: UsageCounter, at: Date): Promise<void> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: this.key(keyId, counter, this.windowStart(at)),
          UpdateExpression: 'ADD #count :minus',
          ConditionExpression: '#count > :zero',
          ExpressionAttributeNames: { '#count': 'count' },
          ExpressionAttributeValues: { ':minus': -1, ':zero': 0 },
        }),
      );
    } catch (error) {
      // Nothing left to give back (the window's item expired): nothing to do.
      if (!isConditionFailure(error)) throw error;
    }
  }

  /** The whole seconds until the window of `at` ends, at least 1. */
  private retryAfterSeconds(at: Date): number {
    const end = this.windowStart(at) + this.windowMs;
    return Math.max(1, Math.ceil((end - at.getTime()) / 1000));
  }

  private windowStart(at: Date): number {
    return Math.floor(at.getTime() / this.windowMs) * this.windowMs;
  }

  private key(keyId: string, counter: UsageCounter, start: number) {
    return { pk: `USAGE#${keyId}`, sk: `${counter}#${new Date(start).toISOString()}` };
  }
}

function isConditionFailure(error: unknown): boolean {
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}
