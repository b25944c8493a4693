import { EventEmitter } from 'node:events';
import type { IntentState } from '../domain/intent';

/**
 * A process-local wake-up for long polls: every committed transition announces its intent id, and
 * a long poll in the same process wakes at once instead of at its next poll. In AWS a Lambda
 * container serves one request at a time, so a decision and a waiting long poll never share a
 * process and the poll interval (WAIT_POLL_MS) bounds the delay; on the local stack every handler
 * shares one process, so an agent resumes within a loopback round trip of the decision. The
 * change carries the intent as it was committed, so the woken poll answers without reading it.
 */
interface IntentWatch {
  /**
   * Resolves at once if the intent changed since the last call, else at its next change or after
   * `timeoutMs`: the latest committed state for a change, null for the timeout.
   */
  changeOrTimeout(timeoutMs: number): Promise<IntentState | null>;
  /**
   * Waits for `work` (the poll's own read of the intent) unless a change comes first: a decision
   * committed while that read is in flight answers at once, not when the read returns.
   */
  changeDuring<T>(work: Promise<T>): Promise<{ changed: IntentState } | { settled: T }>;
  close(): void;
}

class IntentChanges {
  private readonly emitter = new EventEmitter();

  constructor() {
    // One listener per waiting long poll; hundreds at once are normal.
    this.emitter.setMaxListeners(0);
  }

  changed(intentId: string, committed: IntentState): void {
    this.emitter.emit(intentId, committed);
  }

  /**
   * Calls `listener` with every state of the intent committed in this process until the returned
   * function is called (the local wait channel's subscriptions).
   */
  listen(intentId: string, listener: (committed: IntentState) => void): () => void {
    this.emitter.on(intentId, listener);
    return () => {
      this.emitter.removeListener(intentId, listener);
    };
  }

  /** Starts watching before the caller reads the intent, so that no change falls in between. */
  watch(intentId: string): IntentWatch {
    let latest: IntentState | null = null;
    let wake: (() => void) | undefined;
    const listener = (committed: IntentState) => {
      if (!latest || committed.version > latest.version) latest = committed;
      wake?.();
    };
    this.emitter.on(intentId, listener);
    const takeLatest = () => {
      const changed = latest;
      latest = null;
      return changed;
    };
    const changeDuring = <T>(work: Promise<T>) =>
      new Promise<{ changed: IntentState } | { settled: T }>((resolve, reject) => {
        let finished = false;
        const finish = (outcome: () => void) => {
          if (finished) return;
          finished = true;
          wake = undefined;
          outcome();
        };
        const onChange = () => {
          const changed = takeLatest();
          if (changed) finish(() => resolve({ changed }));
        };
        // A read that fails after a change won is nobody's concern: the change answered.
        work.then(
          (settled) => finish(() => resolve({ settled })),
          (error: unknown) => finish(() => reject(error)),
        );
        if (latest) onChange();
        else wake = onChange;
      });
    return {
      changeOrTimeout: async (timeoutMs) => {
        let timer: NodeJS.Timeout | undefined;
        const elapsed = new Promise<void>((resolve) => {
          timer = setTimeout(resolve, Math.max(0, timeoutMs));
        });
        const outcome = await changeDuring(elapsed);
        clearTimeout(timer);
        return 'changed' in outcome ? outcome.changed : null;
      },
      changeDuring,
      close: () => {
        this.emitter.removeListener(intentId, listener);
      },
    };
  }
}

export const intentChanges = new IntentChanges();
