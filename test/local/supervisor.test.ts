import { describe, expect, it } from 'vitest';
import { Availability, type SupervisedProcess, Supervisor } from '../../local/supervisor';
import { until } from '../e2e/harness';

/**
 * The supervisor's decisions, with parts that die on command: a dead part is restarted and the
 * stack marked down until then; a part that cannot be brought back ends in `onGiveUp` after
 * the bounded attempts, with every step on the console.
 */
class FakePart implements SupervisedProcess {
  exited: Promise<string>;
  stopped = false;
  #die: (how: string) => void = () => undefined;
  constructor() {
    this.exited = new Promise((resolve) => {
      this.#die = resolve;
    });
  }
  die(how = 'exited with SIGKILL') {
    this.#die(how);
  }
  async stop() {
    this.stopped = true;
    this.#die('exited with SIGTERM');
  }
}

function supervise(startResults: (() => FakePart | Promise<FakePart>)[]) {
  const lines: string[] = [];
  const gaveUp: string[] = [];
  const availability = new Availability();
  const first = new FakePart();
  let starts = 0;
  const supervisor = new Supervisor(first, {
    name: 'The part',
    start: async () => {
      const next = startResults[starts];
      starts += 1;
      if (!next) throw new Error('no more');
      return next();
    },
    log: (line) => lines.push(line),
    availability,
    onGiveUp: (reason) => gaveUp.push(reason),
    backoffMs: [1, 1, 1],
    stableAfterMs: 60_000,
  });
  return { supervisor, first, lines, gaveUp, availability, starts: () => starts };
}

describe('Supervisor', () => {
  it('restarts a part that died, marking the stack down until it is back', async () => {
    const second = new FakePart();
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    // The restart waits until released, so the outage can be seen.
    const { first, lines, availability, gaveUp, supervisor, starts } = supervise([
      () => released.then(() => second),
    ]);
    const epoch = availability.epoch;
    first.die();
    await until(() => (availability.down ? true : undefined), 1000, 'the outage');
    expect(availability.down).toContain('The part exited with SIGKILL');
    release();
    await availability.whenUp();
    expect(availability.epoch).toBe(epoch + 1);
    expect(starts()).toBe(1);
    expect(lines[0]).toMatch(
      /^The part exited with SIGKILL; .* Restarting it on the same data in 1 ms \(attempt 1 of 3\)\.$/,
    );
    expect(lines[1]).toMatch(/^The part is back after [\d.]+ s; serving again\.$/);
    expect(gaveUp).toEqual([]);
    await supervisor.stop();
    expect(second.stopped).toBe(true);
    expect(lines).toHaveLength(2);
  });

  it('gives up when the part does not start again, after the bounded attempts', async () => {
    const { first, gaveUp, lines, availability, starts } = supervise([]);
    first.die();
    await until(() => (gaveUp.length > 0 ? true : undefined), 2000, 'giving up');
    expect(starts()).toBe(3);
    expect(gaveUp[0]).toBe(
      'The part could not be brought back after 3 attempts (last: did not start: no more).',
    );
    expect(lines.filter((line) => line.includes('Restarting'))).toHaveLength(3);
    expect(availability.down).toBeDefined();
  });

  it('gives up on a part that dies again and again soon after each restart', async () => {
    const parts: FakePart[] = [];
    const make = () => {
      const part = new FakePart();
      parts.push(part);
      return part;
    };
    const { first, gaveUp, availability } = supervise([make, make, make, make]);
    first.die();
    for (let index = 0; index < 3; index += 1) {
      await until(() => parts[index], 2000, `restart ${index + 1}`);
      await availability.whenUp();
      parts[index]?.die();
    }
    await until(() => (gaveUp.length > 0 ? true : undefined), 2000, 'giving up');
    expect(parts).toHaveLength(3);
  });

  it('does not restart a part stopped on purpose', async () => {
    const { supervisor, first, lines, availability } = supervise([() => new FakePart()]);
    await supervisor.stop();
    expect(first.stopped).toBe(true);
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines).toEqual([]);
    expect(availability.down).toBeUndefined();
  });
});
