import { randomUUID } from 'node:crypto';
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type {
  CreateOutcome,
  IdempotencyRecord,
  IntentRepository,
  ListIntentsQuery,
  OverdueQuery,
} from '../../core/ports';
import type { AuditEvent } from '../../domain/audit';
import { INTENT_STATUSES, type IntentState, type IntentStatus } from '../../domain/intent';
import { workflowDueAt } from '../../domain/stages';
import { Coalescer, type Settled } from '../coalescer';
import { TABLE_KEYS } from '../table-schema';
import { decodeCursor, encodeCursor } from './cursors';
import {
  GroupCommit,
  IN_FLIGHT,
  MAX_TRANSACTION_ACTIONS,
  type TransactItem,
  writeRequest,
} from './group-commit';
import {
  duePartitions,
  fromMetaItem,
  idempotencyKey,
  intentKey,
  keyOf,
  listingChanges,
  listPartitions,
  META,
  metaItem,
  PAYLOAD,
  payloadFrom,
  stripKeys,
} from './intent-items';
import { commitWrite, createWrite, splitListing } from './intent-writes';
import { foundLegacyMeta, isConditionFailure, ownWriteLanded } from './lost-answers';
import { firstPageSize, mergePartitions } from './merged-listing';
import { DynamoTable } from './table';

/**
 * Up to 50 intents per BatchGetItem (two keys each, of the 100 allowed). Concurrent reads share
 * one (request coalescing, `coalescer.ts`): a local-stack optimisation, since a Lambda container
 * serves one request at a time and its reads go out alone, as written.
 */
const READ_BATCH = 50;
/** Legacy META items read per page of `backfillListings`, and migrated at once. */
const BACKFILL_PAGE = 25;

type Candidate = { sk: string; id: string };

