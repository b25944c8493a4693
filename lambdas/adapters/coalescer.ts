/**
 * Group commit for store calls: requests that arrive while earlier ones are in flight are sent
 * together, as one batch, when a slot frees up. A request that finds a free slot goes out on
 * the next turn of the event loop, alone, through `solo`: the exact call it would make without
 * this class. So a Lambda container, which serves one request at a time, makes the same calls
 * as before; a process serving many requests at once (the local stack, where DynamoDB Local
 * handles one request at a time and charges mostly per request) makes far fewer.
 *
 * `batch` receives two or more requests and answers each, in order, with its result or its
 * error; a batch that fails as a whole should fall back to `solo` for each request.
 */
export interface CoalescerOptions<K> {
  /** Most requests in one batch (DynamoDB: 100 keys per BatchGetItem, 100 actions per transaction). */
  maxBatch: number;
  /** Batches in flight at once; the rest wait and grow. */
  maxInFlight: number;
  /**
   * Whether `next` may join a batch that already holds `taken` (two writes to one item may not
   * share a transaction, and a transaction has a size limit).
   * @default - always
   */
  fits?: (taken: readonly K[], next: K) => boolean;
}

export type Settled<V> = { ok: true; value: V } | { ok: false; error: unknown };

interface Waiting<K, V> {
  request: K;
  resolve: (value: V) => void;
  reject: (error: unknown) => void;
}

export class Coalescer<K, V> {
  private queue: Waiting<K, V>[] = [];
  private inFlight = 0;
  private scheduled = false;

  constructor(
    private readonly solo: (request: K) => Promise<V>,
    private readonly batch: (requests: K[]) => Promise<Settled<V>[]>,
    private readonly options: CoalescerOptions<K>,
  ) {}

  run(request: K): Promise<V> {
    return new Promise<V>((resolve, reject) => {
      this.queue.push({ request, resolve, reject });
      this.schedule();
    });
  }

  /**
   * Flushes on the next turn, not at once, so that requests made in the same turn (a
   * `Promise.all` of reads) share one batch even when a slot is free.
   */
  private schedule(): void {
    if (this.scheduled || this.inFlight >= this.options.maxInFlight) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    while (this.queue.length > 0 && this.inFlight < this.options.maxInFlight) {
      const taken = this.take();
      this.inFlight += 1;
      void this.send(taken).finally(() => {
        this.inFlight -= 1;
        if (this.queue.length > 0) this.schedule();
      });
    }
  }

  /** The next batch, in arrival order; a request that does not fit waits for the next one. */
  private take(): Waiting<K, V>[] {
    const taken: Waiting<K, V>[] = [];
    const requests: K[] = [];
    const rest: Waiting<K, V>[] = [];
    const fits = this.options.fits ?? (() => true);
    for (const waiting of this.queue) {
      // The first request always goes, alone if need be: it cannot wait for a batch it fits.
      // (`fits` is still asked, so that it can count what the batch holds.)
      const first = taken.length === 0;
      const room = first || taken.length < this.options.maxBatch;
      if (room && (fits(requests, waiting.request) || first)) {
        taken.push(waiting);
        requests.push(waiting.request);
      } else {
        rest.push(waiting);
      }
    }
    this.queue = rest;
    return taken;
  }

  private async send(taken: Waiting<K, V>[]): Promise<void> {
    const [only] = taken;
    if (taken.length === 1 && only) {
      await this.solo(only.request).then(only.resolve, only.reject);
      return;
    }
    let results: Settled<V>[];
    try {
      results = await this.batch(taken.map((t) => t.request));
    } catch (error) {
      for (const waiting of taken) waiting.reject(error);
      return;
    }
    taken.forEach((waiting, index) => {
      const result = results[index];
      if (!result) waiting.reject(new Error('batch answered fewer requests than it was given'));
      else if (result.ok) waiting.resolve(result.value);
      else waiting.reject(result.error);
    });
  }
}
