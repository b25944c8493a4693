import { createHash } from 'node:crypto';
import type { IdempotencyRecord, ListIntentsQuery } from '../../core/ports';
import type { AuditEvent } from '../../domain/audit';
import { INTENT_STATUSES, type IntentState, type IntentStatus } from '../../domain/intent';
import { workflowDueAt } from '../../domain/stages';

/**
 * How an intent is laid out in the table: the key-building functions and the item codecs. The
 * repository writes with them and the scale model (`test/adapters/scale-model.test.ts`) counts
 * partitions with them, so the model measures the layout that is deployed.
 *
 * Besides its META, PAYLOAD and EVENT items, an intent keeps small *listing items*, one per
 * list it appears in, each `{ pk, sk, id }` in a partition of its own kind, all written and
 * removed in the transaction of the change that puts the intent in or out of that list:
 * - by status, `LIST#STATUS#<status>#<shard>`, sorted by creation (newest first when listed);
 * - by creating agent, `LIST#AGENT#<shard>#<agent>`, likewise;
 * - per recipient while pending, `LIST#INBOX#<reviewer>`: what waits for that reviewer;
 * - while pending, `LIST#DUE#<shard>`, sorted by when the workflow must next act, which the
 *   reconciler reads oldest first.
 * The status, agent and due lists are spread over `LISTING_SHARDS` (`DUE_SHARDS`) partitions by a
 * hash of the intent id, so that no partition takes more than a fraction of the writes; a list reads every
 * shard and merges (`merged-listing.ts`). The META item carries no index keys, so rewriting it
 * (the frequent write) touches no index and no shared partition.
 */
export const META = 'META';
export const PAYLOAD = 'PAYLOAD';
/**
 * On META, the id of the create or commit that wrote it, drawn once per logical write: a refused
 * attempt that finds its own id there is a retry of an attempt that landed (`lost-answers.ts`).
 */
export const WRITE_ID = 'write_id';
const IDEMPOTENCY_TTL_SECONDS = 24 * 3600;

/**
 * Partitions per status and per agent, and of the due list, which takes about six writes per
 * intent to their three (docs/performance.md, "Scale model").
 */
export const LISTING_SHARDS = 8;
export const DUE_SHARDS = 16;
/** Partition key prefix of every listing item (the IAM scope of `lib/countersign.ts` names it). */
export const LISTING_PREFIX = 'LIST#';

export type Key = { pk: string; sk: string };
export type MetaItem = Omit<IntentState, 'payload'> & Record<string, unknown>;

export const intentKey = (id: string) => `INTENT#${id}`;
export const eventKey = (seq: number) => `EVENT#${String(seq).padStart(10, '0')}`;
export const keyOf = (item: Record<string, unknown> | undefined) =>
  `${String(item?.pk)}\u0000${String(item?.sk)}`;

/** Which of `count` partitions an intent's listing items go to (FNV-1a of its id). */
export function shardOf(id: string, count = LISTING_SHARDS): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < id.length; i += 1) {
    hash ^= id.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % count;
}

const shardName = (shard: number) => String(shard).padStart(2, '0');
const shards = (count = LISTING_SHARDS) => Array.from({ length: count }, (_, shard) => shard);

export const statusPartition = (status: IntentStatus, shard: number) =>
  `${LISTING_PREFIX}STATUS#${status}#${shardName(shard)}`;
// The shard comes before the name, so that no agent's name can end like another's shard.
export const agentPartition = (agent: string, shard: number) =>
  `${LISTING_PREFIX}AGENT#${shardName(shard)}#${agent}`;
export const inboxPartition = (reviewer: string) => `${LISTING_PREFIX}INBOX#${reviewer}`;
export const duePartition = (shard: number) => `${LISTING_PREFIX}DUE#${shardName(shard)}`;

export const statusPartitions = (status: IntentStatus) =>
  shards().map((shard) => statusPartition(status, shard));
export const agentPartitions = (agent: string) =>
  shards().map((shard) => agentPartition(agent, shard));
export const duePartitions = () => shards(DUE_SHARDS).map(duePartition);

/**
 * The partitions a list reads: a recipient's inbox for what waits for them (however many wait
 * for others), else the agent's shards, else the shards of each status asked for.
 */
export function listPartitions(query: ListIntentsQuery): string[] {
  if (query.recipient && query.status === 'pending') return [inboxPartition(query.recipient)];
  if (query.fromAgent) return agentPartitions(query.fromAgent);
  const recipient = query.recipient;
  return (query.status ? [query.status] : INTENT_STATUSES).flatMap((status) =>
    status === 'pending' && recipient ? [inboxPartition(recipient)] : statusPartitions(status),
  );
}

