/**
 * Scatter-gather over the shards of a list: each partition is read in its sort-key order, a
 * page at a time and only when the merge needs its next item, and the heads are merged into
 * one stream in that order. A page of n items from S partitions reads about n + S·k items
 * (k the first page size per partition), not S·n.
 */
export interface PartitionPage<T> {
  items: T[];
  /** Where this partition's next page starts; absent when it has no more. */
  next?: Record<string, unknown>;
}

export type PartitionReader<T> = (
  partition: string,
  startKey: Record<string, unknown> | undefined,
  limit: number,
) => Promise<PartitionPage<T>>;

const MAX_PAGE = 100;

/**
 * What each partition is asked for first: a lone partition the page and one more (to know
 * whether there is a next page), each of several its share of that and one more.
 */
export function firstPageSize(limit: number, partitions: number): number {
  return partitions === 1 ? limit + 1 : Math.ceil((limit + 1) / partitions) + 1;
}

export async function* mergePartitions<T extends { sk: string }>(
  partitions: readonly string[],
  read: PartitionReader<T>,
  options: { descending: boolean; firstPage: number },
): AsyncGenerator<T> {
  const cursors = partitions.map((partition) => ({
    partition,
    buffer: [] as T[],
    next: undefined as Record<string, unknown> | undefined,
    done: false,
    pageSize: Math.max(1, Math.min(MAX_PAGE, options.firstPage)),
  }));
  const before = (a: string, b: string) => (options.descending ? a > b : a < b);
  for (;;) {
    // Every partition that may hold the next item must show its head before one is chosen.
    await Promise.all(
      cursors
        .filter((cursor) => cursor.buffer.length === 0 && !cursor.done)
        .map(async (cursor) => {
          const page = await read(cursor.partition, cursor.next, cursor.pageSize);
          cursor.buffer = page.items;
          cursor.next = page.next;
          cursor.done = page.next === undefined;
          cursor.pageSize = Math.min(MAX_PAGE, cursor.pageSize * 2);
        }),
    );
    let best: (typeof cursors)[number] | undefined;
    for (const cursor of cursors) {
      const head = cursor.buffer[0];
      const bestHead = best?.buffer[0];
      if (head && (!bestHead || before(head.sk, bestHead.sk))) best = cursor;
    }
    const item = best?.buffer.shift();
    if (!item) return;
    yield item;
  }
}
