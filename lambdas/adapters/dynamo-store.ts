import { createHash, randomUUID } from 'node:crypto';
import {
  ConditionalCheckFailedException,
  TransactionCanceledException,
} from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
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
  ReviewerProfileRepository,
  Team,
  TeamRepository,
} from '../core/ports';
import type { AuditEvent } from '../domain/audit';
import type { ReviewerProfile } from '../domain/availability';
import { INTENT_STATUSES, type IntentState, type IntentStatus } from '../domain/intent';
import { Coalescer, type Settled } from './coalescer';
import { TABLE_KEYS } from './table-schema';

const META = 'META';
const PAYLOAD = 'PAYLOAD';
/**
 * On META, the id of the create or commit that wrote it, drawn once per logical write: a refused
 * attempt that finds its own id there is a retry of an attempt that landed (see `ownWriteLanded`).
 */
const WRITE_ID = 'write_id';
const IDEMPOTENCY_TTL_SECONDS = 24 * 3600;

const intentKey = (id: string) => `INTENT#${id}`;
const eventKey = (seq: number) => `EVENT#${String(seq).padStart(10, '0')}`;
const listSortKey = (intent: { created_at: string; id: string }) =>
  `${intent.created_at}#${intent.id}`;

type MetaItem = Omit<IntentState, 'payload'> & Record<string, unknown>;
type TransactItem = NonNullable<
  ConstructorParameters<typeof TransactWriteCommand>[0]['TransactItems']
>[number];
type Key = { pk: string; sk: string };

/**
 * How requests are grouped when many arrive at once (see `coalescer.ts`): up to 50 intents per
 * BatchGetItem (two keys each, of the 100 allowed) and up to 100 actions and 3.5 MB (of 4 MB)
 * per merged transaction. Two batches in flight keep the store busy while the next one fills.
 */
const READ_BATCH = 50;
const MAX_TRANSACTION_ACTIONS = 100;
const MAX_TRANSACTION_BYTES = 3.5 * 1024 * 1024;
const IN_FLIGHT = 2;
/** Tries of the keys a BatchGetItem leaves unprocessed (throttling), 20 ms to 2.5 s apart. */
const BATCH_GET_ATTEMPTS = 8;

/**
 * One logical write (an intent's creation, or a change with its events): sent alone as it
 * always was (`solo`), or as its `items` inside one transaction with other writes to other
 * items, which then answers `merged` for it.
 */
interface WriteRequest {
  items: TransactItem[];
  keys: string[];
  bytes: number;
  solo: () => Promise<unknown>;
  merged: unknown;
}

const keyOf = (item: Record<string, unknown> | undefined) =>
  `${String(item?.pk)}\u0000${String(item?.sk)}`;

