import { createHash } from 'node:crypto';
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type {
  ApiKeyRecord,
  CreateOutcome,
  IdempotencyRecord,
  IntentRepository,
  KeyRepository,
  ListIntentsQuery,
  Team,
  TeamRepository,
} from '../core/ports';
import type { AuditEvent } from '../domain/audit';
import { INTENT_STATUSES, type IntentState, type IntentStatus } from '../domain/intent';
import { TABLE_KEYS } from './table-schema';

const META = 'META';
const PAYLOAD = 'PAYLOAD';
const IDEMPOTENCY_TTL_SECONDS = 24 * 3600;

const intentKey = (id: string) => `INTENT#${id}`;
const eventKey = (seq: number) => `EVENT#${String(seq).padStart(10, '0')}`;
const listSortKey = (intent: { created_at: string; id: string }) =>
  `${intent.created_at}#${intent.id}`;

type MetaItem = Omit<IntentState, 'payload'> & Record<string, unknown>;

/** Query paging shared by the repositories below. */
abstract class DynamoTable {
  constructor(
    protected readonly db: DynamoDBDocumentClient,
    protected readonly tableName: string,
  ) {}

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
      const page = await this.db.send(
        new QueryCommand({
          ...input,
          ...(startKey ? { ExclusiveStartKey: startKey } : {}),
          ...(Number.isFinite(wanted) ? { Limit: Math.max(wanted - items.length, 10) } : {}),
        }),
      );
      items.push(...(page.Items ?? []));
      startKey = page.LastEvaluatedKey;
    } while (startKey && items.length < wanted);
    return items.slice(0, Number.isFinite(wanted) ? wanted : undefined);
  }
}