/** Newest first by creation; the id breaks ties. */
export const listSortKey = (intent: { created_at: string; id: string }) =>
  `${intent.created_at}#${intent.id}`;

/** The listing items an intent in this state has (see the module comment). */
export function listingKeys(intent: Omit<IntentState, 'payload'>): Key[] {
  const shard = shardOf(intent.id);
  const sk = listSortKey(intent);
  const keys: Key[] = [
    { pk: statusPartition(intent.status, shard), sk },
    { pk: agentPartition(intent.from_agent, shard), sk },
  ];
  if (intent.status === 'pending') {
    const due = duePartition(shardOf(intent.id, DUE_SHARDS));
    keys.push({ pk: due, sk: `${workflowDueAt(intent)}#${intent.id}` });
    for (const reviewer of new Set(intent.recipients)) {
      keys.push({ pk: inboxPartition(reviewer), sk });
    }
  }
  return keys;
}

/**
 * The listing items to put and to delete when an intent goes from `before` (null: no listing
 * items yet, a create or a legacy item) to `next`.
 */
export function listingChanges(
  before: Omit<IntentState, 'payload'> | null,
  next: Omit<IntentState, 'payload'>,
): { puts: Key[]; deletes: Key[] } {
  const had = new Map((before ? listingKeys(before) : []).map((key) => [keyOf(key), key]));
  const has = new Map(listingKeys(next).map((key) => [keyOf(key), key]));
  return {
    puts: [...has].filter(([id]) => !had.has(id)).map(([, key]) => key),
    deletes: [...had].filter(([id]) => !has.has(id)).map(([, key]) => key),
  };
}

export function listingItem(key: Key, intentId: string): Record<string, unknown> {
  return { ...key, id: intentId };
}

export function metaItem(
  meta: Omit<IntentState, 'payload'>,
  writeId: string,
): Record<string, unknown> {
  return { ...meta, [WRITE_ID]: writeId, pk: intentKey(meta.id), sk: META };
}

/**
 * The intent stored in META, without the keys and bookkeeping. Items written before the
 * listing items existed also carry GSI keys (`gsi1pk`… `gsi2sk`), dropped here too.
 */
export function fromMetaItem(item: Record<string, unknown>): Omit<IntentState, 'payload'> {
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

/**
 * Kept as JSON text, not a map: any JSON object the contract accepts fits, whatever its nesting
 * (maps stop at 32 levels) or numbers (DynamoDB's stop at 38 digits).
 */
export function payloadItem(id: string, payload: Record<string, unknown>): Record<string, unknown> {
  return { pk: intentKey(id), sk: PAYLOAD, payload_json: JSON.stringify(payload) };
}

export function payloadFrom(item: Record<string, unknown> | undefined): Record<string, unknown> {
  if (typeof item?.payload_json === 'string') {
    return JSON.parse(item.payload_json) as Record<string, unknown>;
  }
  return {};
}

export function eventItem(intentId: string, event: AuditEvent): Record<string, unknown> {
  return { pk: intentKey(intentId), sk: eventKey(event.seq), ...event };
}

export function idempotencyKey(principal: string, key: string): Key {
  // Hashed so that any header value makes a valid, bounded key.
  const hash = createHash('sha256').update(`${principal}\n${key}`).digest('hex');
  return { pk: `IDEMPOTENCY#${hash}`, sk: 'IDEMPOTENCY' };
}

export function idempotencyItem(
  record: IdempotencyRecord,
  createdAt: string,
): Record<string, unknown> {
  return {
    ...idempotencyKey(record.principal, record.key),
    ...record,
    expires_at: Math.floor(Date.parse(createdAt) / 1000) + IDEMPOTENCY_TTL_SECONDS,
  };
}

/** A stored record without its keys (and TTL): what the repositories answer. */
export function stripKeys<T>(item: Record<string, unknown>): T {
  const { pk: _pk, sk: _sk, gsi1pk: _a, gsi1sk: _b, expires_at: _e, ...rest } = item;
  return rest as T;
}

/** An item's size as DynamoDB would count it, near enough: the UTF-8 bytes of its JSON. */
export function approximateBytes(item: Record<string, unknown> | undefined): number {
  if (!item) return 0;
  return Buffer.byteLength(JSON.stringify(item), 'utf8');
}
