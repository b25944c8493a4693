import { describe, expect, it } from 'vitest';
import { intentChanges } from '../../lambdas/core/intent-changes';
import type { IntentState } from '../../lambdas/domain/intent';
import { pendingIntent } from '../domain/fixtures';

const committed = (id: string, version: number, status: IntentState['status'] = 'pending') => ({
  ...pendingIntent(),
  id,
  version,
  status,
});

describe('intentChanges: the long poll wake-up', () => {
  it('wakes a waiter at the change, long before its poll interval', async () => {
    const watch = intentChanges.watch('int_a');
    const started = performance.now();
    setTimeout(() => intentChanges.changed('int_a', committed('int_a', 2, 'approved')), 20);
    // The waiter gets the state as committed, so it can answer without reading the intent.
    expect(await watch.changeOrTimeout(10_000)).toMatchObject({ version: 2, status: 'approved' });
    watch.close();
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it('does not lose a change that lands between reading the intent and waiting', async () => {
    const watch = intentChanges.watch('int_b');
    intentChanges.changed('int_b', committed('int_b', 3));
    // Two writes before the waiter looks: it sees the later one, whatever order they arrive in.
    intentChanges.changed('int_b', committed('int_b', 5, 'rejected'));
    intentChanges.changed('int_b', committed('int_b', 4));
    const started = performance.now();
    expect(await watch.changeOrTimeout(10_000)).toMatchObject({ version: 5, status: 'rejected' });
    expect(performance.now() - started).toBeLessThan(2_000);
    // The change was consumed: the next wait runs to its timeout.
    const second = performance.now();
    expect(await watch.changeOrTimeout(100)).toBeNull();
    expect(performance.now() - second).toBeGreaterThanOrEqual(90);
    watch.close();
  });

  it('ignores other intents and stops listening once closed', async () => {
    const watch = intentChanges.watch('int_c');
    const started = performance.now();
    setTimeout(() => intentChanges.changed('int_other', committed('int_other', 2)), 10);
    await watch.changeOrTimeout(150);
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
    watch.close();
    const closed = intentChanges.watch('int_d');
    closed.close();
    intentChanges.changed('int_d', committed('int_d', 2));
    const again = performance.now();
    await closed.changeOrTimeout(100);
    expect(performance.now() - again).toBeGreaterThanOrEqual(90);
  });

  it('answers a change that lands while the poll read is in flight, without waiting for the read', async () => {
    const watch = intentChanges.watch('int_e');
    let answerRead: (status: string) => void = () => {};
    const slowRead = new Promise<string>((resolve) => {
      answerRead = resolve;
    });
    const raced = watch.changeDuring(slowRead);
    setTimeout(() => intentChanges.changed('int_e', committed('int_e', 2, 'approved')), 10);
    expect(await raced).toMatchObject({ changed: { version: 2, status: 'approved' } });
    // The read answering later changes nothing, and the change is not handed out twice.
    answerRead('pending');
    expect(await watch.changeOrTimeout(50)).toBeNull();
    watch.close();
  });

  it('answers with the read when no change comes, and passes on its failure', async () => {
    const watch = intentChanges.watch('int_f');
    expect(await watch.changeDuring(Promise.resolve('pending'))).toEqual({ settled: 'pending' });
    await expect(watch.changeDuring(Promise.reject(new Error('store down')))).rejects.toThrow(
      'store down',
    );
    // A change made before the poll began is answered at once (it was waiting in the watch).
    intentChanges.changed('int_f', committed('int_f', 7, 'rejected'));
    const never = new Promise<string>(() => {});
    expect(await watch.changeDuring(never)).toMatchObject({ changed: { version: 7 } });
    watch.close();
  });
});