/** Intents, their payloads and audit trails, on the single table of `table-schema.ts`. */
export class DynamoIntentRepository extends DynamoTable implements IntentRepository {
  async create(
    intent: IntentState,
    events: AuditEvent[],
    idempotency?: IdempotencyRecord,
  ): Promise<CreateOutcome> {
    const { payload, ...meta } = intent;
    const items: NonNullable<
      ConstructorParameters<typeof TransactWriteCommand>[0]['TransactItems']
    > = [
      {
        Put: {
          TableName: this.tableName,
          Item: this.metaItem(meta),
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      },
      {
        Put: {
          TableName: this.tableName,
          // Kept as JSON text, not a map: any JSON object the contract accepts fits, whatever
          // its nesting (maps stop at 32 levels) or numbers (DynamoDB's stop at 38 digits).
          Item: { pk: intentKey(intent.id), sk: PAYLOAD, payload_json: JSON.stringify(payload) },
        },
      },
      ...events.map((event) => ({
        Put: { TableName: this.tableName, Item: this.eventItem(intent.id, event) },
      })),
    ];
    if (idempotency) {
      items.push({
        Put: {
          TableName: this.tableName,
          Item: {
            pk: idempotencyKey(idempotency.principal, idempotency.key),
            sk: 'IDEMPOTENCY',
            ...idempotency,
            expires_at: Math.floor(Date.parse(intent.created_at) / 1000) + IDEMPOTENCY_TTL_SECONDS,
          },
          ConditionExpression: 'attribute_not_exists(pk) OR expires_at < :now',
          ExpressionAttributeValues: { ':now': Math.floor(Date.parse(intent.created_at) / 1000) },
        },
      });
    }
    try {
      await this.db.send(new TransactWriteCommand({ TransactItems: items }));
      return { kind: 'created' };
    } catch (error) {
      if (idempotency && error instanceof TransactionCanceledException) {
        const existing = await this.db.send(
          new GetCommand({
            TableName: this.tableName,
            Key: { pk: idempotencyKey(idempotency.principal, idempotency.key), sk: 'IDEMPOTENCY' },
            ConsistentRead: true,
          }),
        );
        if (existing.Item) {
          return { kind: 'replayed', record: existing.Item as IdempotencyRecord };
        }
      }
      throw error;
    }
  }

  async get(id: string): Promise<IntentState | null> {
    const result = await this.db.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND sk >= :meta',
        ExpressionAttributeValues: { ':pk': intentKey(id), ':meta': META },
        ConsistentRead: true,
      }),
    );
    const meta = result.Items?.find((item) => item.sk === META);
    const payload = result.Items?.find((item) => item.sk === PAYLOAD);
    if (!meta) return null;
    return { ...fromMetaItem(meta), payload: payloadFrom(payload) };
  }

  async getStatus(id: string): Promise<{ status: IntentStatus; version: number } | null> {
    const result = await this.db.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk: intentKey(id), sk: META },
        ProjectionExpression: '#status, #version',
        ExpressionAttributeNames: { '#status': 'status', '#version': 'version' },
        ConsistentRead: true,
      }),
    );
    if (!result.Item) return null;
    return { status: result.Item.status as IntentStatus, version: result.Item.version as number };
  }

  async commit(next: IntentState, expectedVersion: number, events: AuditEvent[]): Promise<boolean> {
    const { payload: _payload, ...meta } = next;
    const put = {
      TableName: this.tableName,
      Item: this.metaItem({ ...meta, version: expectedVersion + 1 }),
      ConditionExpression: '#version = :expected',
      ExpressionAttributeNames: { '#version': 'version' },
      ExpressionAttributeValues: { ':expected': expectedVersion },
    };
    try {
      if (events.length === 0) {
        await this.db.send(new PutCommand(put));
      } else {
        await this.db.send(
          new TransactWriteCommand({
            TransactItems: [
              { Put: put },
              ...events.map((event) => ({
                Put: {
                  TableName: this.tableName,
                  Item: this.eventItem(next.id, event),
                  ConditionExpression: 'attribute_not_exists(pk)',
                },
              })),
            ],
          }),
        );
      }
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  async events(id: string): Promise<AuditEvent[]> {
    const items = await this.queryAll({
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :event)',
      ExpressionAttributeValues: { ':pk': intentKey(id), ':event': 'EVENT#' },
      ConsistentRead: true,
    });
    return items.map(({ pk: _pk, sk: _sk, ...event }) => event as unknown as AuditEvent);
  }

  /**
   * Newest first, across the status (or agent) partitions that match, merged by creation
   * time. The cursor is the sort key of the last item returned: every partition resumes below it.
   */
  async list(
    query: ListIntentsQuery,
  ): Promise<{ items: IntentState[]; nextCursor: string | null }> {
    const boundary = query.cursor ? decodeCursor(query.cursor) : undefined;
    const filters: string[] = [];
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {};
    if (query.recipient) {
      filters.push('contains(#recipients, :recipient)');
      names['#recipients'] = 'recipients';
      values[':recipient'] = query.recipient;
    }
    const partitions: { index: string; pkName: string; skName: string; pk: string }[] = [];
    if (query.fromAgent) {
      const { gsi1 } = TABLE_KEYS;
      partitions.push({
        index: gsi1.name,
        pkName: gsi1.partitionKey,
        skName: gsi1.sortKey,
        pk: `AGENT#${query.fromAgent}`,
      });
      if (query.status) {
        filters.push('#status = :status');
        names['#status'] = 'status';
        values[':status'] = query.status;
      }
    } else {
      const { gsi2 } = TABLE_KEYS;
      for (const status of query.status ? [query.status] : INTENT_STATUSES) {
        partitions.push({
          index: gsi2.name,
          pkName: gsi2.partitionKey,
          skName: gsi2.sortKey,
          pk: `STATUS#${status}`,
        });
      }
    }

    const perPartition = await Promise.all(
      partitions.map((partition) =>
        this.queryUpTo(
          {
            TableName: this.tableName,
            IndexName: partition.index,
            KeyConditionExpression: boundary ? '#pk = :pk AND #sk < :boundary' : '#pk = :pk',
            ExpressionAttributeNames: {
              '#pk': partition.pkName,
              ...(boundary ? { '#sk': partition.skName } : {}),
              ...names,
            },
            ExpressionAttributeValues: {
              ':pk': partition.pk,
              ...(boundary ? { ':boundary': boundary } : {}),
              ...values,
            },
            ...(filters.length > 0 ? { FilterExpression: filters.join(' AND ') } : {}),
            ScanIndexForward: false,
          },
          query.limit + 1,
        ),
      ),
    );
    const merged = perPartition
      .flat()
      .sort((a, b) => (listSortKey(b as MetaItem) > listSortKey(a as MetaItem) ? 1 : -1));
    const page = merged.slice(0, query.limit);
    const hasMore = merged.length > query.limit;
    const last = page.at(-1);
    const metas = page.map(fromMetaItem);
    const payloads = await Promise.all(metas.map((meta) => this.payloadOf(meta.id)));
    return {
      items: metas.map((meta, i) => ({ ...meta, payload: payloads[i] ?? {} })),
      nextCursor: hasMore && last ? encodeCursor(listSortKey(last as MetaItem)) : null,
    };
  }

  private metaItem(meta: Omit<IntentState, 'payload'>): Record<string, unknown> {
    const sortKey = listSortKey(meta);
    return {
      ...meta,
      pk: intentKey(meta.id),
      sk: META,
      gsi1pk: `AGENT#${meta.from_agent}`,
      gsi1sk: sortKey,
      gsi2pk: `STATUS#${meta.status}`,
      gsi2sk: sortKey,
    };
  }

  private eventItem(intentId: string, event: AuditEvent): Record<string, unknown> {
    return { pk: intentKey(intentId), sk: eventKey(event.seq), ...event };
  }

  private async payloadOf(id: string): Promise<Record<string, unknown>> {
    const result = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: intentKey(id), sk: PAYLOAD } }),
    );
    return payloadFrom(result.Item);
  }
}

