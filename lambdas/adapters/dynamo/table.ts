import {
  BatchGetCommand,
  type DynamoDBDocumentClient,
  QueryCommand,
  type QueryCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { type Key, keyOf } from './intent-items';

/** Tries of the keys a BatchGetItem leaves unprocessed (throttling), 20 ms to 2.5 s apart. */
const BATCH_GET_ATTEMPTS = 8;

/** Query paging and batched reads on the single table, shared by the repositories. */
export abstract class DynamoTable {
  constructor(
    protected readonly db: DynamoDBDocumentClient,
    protected readonly tableName: string,
  ) {}

  /**
   * BatchGetItem of `keys` (at most 100), retrying what the store leaves unprocessed; answers
   * the items found by `keyOf`.
   */
  protected async batchGet(
    keys: Key[],
    options: {
      consistent: boolean;
      projection?: { expression: string; names: Record<string, string> };
    },
  ): Promise<Map<string, Record<string, unknown>>> {
    const found = new Map<string, Record<string, unknown>>();
    let pending: Record<string, unknown>[] = keys;
    for (let attempt = 0; pending.length > 0; attempt += 1) {
      if (attempt >= BATCH_GET_ATTEMPTS) {
        throw new Error(`BatchGetItem left ${pending.length} keys unprocessed ${attempt} times`);
      }
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 10 * 2 ** attempt));
      const projection = options.projection
        ? {
            // The keys themselves are needed to match answers to requests.
            ProjectionExpression: `pk, sk, ${options.projection.expression}`,
            ExpressionAttributeNames: options.projection.names,
          }
        : {};
      const result = await this.db.send(
        new BatchGetCommand({
          RequestItems: {
            [this.tableName]: { Keys: pending, ConsistentRead: options.consistent, ...projection },
          },
        }),
      );
      for (const item of result.Responses?.[this.tableName] ?? []) found.set(keyOf(item), item);
      pending = result.UnprocessedKeys?.[this.tableName]?.Keys ?? [];
    }
    return found;
  }

  protected async queryAll(input: QueryCommandInput): Promise<Record<string, unknown>[]> {
    return this.queryUpTo(input, Number.POSITIVE_INFINITY);
  }

  protected async queryUpTo(
    input: QueryCommandInput,
    wanted: number,
  ): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.queryPage(input, {
        startKey,
        limit: Number.isFinite(wanted) ? Math.max(wanted - items.length, 10) : undefined,
      });
      items.push(...page.items);
      startKey = page.next;
    } while (startKey && items.length < wanted);
    return items.slice(0, Number.isFinite(wanted) ? wanted : undefined);
  }

  /** One page of a query: its items and where the next page starts (none: the last page). */
  protected async queryPage(
    input: QueryCommandInput,
    page: { startKey?: Record<string, unknown>; limit?: number },
  ): Promise<{ items: Record<string, unknown>[]; next?: Record<string, unknown> }> {
    const result = await this.db.send(
      new QueryCommand({
        ...input,
        ...(page.startKey ? { ExclusiveStartKey: page.startKey } : {}),
        ...(page.limit !== undefined ? { Limit: page.limit } : {}),
      }),
    );
    return { items: result.Items ?? [], next: result.LastEvaluatedKey };
  }
}
