import { randomUUID } from 'node:crypto';
import { type DynamoDBDocumentClient, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { Coalescer, type Settled } from '../coalescer';
import { approximateBytes, keyOf } from './intent-items';
import { nothingWritten } from './lost-answers';

/**
 * Group commit of intent writes, a local-stack optimisation: in a Lambda container, which serves
 * one request at a time, every write finds the store idle and goes out alone (`solo`), exactly
 * as written. In the local stack, where DynamoDB Local serves one request at a time, writes that
 * arrive while two are in flight are sent as one transaction (at most 100 actions and 3.5 MB,
 * never two writes to one item). A merged transaction is all or nothing; when it is refused,
 * each write is sent again alone for its own answer. See docs/architecture.md, "Exactly once".
 */
export type TransactItem = NonNullable<
  ConstructorParameters<typeof TransactWriteCommand>[0]['TransactItems']
>[number];

export const MAX_TRANSACTION_ACTIONS = 100;
const MAX_TRANSACTION_BYTES = 3.5 * 1024 * 1024;
/** Two batches in flight keep the store busy while the next one fills. */
export const IN_FLIGHT = 2;

/**
 * One logical write (an intent's creation, or a change with its events): sent alone as it
 * always was (`solo`), or as its `items` inside one transaction with other writes to other
 * items, which then answers `merged` for it.
 */
export interface WriteRequest {
  items: TransactItem[];
  keys: string[];
  bytes: number;
  solo: () => Promise<unknown>;
  merged: unknown;
}

export function writeRequest(
  items: TransactItem[],
  merged: unknown,
  solo: () => Promise<unknown>,
): WriteRequest {
  const itemOf = (item: TransactItem) => item.Put?.Item ?? item.Delete?.Key;
  return {
    items,
    keys: items.map((item) => keyOf(itemOf(item))),
    bytes: items.reduce((sum, item) => sum + approximateBytes(itemOf(item)), 0),
    solo,
    merged,
  };
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

export class GroupCommit {
  private readonly writes = new Coalescer<WriteRequest, unknown>(
    (request) => request.solo(),
    (requests) => this.writeMany(requests),
    { maxBatch: MAX_TRANSACTION_ACTIONS, maxInFlight: IN_FLIGHT, fits: writeFits },
  );

  constructor(private readonly db: DynamoDBDocumentClient) {}

  run(request: WriteRequest): Promise<unknown> {
    return this.writes.run(request);
  }

  /**
   * The request token is drawn per send, so it names exactly these items (a merged transaction
   * and the lone sends it falls back to each have their own). The SDK retries by sending the same
   * request again, token included, and DynamoDB (DynamoDB Local too) answers a retry of an
   * attempt that landed with success, writing nothing, for 10 minutes, even if other writes came
   * in between. The SDK would draw a token itself when none is given; drawn here, this does not
   * rest on its serializer.
   */
  async transact(items: TransactItem[]): Promise<void> {
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
}