function payloadFrom(item: Record<string, unknown> | undefined): Record<string, unknown> {
  if (typeof item?.payload_json === 'string') {
    return JSON.parse(item.payload_json) as Record<string, unknown>;
  }
  return {};
}

/** API keys, found by the SHA-256 of the key; the key itself is never stored. */
export class DynamoKeyRepository extends DynamoTable implements KeyRepository {
  async findByHash(keyHash: string): Promise<ApiKeyRecord | null> {
    const result = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: `APIKEY#${keyHash}`, sk: 'APIKEY' } }),
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

/** Teams that `team:<name>` reviewers expand to. */
export class DynamoTeamRepository extends DynamoTable implements TeamRepository {
  async put(team: Team): Promise<void> {
    await this.db.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { pk: `TEAM#${team.name}`, sk: 'TEAM', gsi1pk: 'TEAMS', gsi1sk: team.name, ...team },
      }),
    );
  }

  async get(name: string): Promise<Team | null> {
    const result = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: `TEAM#${name}`, sk: 'TEAM' } }),
    );
    return result.Item ? stripKeys<Team>(result.Item) : null;
  }

  async list(): Promise<Team[]> {
    const items = await this.queryAll({
      TableName: this.tableName,
      IndexName: TABLE_KEYS.gsi1.name,
      KeyConditionExpression: 'gsi1pk = :pk',
      ExpressionAttributeValues: { ':pk': 'TEAMS' },
    });
    return items.map((item) => stripKeys<Team>(item));
  }

  async delete(name: string): Promise<boolean> {
    const result = await this.db.send(
      new DeleteCommand({
        TableName: this.tableName,
        Key: { pk: `TEAM#${name}`, sk: 'TEAM' },
        ReturnValues: 'ALL_OLD',
      }),
    );
    return result.Attributes !== undefined;
  }
}

function fromMetaItem(item: Record<string, unknown>): Omit<IntentState, 'payload'> {
  const { pk: _pk, sk: _sk, gsi1pk: _a, gsi1sk: _b, gsi2pk: _c, gsi2sk: _d, ...meta } = item;
  return meta as Omit<IntentState, 'payload'>;
}

function stripKeys<T>(item: Record<string, unknown>): T {
  const { pk: _pk, sk: _sk, gsi1pk: _a, gsi1sk: _b, expires_at: _e, ...rest } = item;
  return rest as T;
}

function idempotencyKey(principal: string, key: string): string {
  // Hashed so that any header value makes a valid, bounded key.
  return `IDEMPOTENCY#${createHash('sha256').update(`${principal}\n${key}`).digest('hex')}`;
}

function isConditionFailure(error: unknown): boolean {
  if (error instanceof TransactionCanceledException) {
    return (error.CancellationReasons ?? []).some(
      (reason) => reason.Code === 'ConditionalCheckFailed',
    );
  }
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}

function encodeCursor(boundary: string): string {
  return Buffer.from(JSON.stringify({ b: boundary }), 'utf8').toString('base64url');
}

/** Returns the boundary, or throws a TypeError the handler turns into 400 invalid_request. */
export function decodeCursor(cursor: string): string {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (parsed && typeof parsed === 'object' && 'b' in parsed && typeof parsed.b === 'string') {
      return parsed.b;
    }
  } catch {
    // fall through
  }
  throw new TypeError('cursor is not one this API returned');
}