/** Query paging, batched reads and merged writes, shared by the repositories below. */
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
  private readonly reads = new Coalescer<string, IntentState | null>(
    (id) => this.getOne(id),
    (ids) => this.getMany(ids),
    { maxBatch: READ_BATCH, maxInFlight: IN_FLIGHT },
  );
  private readonly statusReads = new Coalescer<
    string,
    { status: IntentStatus; version: number } | null
  >(
    (id) => this.getStatusOne(id),
    (ids) => this.getStatusMany(ids),
    { maxBatch: READ_BATCH * 2, maxInFlight: IN_FLIGHT },
  );
  private readonly writes = new Coalescer<WriteRequest, unknown>(
    (request) => request.solo(),
    (requests) => this.writeMany(requests),
    { maxBatch: MAX_TRANSACTION_ACTIONS, maxInFlight: IN_FLIGHT, fits: writeFits },
  );

  async create(
    intent: IntentState,
    events: AuditEvent[],
    idempotency?: IdempotencyRecord,
  ): Promise<CreateOutcome> {
    const writeId = randomUUID();
    const items = this.createItems(intent, events, writeId, idempotency);
    const outcome = await this.writes.run(
      writeRequest(items, { kind: 'created' }, () => this.createOne(items, writeId, idempotency)),
    );
    return outcome as CreateOutcome;
  }

  private createItems(
    intent: IntentState,
    events: AuditEvent[],
    writeId: string,
    idempotency?: IdempotencyRecord,
  ): TransactItem[] {
    const { payload, ...meta } = intent;
    const items: TransactItem[] = [
      {
        Put: {
          TableName: this.tableName,
          Item: this.metaItem(meta, writeId),
          ConditionExpression: 'attribute_not_exists(pk)',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
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
    return items;
  }

  private async createOne(
    items: TransactItem[],
    writeId: string,
    idempotency: IdempotencyRecord | undefined,
  ): Promise<CreateOutcome> {
    try {
      await this.transact(items);
      return { kind: 'created' };
    } catch (error) {
      // Checked before the idempotency record, which the landed attempt wrote too: this call
      // created the intent, so it answers created (201), not a replay of itself.
      if (ownWriteLanded(error, writeId)) return { kind: 'created' };
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

  get(id: string): Promise<IntentState | null> {
    return this.reads.run(id);
  }

  async findIdempotency(
    principal: string,
    key: string,
    at: Date,
  ): Promise<IdempotencyRecord | null> {
    const result = await this.db.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk: idempotencyKey(principal, key), sk: 'IDEMPOTENCY' },
        ConsistentRead: true,
      }),
    );
    const item = result.Item;
    // An expired record may linger until DynamoDB's TTL deletes it; a create overwrites it.
    if (!item || Number(item.expires_at) < Math.floor(at.getTime() / 1000)) return null;
    return stripKeys<IdempotencyRecord>(item);
  }

  private async getOne(id: string): Promise<IntentState | null> {
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

  private async getMany(ids: string[]): Promise<Settled<IntentState | null>[]> {
    const unique = [...new Set(ids)];
    const found = await this.batchGet(
      unique.flatMap((id) => [
        { pk: intentKey(id), sk: META },
        { pk: intentKey(id), sk: PAYLOAD },
      ]),
      { consistent: true },
    );
    return ids.map((id) => {
      const meta = found.get(keyOf({ pk: intentKey(id), sk: META }));
      const payload = found.get(keyOf({ pk: intentKey(id), sk: PAYLOAD }));
      return {
        ok: true,
        value: meta ? { ...fromMetaItem(meta), payload: payloadFrom(payload) } : null,
      };
    });
  }

  getStatus(id: string): Promise<{ status: IntentStatus; version: number } | null> {
    return this.statusReads.run(id);
  }

  private async getStatusMany(
    ids: string[],
  ): Promise<Settled<{ status: IntentStatus; version: number } | null>[]> {
    const found = await this.batchGet(
      [...new Set(ids)].map((id) => ({ pk: intentKey(id), sk: META })),
      {
        consistent: true,
        projection: {
          expression: '#status, #version',
          names: { '#status': 'status', '#version': 'version' },
        },
      },
    );
    return ids.map((id) => {
      const item = found.get(keyOf({ pk: intentKey(id), sk: META }));
      return {
        ok: true,
        value: item
          ? { status: item.status as IntentStatus, version: item.version as number }
          : null,
      };
    });
  }

  private async getStatusOne(
    id: string,
  ): Promise<{ status: IntentStatus; version: number } | null> {
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
    const writeId = randomUUID();
    const put = {
      TableName: this.tableName,
      Item: this.metaItem({ ...meta, version: expectedVersion + 1 }, writeId),
      ConditionExpression: '#version = :expected',
      ExpressionAttributeNames: { '#version': 'version' },
      ExpressionAttributeValues: { ':expected': expectedVersion },
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
    };
    const items: TransactItem[] = [
      { Put: put },
      ...events.map((event) => ({
        Put: {
          TableName: this.tableName,
          Item: this.eventItem(next.id, event),
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      })),
    ];
    const committed = await this.writes.run(
      writeRequest(items, true, () => this.commitOne(put, items, writeId)),
    );
    return committed as boolean;
  }

  /**
   * A change without events is one PutItem, which has no request token: a retry of an attempt
   * that landed is told apart from a lost race by the write id it finds. If yet another write
   * came in between, the id is that writer's and the answer is false; the caller then decides
   * again on a state that already holds this change, and the changes made without events
   * (a stage's token or first recipients, decided notices queued) come out the same.
   */
  private async commitOne(
    put: ConstructorParameters<typeof PutCommand>[0],
    items: TransactItem[],
    writeId: string,
  ): Promise<boolean> {
    try {
      if (items.length === 1) {
        await this.db.send(new PutCommand(put));
      } else {
        await this.transact(items);
      }
      return true;
    } catch (error) {
      if (ownWriteLanded(error, writeId)) return true;
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /**
   * The request token is drawn per send, so it names exactly these items (a merged transaction
   * and the lone sends it falls back to each have their own). The SDK retries by sending the same
   * request again, token included, and DynamoDB (DynamoDB Local too) answers a retry of an
   * attempt that landed with success, writing nothing, for 10 minutes, even if other writes came
   * in between. The SDK would draw a token itself when none is given; drawn here, this does not
   * rest on its serializer.
   */
  private async transact(items: TransactItem[]): Promise<void> {
    await this.db.send(
      new TransactWriteCommand({ TransactItems: items, ClientRequestToken: randomUUID() }),
    );
  }

  /**
   * Several writes to distinct items in one transaction. If it is refused (one write's condition
   * failed, a conflict, a limit), nothing was written, and each write is sent again alone for
   * its own answer. Any other failure (no answer at all) may hide a commit, so every caller gets
   * it, as each would have alone.
   */
  private async writeMany(requests: WriteRequest[]): Promise<Settled<unknown>[]> {
    try {
      await this.transact(requests.flatMap((request) => request.items));
      return requests.map((request) => ({ ok: true, value: request.merged }));
    } catch (error) {
      if (!nothingWritten(error)) throw error;
      return Promise.all(
        requests.map((request) =>
          request.solo().then(
            (value): Settled<unknown> => ({ ok: true, value }),
            (error: unknown): Settled<unknown> => ({ ok: false, error }),
          ),
        ),
      );
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
    if (query.intentType) {
      filters.push('#intent_type = :intent_type');
      names['#intent_type'] = 'intent_type';
      values[':intent_type'] = query.intentType;
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

  private metaItem(meta: Omit<IntentState, 'payload'>, writeId: string): Record<string, unknown> {
    const sortKey = listSortKey(meta);
    return {
      ...meta,
      [WRITE_ID]: writeId,
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

function writeRequest(
  items: TransactItem[],
  merged: unknown,
  solo: () => Promise<unknown>,
): WriteRequest {
  return {
    items,
    keys: items.map((item) => keyOf(item.Put?.Item)),
    bytes: items.reduce((sum, item) => sum + approximateBytes(item.Put?.Item), 0),
    solo,
    merged,
  };
}

/** An item's size as DynamoDB would count it, near enough: the UTF-8 bytes of its JSON. */
function approximateBytes(item: Record<string, unknown> | undefined): number {
  if (!item) return 0;
  return Buffer.byteLength(JSON.stringify(item), 'utf8');
}

const batchTotals = new WeakMap<
  readonly WriteRequest[],
  { keys: Set<string>; actions: number; bytes: number }
>();

/** A transaction may not touch one item twice, nor exceed 100 actions or 4 MB. */
function writeFits(taken: readonly WriteRequest[], next: WriteRequest): boolean {
  let totals = batchTotals.get(taken);
  if (!totals) {
    totals = { keys: new Set(), actions: 0, bytes: 0 };
    batchTotals.set(taken, totals);
  }
  const first = taken.length === 0;
  if (!first && totals.actions + next.items.length > MAX_TRANSACTION_ACTIONS) return false;
  if (!first && totals.bytes + next.bytes > MAX_TRANSACTION_BYTES) return false;
  if (next.keys.some((key) => totals.keys.has(key))) return false;
  for (const key of next.keys) totals.keys.add(key);
  totals.actions += next.items.length;
  totals.bytes += next.bytes;
  return true;
}

function payloadFrom(item: Record<string, unknown> | undefined): Record<string, unknown> {
  if (typeof item?.payload_json === 'string') {
    return JSON.parse(item.payload_json) as Record<string, unknown>;
  }
  return {};
}

/**
 * API keys, found by the SHA-256 of the key; the key itself is never stored. Lookups read
 * consistently (twice the read cost of an eventually consistent read, still one read unit per
 * request): an eventually consistent read may answer from before a revocation, so a revoked
 * key would go on working for a moment after `DELETE /v1/keys/{id}` answered.
 */
export class DynamoKeyRepository extends DynamoTable implements KeyRepository {
  /** Every API request looks its key up: concurrent lookups share one BatchGetItem. */
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
    { maxBatch: READ_BATCH * 2, maxInFlight: IN_FLIGHT },
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

const profileKey = (email: string) => ({ pk: `REVIEWER#${email}`, sk: 'PROFILE' });

/** Reviewer profiles: working hours and out of office (`domain/availability.ts`). */
export class DynamoReviewerProfileRepository
  extends DynamoTable
  implements ReviewerProfileRepository
{
  async put(profile: ReviewerProfile): Promise<void> {
    await this.db.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          ...profileKey(profile.email),
          gsi1pk: 'REVIEWERS',
          gsi1sk: profile.email,
          ...profile,
        },
      }),
    );
  }

  async get(email: string): Promise<ReviewerProfile | null> {
    const result = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: profileKey(email) }),
    );
    return result.Item ? stripKeys<ReviewerProfile>(result.Item) : null;
  }

  async getMany(emails: readonly string[]): Promise<Map<string, ReviewerProfile>> {
    const profiles = new Map<string, ReviewerProfile>();
    const unique = [...new Set(emails)];
    for (let start = 0; start < unique.length; start += 100) {
      const found = await this.batchGet(unique.slice(start, start + 100).map(profileKey), {
        consistent: false,
      });
      for (const item of found.values()) {
        const profile = stripKeys<ReviewerProfile>(item);
        profiles.set(profile.email, profile);
      }
    }
    return profiles;
  }

  async list(): Promise<ReviewerProfile[]> {
    const items = await this.queryAll({
      TableName: this.tableName,
      IndexName: TABLE_KEYS.gsi1.name,
      KeyConditionExpression: 'gsi1pk = :pk',
      ExpressionAttributeValues: { ':pk': 'REVIEWERS' },
    });
    return items.map((item) => stripKeys<ReviewerProfile>(item));
  }
}

function fromMetaItem(item: Record<string, unknown>): Omit<IntentState, 'payload'> {
  const {
    pk: _pk,
    sk: _sk,
    gsi1pk: _a,
    gsi1sk: _b,
    gsi2pk: _c,
    gsi2sk: _d,
    [WRITE_ID]: _writeId,
    ...meta
  } = item;
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

/**
 * The write lost to another: its version condition failed, or another transaction held one of
 * its items (`TransactionConflict`). Either way the caller reads again and decides again.
 */
function isConditionFailure(error: unknown): boolean {
  if (error instanceof TransactionCanceledException) {
    return (error.CancellationReasons ?? []).some(
      (reason) => reason.Code === 'ConditionalCheckFailed' || reason.Code === 'TransactionConflict',
    );
  }
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}

/**
 * Whether a refused write found the META that it wrote itself: the SDK retried it after an
 * attempt that landed but whose answer was lost (a timeout, a dropped connection, a 5xx). The
 * refusal carries the META at no read cost (`ALL_OLD`); in a lone write the META is the first
 * action, and reasons come in the order of the actions. Another writer's META, or none, is a
 * refusal like any other.
 */
function ownWriteLanded(error: unknown, writeId: string): boolean {
  const stored =
    error instanceof TransactionCanceledException
      ? error.CancellationReasons?.[0]?.Item
      : error instanceof ConditionalCheckFailedException
        ? error.Item
        : undefined;
  return stored?.[WRITE_ID]?.S === writeId;
}

/** DynamoDB refused the request as a whole before writing anything. */
function nothingWritten(error: unknown): boolean {
  return (
    error instanceof TransactionCanceledException ||
    (error instanceof Error && error.name === 'ValidationException')
  );
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
