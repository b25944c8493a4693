import { describe, expect, it } from 'vitest';
import { Coalescer, type Settled } from '../../lambdas/adapters/coalescer';

/** A store whose calls finish when the test says, recording what was sent how. */
function scriptedStore() {
  const sent: { kind: 'solo' | 'batch'; requests: number[] }[] = [];
  const pending: (() => void)[] = [];
  const hold = () => new Promise<void>((resolve) => pending.push(resolve));
  return {
    sent,
    solo: async (request: number) => {
      sent.push({ kind: 'solo', requests: [request] });
      await hold();
      if (request < 0) throw new Error(`refused ${request}`);
      return request * 10;
    },
    batch: async (requests: number[]): Promise<Settled<number>[]> => {
      sent.push({ kind: 'batch', requests });
      await hold();
      return requests.map((request) =>
        request < 0
          ? { ok: false, error: new Error(`refused ${request}`) }
          : { ok: true, value: request * 10 },
      );
    },
    /** Lets every call in flight finish. */
    release: async () => {
      await new Promise((resolve) => setImmediate(resolve));
      for (const resolve of pending.splice(0)) resolve();
      await new Promise((resolve) => setImmediate(resolve));
    },
  };
}

describe('Coalescer', () => {
  it('sends a request that arrives alone as itself (solo), exactly as without the coalescer', async () => {
    const store = scriptedStore();
    const coalescer = new Coalescer(store.solo, store.batch, { maxBatch: 10, maxInFlight: 1 });
    const answer = coalescer.run(4);
    await store.release();
    expect(await answer).toBe(40);
    expect(store.sent).toEqual([{ kind: 'solo', requests: [4] }]);
  });

  it('groups what arrives while a call is in flight into one batch, answering each caller', async () => {
    const store = scriptedStore();
    const coalescer = new Coalescer(store.solo, store.batch, { maxBatch: 10, maxInFlight: 1 });
    const first = coalescer.run(1);
    await new Promise((resolve) => setImmediate(resolve));
    const later = [2, 3, -4, 5].map((n) => coalescer.run(n).catch((error: Error) => error.message));
    await store.release();
    await store.release();
    expect(await first).toBe(10);
    expect(await Promise.all(later)).toEqual([20, 30, 'refused -4', 50]);
    expect(store.sent).toEqual([
      { kind: 'solo', requests: [1] },
      { kind: 'batch', requests: [2, 3, -4, 5] },
    ]);
  });

  it('shares one batch among requests made in the same turn, up to maxBatch, in arrival order', async () => {
    const store = scriptedStore();
    const coalescer = new Coalescer(store.solo, store.batch, { maxBatch: 3, maxInFlight: 2 });
    const answers = Promise.all([1, 2, 3, 4, 5, 6, 7].map((n) => coalescer.run(n)));
    for (let round = 0; round < 3; round += 1) await store.release();
    expect(await answers).toEqual([10, 20, 30, 40, 50, 60, 70]);
    expect(store.sent).toEqual([
      { kind: 'batch', requests: [1, 2, 3] },
      { kind: 'batch', requests: [4, 5, 6] },
      { kind: 'solo', requests: [7] },
    ]);
  });

  it('keeps a request that does not fit for the next batch, and sends a lone misfit alone', async () => {
    const store = scriptedStore();
    // Odd and even requests never share a batch (as two writes to one item may not).
    const fits = (taken: readonly number[], next: number) =>
      taken.every((request) => request % 2 === next % 2);
    const coalescer = new Coalescer(store.solo, store.batch, {
      maxBatch: 10,
      maxInFlight: 1,
      fits,
    });
    const answers = Promise.all([1, 2, 3, 4, 5].map((n) => coalescer.run(n)));
    for (let round = 0; round < 3; round += 1) await store.release();
    expect(await answers).toEqual([10, 20, 30, 40, 50]);
    expect(store.sent).toEqual([
      { kind: 'batch', requests: [1, 3, 5] },
      { kind: 'batch', requests: [2, 4] },
    ]);
  });

  it('fails every caller of a batch that fails as a whole, and goes on with the next', async () => {
    let calls = 0;
    const coalescer = new Coalescer<number, number>(
      async (n) => n,
      async () => {
        calls += 1;
        if (calls === 1) throw new Error('store down');
        return [
          { ok: true, value: 1 },
          { ok: true, value: 2 },
        ];
      },
      { maxBatch: 2, maxInFlight: 1 },
    );
    const first = [coalescer.run(1), coalescer.run(2)].map((p) => p.catch((e: Error) => e.message));
    expect(await Promise.all(first)).toEqual(['store down', 'store down']);
    expect(await Promise.all([coalescer.run(1), coalescer.run(2)])).toEqual([1, 2]);
  });
});
