/**
 * One timer queue for the whole engine: an indexed binary min-heap of absolute deadlines with a
 * single armed `setTimeout` for the earliest one. 10,000 paused executions cost 10,000 small heap
 * entries and one Node timer, never 10,000 timers or any polling.
 *
 * Entries know their heap index so that cancelling (a task answered before its 99999999 s timeout)
 * removes them in O(log n) instead of leaving dead entries to pile up until their far-off deadline.
 */

/** Node clamps longer delays to 1 ms; longer deadlines are re-armed in steps of this size. */
const MAX_TIMEOUT_MS = 2_147_483_647;

export interface TimerEntry<T> {
  readonly at: number;
  readonly payload: T;
  /** Position in the heap; -1 once fired or cancelled. */
  index: number;
  readonly order: number;
}

export class TimerQueue<T> {
  private readonly heap: TimerEntry<T>[] = [];
  private armed: NodeJS.Timeout | undefined;
  private armedFor: number | undefined;
  private insertionCounter = 0;
  private stopped = false;

  constructor(
    private readonly now: () => number,
    private readonly onDue: (payload: T) => void,
  ) {}

  get size(): number {
    return this.heap.length;
  }

  /** The earliest deadline, for tests and diagnostics. */
  peek(): TimerEntry<T> | undefined {
    return this.heap[0];
  }

  schedule(at: number, payload: T): TimerEntry<T> {
    const entry: TimerEntry<T> = {
      at,
      payload,
      index: this.heap.length,
      order: this.insertionCounter++,
    };
    this.heap.push(entry);
    this.siftUp(entry.index);
    this.rearm();
    return entry;
  }

  cancel(entry: TimerEntry<T>): void {
    const index = entry.index;
    if (index < 0 || this.heap[index] !== entry) return;
    this.removeAt(index);
    this.rearm();
  }

  /** Fires, in deadline order, every entry due at `now()`. Returns how many fired. */
  fireDue(): number {
    let fired = 0;
    const now = this.now();
    for (;;) {
      const first = this.heap[0];
      if (!first || first.at > now || this.stopped) break;
      this.removeAt(0);
      fired++;
      this.onDue(first.payload);
    }
    this.rearm();
    return fired;
  }

  stop(): void {
    this.stopped = true;
    if (this.armed) clearTimeout(this.armed);
    this.armed = undefined;
    this.armedFor = undefined;
  }

  private rearm(): void {
    if (this.stopped) return;
    const first = this.heap[0];
    if (!first) {
      if (this.armed) clearTimeout(this.armed);
      this.armed = undefined;
      this.armedFor = undefined;
      return;
    }
    if (this.armed && this.armedFor === first.at) return;
    if (this.armed) clearTimeout(this.armed);
    const delay = Math.min(Math.max(first.at - this.now(), 0), MAX_TIMEOUT_MS);
    this.armedFor = first.at;
    this.armed = setTimeout(() => {
      this.armed = undefined;
      this.armedFor = undefined;
      this.fireDue();
    }, delay);
    // The queue alone must not keep a process alive; the HTTP server or the caller does.
    this.armed.unref();
  }

  private removeAt(index: number): void {
    const last = this.heap.pop();
    const removed = this.heap[index];
    if (removed) removed.index = -1;
    if (!last || index >= this.heap.length) {
      if (last) last.index = -1;
      return;
    }
    this.heap[index] = last;
    last.index = index;
    this.siftDown(index);
    this.siftUp(last.index);
  }

  private less(a: TimerEntry<T>, b: TimerEntry<T>): boolean {
    return a.at < b.at || (a.at === b.at && a.order < b.order);
  }

  private swap(i: number, j: number): void {
    const a = this.heap[i];
    const b = this.heap[j];
    if (!a || !b) return;
    this.heap[i] = b;
    this.heap[j] = a;
    b.index = i;
    a.index = j;
  }

  private siftUp(start: number): void {
    let index = start;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      const child = this.heap[index];
      const parentEntry = this.heap[parent];
      if (!child || !parentEntry || !this.less(child, parentEntry)) break;
      this.swap(index, parent);
      index = parent;
    }
  }

  private siftDown(start: number): void {
    let index = start;
    for (;;) {
      const left = 2 * index + 1;
      const right = left + 1;
      let smallest = index;
      const leftEntry = this.heap[left];
      const rightEntry = this.heap[right];
      const smallestEntry = () => this.heap[smallest] as TimerEntry<T>;
      if (leftEntry && this.less(leftEntry, smallestEntry())) smallest = left;
      if (rightEntry && this.less(rightEntry, smallestEntry())) smallest = right;
      if (smallest === index) break;
      this.swap(index, smallest);
      index = smallest;
    }
  }
}
