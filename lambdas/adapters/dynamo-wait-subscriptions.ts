import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  PutCommand,
  QueryCommand,
} from '@aws-sdk/lib-dynamodb';
import type { Role } from '../core/ports';
import {
  SUBSCRIPTION_TTL_SECONDS,
  type WaitSubscriber,
  type WaitSubscriptions,
} from '../core/wait-channel';
import { TABLE_KEYS } from './table-schema';

/**
 * The wait channel's subscriptions in AWS, on the single table: one item per intent and
 * WebSocket connection (`WAIT#<intent id>` / `CONN#<connection id>`), holding who subscribed
 * (role, principal, the key's hash: never the key) and deleted by the table's TTL three hours
 * on, after API Gateway has closed the connection (it keeps one at most two hours). The push
 * reads an intent's subscriptions with one Query and deletes them once told.
 */
const PREFIX = 'WAIT#';
const CONNECTION = 'CONN#';

export interface StoredSubscription extends WaitSubscriber {
  connectionId: string;
}

export class DynamoWaitSubscriptions {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** The subscriptions of one connection, as the subscribe handler records them. */
  forConnection(connectionId: string): WaitSubscriptions {
    return {
      add: async (intentId, subscriber) => {
        await this.db.send(
          new PutCommand({
            TableName: this.tableName,
            Item: {
              pk: `${PREFIX}${intentId}`,
              sk: `${CONNECTION}${connectionId}`,
              role: subscriber.role,
              principal: subscriber.name,
              key_hash: subscriber.keyHash,
              key_checked_at: subscriber.keyCheckedAt,
              [TABLE_KEYS.timeToLive]:
                Math.ceil(this.now().getTime() / 1000) + SUBSCRIPTION_TTL_SECONDS,
            },
          }),
        );
      },
      remove: (intentId) => this.remove(intentId, connectionId),
    };
  }

  /** Every live subscription to the intent (expired ones the TTL has not removed yet are skipped). */
  async list(intentId: string): Promise<StoredSubscription[]> {
    const nowSeconds = Math.floor(this.now().getTime() / 1000);
    const found: StoredSubscription[] = [];
    let cursor: Record<string, unknown> | undefined;
    do {
      const page = await this.db.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': `${PREFIX}${intentId}` },
          ConsistentRead: true,
          ...(cursor ? { ExclusiveStartKey: cursor } : {}),
        }),
      );
      for (const item of page.Items ?? []) {
        if (Number(item[TABLE_KEYS.timeToLive] ?? 0) < nowSeconds) continue;
        found.push({
          connectionId: String(item.sk).slice(CONNECTION.length),
          role: item.role as Role,
          name: String(item.principal),
          keyHash: String(item.key_hash),
          keyCheckedAt: Number(item.key_checked_at ?? 0),
        });
      }
      cursor = page.LastEvaluatedKey;
    } while (cursor);
    return found;
  }

  async remove(intentId: string, connectionId: string): Promise<void> {
    await this.db.send(
      new DeleteCommand({
        TableName: this.tableName,
        Key: { pk: `${PREFIX}${intentId}`, sk: `${CONNECTION}${connectionId}` },
      }),
    );
  }
}
