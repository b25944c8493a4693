import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
} from '@aws-sdk/lib-dynamodb';
import type { InboxCredentialStore, InboxSession } from '../core/ports';
import { INTENT_STATUSES } from '../domain/intent';
import { DynamoTable } from './dynamo-store';
import { TABLE_KEYS } from './table-schema';

/**
 * The reviewer inbox's sign-in links (`SIGNIN#<sha256>`) and sessions (`SESSION#<sha256>`, also
 * listed by reviewer in GSI1 under `SESSIONS#<email>`, so that revoking a reviewer's keys ends
 * them all) on the single table. `expires_at` is the table's TTL attribute; since TTL deletes up
 * to days late, every read checks it as well. Reads are consistent: a session ended by
 * sign-out or revocation must not go on working for a moment.
 */
/** How many of the newest intents of each status a sign-in request looks through (at most). */
export const RECENT_INTENTS_READ = 500;
const RECENT_PAGE = 100;

export class DynamoInboxStore extends DynamoTable implements InboxCredentialStore {
  constructor(
    db: DynamoDBDocumentClient,
    tableName: string,
    private readonly now: () => Date = () => new Date(),
  ) {
    super(db, tableName);
  }

  async putSignInLink(tokenHash: string, link: { email: string; expires_at: number }) {
    await this.db.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { pk: `SIGNIN#${tokenHash}`, sk: 'SIGNIN', ...link },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  }

  async peekSignInLink(tokenHash: string) {
    const result = await this.db.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk: `SIGNIN#${tokenHash}`, sk: 'SIGNIN' },
        ConsistentRead: true,
      }),
    );
    return this.unexpiredLink(result.Item);
  }

  async takeSignInLink(tokenHash: string) {
    try {
      const result = await this.db.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: { pk: `SIGNIN#${tokenHash}`, sk: 'SIGNIN' },
          ConditionExpression: 'attribute_exists(pk)',
          ReturnValues: 'ALL_OLD',
        }),
      );
      return this.unexpiredLink(result.Attributes);
    } catch (error) {
      if (error instanceof Error && error.name === 'ConditionalCheckFailedException') return null;
      throw error;
    }
  }

  async putSession(tokenHash: string, session: InboxSession) {
    await this.db.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          pk: `SESSION#${tokenHash}`,
          sk: 'SESSION',
          [TABLE_KEYS.gsi1.partitionKey]: `SESSIONS#${session.reviewer}`,
          [TABLE_KEYS.gsi1.sortKey]: `${session.created_at}#${tokenHash}`,
          ...session,
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  }

  async getSession(tokenHash: string): Promise<InboxSession | null> {
    const result = await this.db.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk: `SESSION#${tokenHash}`, sk: 'SESSION' },
        ConsistentRead: true,
      }),
    );
    const item = result.Item;
    if (!item || !this.unexpired(item)) return null;
    return {
      reviewer: String(item.reviewer),
      csrf: String(item.csrf),
      created_at: String(item.created_at),
      expires_at: Number(item.expires_at),
    };
  }

  async deleteSession(tokenHash: string) {
    await this.db.send(
      new DeleteCommand({
        TableName: this.tableName,
        Key: { pk: `SESSION#${tokenHash}`, sk: 'SESSION' },
      }),
    );
  }

  async deleteSessionsOf(reviewer: string): Promise<number> {
    const { gsi1 } = TABLE_KEYS;
    const items = await this.queryAll({
      TableName: this.tableName,
      IndexName: gsi1.name,
      KeyConditionExpression: '#pk = :pk',
      ExpressionAttributeNames: { '#pk': gsi1.partitionKey },
      ExpressionAttributeValues: { ':pk': `SESSIONS#${reviewer}` },
    });
    await Promise.all(
      items.map((item) =>
        this.db.send(
          new DeleteCommand({ TableName: this.tableName, Key: { pk: item.pk, sk: item.sk } }),
        ),
      ),
    );
    return items.length;
  }

  /**
   * The status partitions of GSI2, newest first, in pages of 100, stopping at the first intent
   * that names `email` among its recipients or after `RECENT_INTENTS_READ` per status: an
   * address nobody asked costs a bounded read however large the table.
   */
  async askedRecently(email: string): Promise<boolean> {
    const { gsi2 } = TABLE_KEYS;
    const found = await Promise.all(
      INTENT_STATUSES.map(async (status) => {
        let startKey: Record<string, unknown> | undefined;
        for (let read = 0; read < RECENT_INTENTS_READ; read += RECENT_PAGE) {
          const page = await this.db.send(
            new QueryCommand({
              TableName: this.tableName,
              IndexName: gsi2.name,
              KeyConditionExpression: '#pk = :pk',
              FilterExpression: 'contains(#recipients, :email)',
              ExpressionAttributeNames: { '#pk': gsi2.partitionKey, '#recipients': 'recipients' },
              ExpressionAttributeValues: { ':pk': `STATUS#${status}`, ':email': email },
              ProjectionExpression: 'pk',
              ScanIndexForward: false,
              Limit: RECENT_PAGE,
              ...(startKey ? { ExclusiveStartKey: startKey } : {}),
            }),
          );
          if ((page.Items ?? []).length > 0) return true;
          startKey = page.LastEvaluatedKey;
          if (!startKey) return false;
        }
        return false;
      }),
    );
    return found.some(Boolean);
  }

  private unexpired(item: Record<string, unknown>): boolean {
    return Number(item.expires_at) * 1000 > this.now().getTime();
  }

  private unexpiredLink(item: Record<string, unknown> | undefined) {
    if (!item || !this.unexpired(item)) return null;
    return { email: String(item.email), expires_at: Number(item.expires_at) };
  }
}