/**
 * Intents, their payloads, audit trails and listing items, on the single table of
 * `table-schema.ts` with the layout of `intent-items.ts`. Every change is one conditional write
 * (`version`), with its events and its listing items in the same transaction.
 */
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
  private readonly writes = new GroupCommit(this.db);

  async create(
    intent: IntentState,
    events: AuditEvent[],
    idempotency?: IdempotencyRecord,
  ): Promise<CreateOutcome> {
    const writeId = randomUUID();
    const { items, early } = createWrite(this.tableName, intent, events, writeId, idempotency);
    await this.writeListing(early);
    const outcome = await this.writes.run(
      writeRequest(items, { kind: 'created' }, () => this.createOne(items, writeId, idempotency)),
    );
    return outcome as CreateOutcome;
  }

  private async createOne(
    items: TransactItem[],
    writeId: string,
    idempotency: IdempotencyRecord | undefined,
  ): Promise<CreateOutcome> {
    try {
      await this.writes.transact(items);
      return { kind: 'created' };
    } catch (error) {
      // Checked before the idempotency record, which the landed attempt wrote too: this call
      // created the intent, so it answers created (201), not a replay of itself.
      if (ownWriteLanded(error, writeId)) return { kind: 'created' };
      if (idempotency && error instanceof TransactionCanceledException) {
        const existing = await this.db.send(
          new GetCommand({
            TableName: this.tableName,
            Key: idempotencyKey(idempotency.principal, idempotency.key),
            ConsistentRead: true,
          }),
        );
        if (existing.Item) {
          return { kind: 'replayed', record: stripKeys<IdempotencyRecord>(existing.Item) };
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
        Key: idempotencyKey(principal, key),
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

  async commit(next: IntentState, before: IntentState, events: AuditEvent[]): Promise<boolean> {
    return this.commitFrom(next, before, before.version, events);
  }

  /**
   * `listedAs` is the state whose listing items are stored: the state read, or null for a META
   * written before listing items existed, whose listing items are then all put.
   */
  private async commitFrom(
    next: IntentState,
    listedAs: IntentState | null,
    expectedVersion: number,
    events: AuditEvent[],
  ): Promise<boolean> {
    const writeId = randomUUID();
    const { put, items, early, late } = commitWrite(this.tableName, {
      next,
      listedAs,
      expectedVersion,
      events,
      writeId,
    });
    await this.writeListing(early);
    const outcome = await this.writes.run(
      writeRequest(items, 'committed', () => this.commitOne(put, items, writeId, expectedVersion)),
    );
    if (outcome === 'legacy' && listedAs !== null) {
      return this.commitFrom(next, null, expectedVersion, events);
    }
    if (outcome !== 'committed') return false;
    // Best effort: a listing item left behind is skipped by every read (`collect`).
    await this.writeListing(late).catch(() => undefined);
    return true;
  }

  /**
   * A change without events or listing changes is one PutItem, which has no request token: a
   * retry of an attempt that landed is told apart from a lost race by the write id it finds. If
   * yet another write came in between, the id is that writer's and the answer is a lost race;
   * the caller then decides again on a state that already holds this change, and the changes
   * made without events (a stage's token or first recipients, decided notices queued) come out
   * the same.
   */
  private async commitOne(
    put: ConstructorParameters<typeof PutCommand>[0],
    items: TransactItem[],
    writeId: string,
    expectedVersion: number,
  ): Promise<'committed' | 'lost' | 'legacy'> {
    try {
      if (items.length === 1) {
        await this.db.send(new PutCommand(put));
      } else {
        await this.writes.transact(items);
      }
      return 'committed';
    } catch (error) {
      if (ownWriteLanded(error, writeId)) return 'committed';
      if (foundLegacyMeta(error, expectedVersion)) return 'legacy';
      if (isConditionFailure(error)) return 'lost';
      throw error;
    }
  }

  private async writeListing(items: TransactItem[]): Promise<void> {
    for (let start = 0; start < items.length; start += MAX_TRANSACTION_ACTIONS) {
      await this.writes.transact(items.slice(start, start + MAX_TRANSACTION_ACTIONS));
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
   * Newest first, merged across the partitions of the lists that can hold a match: a
   * recipient's inbox for what waits for them, else the agent's or the statuses' shards. Each
   * listed intent is read (consistently) and checked against the whole query, so an item that
   * moved on since it was listed is skipped. The cursor is the sort key of the last intent
   * returned: every partition resumes below it.
   */
  async list(
    query: ListIntentsQuery,
  ): Promise<{ items: IntentState[]; nextCursor: string | null }> {
    const boundary = query.cursor ? decodeCursor(query.cursor) : undefined;
    const partitions = listPartitions(query);
    const matches = (intent: IntentState) =>
      (!query.status || intent.status === query.status) &&
      (!query.fromAgent || intent.from_agent === query.fromAgent) &&
      (!query.recipient || intent.recipients.includes(query.recipient)) &&
      (!query.intentType || intent.intent_type === query.intentType);
    return this.page(
      this.candidates(partitions, { descending: true, below: boundary }, query.limit),
      matches,
      query.limit,
    );
  }

  /**
   * The due list's shards, oldest due first, up to `dueBefore`. An intent whose workflow moved
   * on since it was listed (its due time is later now, or it is final) is skipped.
   */
  async listOverdue(
    query: OverdueQuery,
  ): Promise<{ items: IntentState[]; nextCursor: string | null }> {
    const after = query.cursor ? decodeCursor(query.cursor) : undefined;
    return this.page(
      this.candidates(
        duePartitions(),
        { descending: false, above: after, below: query.dueBefore },
        query.limit,
      ),
      (intent) => intent.status === 'pending' && workflowDueAt(intent) < query.dueBefore,
      query.limit,
    );
  }

  /** A page of `limit` matching intents, and the cursor after it when one more matches. */
  private async page(
    candidates: AsyncGenerator<Candidate>,
    matches: (intent: IntentState) => boolean,
    limit: number,
  ): Promise<{ items: IntentState[]; nextCursor: string | null }> {
    const found = await this.collect(candidates, matches, limit + 1);
    const page = found.slice(0, limit);
    const last = page.at(-1);
    return {
      items: page.map((entry) => entry.intent),
      nextCursor: found.length > limit && last ? encodeCursor(last.sk) : null,
    };
  }

  /** The listing items of `partitions` in sort-key order, strictly between the bounds given. */
  private candidates(
    partitions: string[],
    range: { descending: boolean; below?: string; above?: string },
    limit: number,
  ): AsyncGenerator<Candidate> {
    const { below, above } = range;
    const condition =
      below !== undefined && above !== undefined
        ? 'pk = :pk AND sk BETWEEN :above AND :below'
        : below !== undefined
          ? 'pk = :pk AND sk < :below'
          : above !== undefined
            ? 'pk = :pk AND sk > :above'
            : 'pk = :pk';
    const merged = mergePartitions<Candidate>(
      partitions,
      async (partition, startKey, pageLimit) => {
        const page = await this.queryPage(
          {
            TableName: this.tableName,
            KeyConditionExpression: condition,
            ExpressionAttributeValues: {
              ':pk': partition,
              ...(below !== undefined ? { ':below': below } : {}),
              ...(above !== undefined ? { ':above': above } : {}),
            },
            ScanIndexForward: !range.descending,
            ConsistentRead: true,
          },
          { startKey, limit: pageLimit },
        );
        return { items: page.items as Candidate[], next: page.next };
      },
      { descending: range.descending, firstPage: firstPageSize(limit, partitions.length) },
    );
    // BETWEEN includes its ends; the bounds are exclusive.
    return (async function* () {
      for await (const candidate of merged) {
        if (candidate.sk !== above && candidate.sk !== below) yield candidate;
      }
    })();
  }

  /**
   * Reads the listed intents, a batch at a time (one BatchGetItem each), until `wanted` match;
   * a listing item whose intent no longer matches (it moved on since) is skipped.
   */
  private async collect(
    candidates: AsyncGenerator<Candidate>,
    matches: (intent: IntentState) => boolean,
    wanted: number,
  ): Promise<{ intent: IntentState; sk: string }[]> {
    const found: { intent: IntentState; sk: string }[] = [];
    const seen = new Set<string>();
    let batch: Candidate[] = [];
    const check = async () => {
      const intents = await Promise.all(batch.map((candidate) => this.get(candidate.id)));
      intents.forEach((intent, index) => {
        const candidate = batch[index];
        if (intent && candidate && matches(intent)) found.push({ intent, sk: candidate.sk });
      });
      batch = [];
    };
    for await (const candidate of candidates) {
      if (seen.has(candidate.id)) continue;
      seen.add(candidate.id);
      batch.push(candidate);
      if (batch.length >= Math.min(READ_BATCH, wanted - found.length)) {
        await check();
        if (found.length >= wanted) break;
      }
    }
    if (batch.length > 0) await check();
    return found.slice(0, wanted);
  }

  /**
   * Migrates intents stored before listing items existed (their META carries the old index
   * keys, `gsi1pk`… `gsi2sk`, and they are found through the old status index): each is given
   * its listing items and its META is rewritten without the old keys, at the same version, in
   * one conditional transaction. A change by the workflow migrates an intent too. Answers how
   * many were migrated; zero means none is left (the old index then only empties).
   */
  async backfillListings(maxIntents: number): Promise<number> {
    const { gsi2 } = TABLE_KEYS;
    let migrated = 0;
    for (const status of INTENT_STATUSES) {
      let startKey: Record<string, unknown> | undefined;
      do {
        const page = await this.queryPage(
          {
            TableName: this.tableName,
            IndexName: gsi2.name,
            KeyConditionExpression: '#pk = :pk',
            ExpressionAttributeNames: { '#pk': gsi2.partitionKey },
            ExpressionAttributeValues: { ':pk': `STATUS#${status}` },
          },
          { startKey, limit: BACKFILL_PAGE },
        );
        const batch = page.items.slice(0, Math.max(0, maxIntents - migrated));
        const results = await Promise.all(
          batch.map((item) => this.migrateLegacy(fromMetaItem(item).id)),
        );
        migrated += results.filter(Boolean).length;
        if (migrated >= maxIntents) return migrated;
        startKey = page.next;
      } while (startKey);
    }
    return migrated;
  }

  private async migrateLegacy(id: string): Promise<boolean> {
    const stored = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: intentKey(id), sk: META } }),
    );
    if (!stored.Item || stored.Item.gsi2pk === undefined) return false;
    const meta = fromMetaItem(stored.Item);
    const listing = splitListing(this.tableName, 1, listingChanges(null, meta), id);
    await this.writeListing(listing.early);
    try {
      await this.writes.transact([
        {
          Put: {
            TableName: this.tableName,
            Item: metaItem(meta, randomUUID()),
            ConditionExpression: '#version = :version AND attribute_exists(gsi2pk)',
            ExpressionAttributeNames: { '#version': 'version' },
            ExpressionAttributeValues: { ':version': meta.version },
          },
        },
        ...listing.now,
      ]);
      return true;
    } catch (error) {
      // Changed (and so migrated) by the workflow meanwhile.
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }
}
