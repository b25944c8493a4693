import type { PutCommand } from '@aws-sdk/lib-dynamodb';
import type { IdempotencyRecord } from '../../core/ports';
import type { AuditEvent } from '../../domain/audit';
import type { IntentState } from '../../domain/intent';
import { MAX_TRANSACTION_ACTIONS, type TransactItem } from './group-commit';
import {
  eventItem,
  idempotencyItem,
  type Key,
  listingChanges,
  listingItem,
  metaItem,
  payloadItem,
} from './intent-items';

/**
 * The transaction actions of a create and of a change, built without sending anything: the
 * repository sends them, and the scale model (`test/adapters/scale-model.test.ts`) counts the
 * partitions they write.
 *
 * `items` is the one transaction of the write. A change whose listing items do not fit in it (a
 * stage that asks a hundred people at once) puts them `early`, before it, and deletes the rest
 * `late`, after it: a list may then show an item whose intent does not match, which every read
 * checks against the intent and skips.
 */
export interface IntentWrite {
  items: TransactItem[];
  early: TransactItem[];
  late: TransactItem[];
}

export function createWrite(
  tableName: string,
  intent: IntentState,
  events: AuditEvent[],
  writeId: string,
  idempotency?: IdempotencyRecord,
): IntentWrite {
  const { payload, ...meta } = intent;
  const items: TransactItem[] = [
    {
      Put: {
        TableName: tableName,
        Item: metaItem(meta, writeId),
        ConditionExpression: 'attribute_not_exists(pk)',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      },
    },
    { Put: { TableName: tableName, Item: payloadItem(intent.id, payload) } },
    ...events.map((event) => ({
      Put: { TableName: tableName, Item: eventItem(intent.id, event) },
    })),
  ];
  if (idempotency) {
    items.push({
      Put: {
        TableName: tableName,
        Item: idempotencyItem(idempotency, intent.created_at),
        ConditionExpression: 'attribute_not_exists(pk) OR expires_at < :now',
        ExpressionAttributeValues: { ':now': Math.floor(Date.parse(intent.created_at) / 1000) },
      },
    });
  }
  const listing = splitListing(tableName, items.length, listingChanges(null, meta), intent.id);
  return { items: [...items, ...listing.now], early: listing.early, late: listing.late };
}

/**
 * `listedAs` is the state whose listing items are stored: the state read, or null for a META
 * written before listing items existed, whose listing items are then all put.
 */
export function commitWrite(
  tableName: string,
  change: {
    next: IntentState;
    listedAs: IntentState | null;
    expectedVersion: number;
    events: AuditEvent[];
    writeId: string;
  },
): IntentWrite & { put: ConstructorParameters<typeof PutCommand>[0] } {
  const { next, listedAs, expectedVersion, events, writeId } = change;
  const { payload: _payload, ...meta } = next;
  const put = {
    TableName: tableName,
    Item: metaItem({ ...meta, version: expectedVersion + 1 }, writeId),
    // A META that still carries the old status index key has no listing items yet: a write
    // that expects them is refused there, and sent again as a legacy one (`listedAs` null).
    ConditionExpression:
      listedAs === null
        ? '#version = :expected'
        : '#version = :expected AND attribute_not_exists(gsi2pk)',
    ExpressionAttributeNames: { '#version': 'version' },
    ExpressionAttributeValues: { ':expected': expectedVersion },
    ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
  };
  const items: TransactItem[] = [
    { Put: put },
    ...events.map((event) => ({
      Put: {
        TableName: tableName,
        Item: eventItem(next.id, event),
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    })),
  ];
  const listing = splitListing(tableName, items.length, listingChanges(listedAs, meta), next.id);
  return { put, items: [...items, ...listing.now], early: listing.early, late: listing.late };
}

/** Listing changes as actions: with the write (`now`) when they fit, else early and late. */
export function splitListing(
  tableName: string,
  taken: number,
  changes: { puts: Key[]; deletes: Key[] },
  intentId: string,
): { early: TransactItem[]; now: TransactItem[]; late: TransactItem[] } {
  const put = (key: Key): TransactItem => ({
    Put: { TableName: tableName, Item: listingItem(key, intentId) },
  });
  const remove = (key: Key): TransactItem => ({ Delete: { TableName: tableName, Key: key } });
  const room = MAX_TRANSACTION_ACTIONS - taken;
  if (changes.puts.length + changes.deletes.length <= room) {
    return { early: [], now: [...changes.puts.map(put), ...changes.deletes.map(remove)], late: [] };
  }
  return {
    early: changes.puts.map(put),
    now: changes.deletes.slice(0, room).map(remove),
    late: changes.deletes.slice(room).map(remove),
  };
}
