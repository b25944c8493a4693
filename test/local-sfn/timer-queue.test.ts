import { describe, expect, it } from 'vitest';
import { TimerQueue } from '../../local/stepfunctions/timer-queue';

describe('TimerQueue', () => {
  it('fires due entries in deadline order and supports cancellation', () => {
    let now = 0;
    const fired: string[] = [];
    const queue = new TimerQueue<string>(
      () => now,
      (label) => fired.push(label),
    );
    const entries = new Map<string, ReturnType<typeof queue.schedule>>();
    // Insert in a scrambled order, with ties (ties fire in insertion order).
    for (const [label, at] of [
      ['e', 50],
      ['a', 10],
      ['d', 40],
      ['b', 20],
      ['c', 30],
      ['b2', 20],
      ['x', 25],
      ['f', 60],
    ] as const) {
      entries.set(label, queue.schedule(at, label));
    }
    queue.cancel(entries.get('x') as ReturnType<typeof queue.schedule>);
    queue.cancel(entries.get('x') as ReturnType<typeof queue.schedule>); // idempotent
    now = 35;
    expect(queue.fireDue()).toBe(4);
    expect(fired).toEqual(['a', 'b', 'b2', 'c']);
    now = 1000;
    queue.fireDue();
    expect(fired).toEqual(['a', 'b', 'b2', 'c', 'd', 'e', 'f']);
    expect(queue.size).toBe(0);
    queue.stop();
  });

  it('stays a valid heap under random schedule/cancel churn', () => {
    let now = 0;
    const fired: number[] = [];
    const queue = new TimerQueue<number>(
      () => now,
      (at) => fired.push(at),
    );
    const live: ReturnType<typeof queue.schedule>[] = [];
    let seed = 42;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let i = 0; i < 5000; i++) {
      if (live.length > 0 && random() < 0.4) {
        const [entry] = live.splice(Math.floor(random() * live.length), 1);
        if (entry) queue.cancel(entry);
      } else {
        const at = Math.floor(random() * 100_000);
        live.push(queue.schedule(at, at));
      }
    }
    now = 100_000;
    queue.fireDue();
    expect(fired).toHaveLength(live.length);
    expect(fired).toEqual([...fired].sort((a, b) => a - b));
    expect(fired.sort((a, b) => a - b)).toEqual(
      live.map((entry) => entry.at).sort((a, b) => a - b),
    );
    queue.stop();
  });

  it('arms one real timer that fires at the earliest deadline', async () => {
    const fired: string[] = [];
    const queue = new TimerQueue<string>(Date.now, (label) => fired.push(label));
    queue.schedule(Date.now() + 60_000, 'late');
    queue.schedule(Date.now() + 30, 'soon');
    await new Promise((resolve) => setTimeout(resolve, 120));
    expect(fired).toEqual(['soon']);
    expect(queue.peek()?.payload).toBe('late');
    queue.stop();
  });

  it('handles deadlines beyond setTimeout range (99999999 s) without firing early', async () => {
    const fired: string[] = [];
    const queue = new TimerQueue<string>(Date.now, (label) => fired.push(label));
    queue.schedule(Date.now() + 99_999_999_000, 'far');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(fired).toEqual([]);
    queue.stop();
  });
});
