import { describe, expect, it } from 'vitest';
import { intentChanges } from '../../lambdas/core/intent-changes';

describe('intentChanges: the long poll wake-up', () => {
  it('wakes a waiter at the change, long before its poll interval', async () => {
    const watch = intentChanges.watch('int_a');
    const started = performance.now();
    setTimeout(() => intentChanges.changed('int_a'), 20);
    expect(await watch.changeOrTimeout(10_000)).toBe(true);
    watch.close();
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it('does not lose a change that lands between reading the intent and waiting', async () => {
    const watch = intentChanges.watch('int_b');
    intentChanges.changed('int_b');
    const started = performance.now();
    await watch.changeOrTimeout(10_000);
    expect(performance.now() - started).toBeLessThan(2_000);
    // The change was consumed: the next wait runs to its timeout.
    const second = performance.now();
    expect(await watch.changeOrTimeout(100)).toBe(false);
    expect(performance.now() - second).toBeGreaterThanOrEqual(90);
    watch.close();
  });

  it('ignores other intents and stops listening once closed', async () => {
    const watch = intentChanges.watch('int_c');
    const started = performance.now();
    setTimeout(() => intentChanges.changed('int_other'), 10);
    await watch.changeOrTimeout(150);
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
    watch.close();
    const closed = intentChanges.watch('int_d');
    closed.close();
    intentChanges.changed('int_d');
    const again = performance.now();
    await closed.changeOrTimeout(100);
    expect(performance.now() - again).toBeGreaterThanOrEqual(90);
  });
});
