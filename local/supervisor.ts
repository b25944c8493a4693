/**
 * Keeps a part of the local stack running: DynamoDB Local's JVM, the one part that runs in a
 * process of its own and so can die alone (killed, out of memory). When it exits, the
 * supervisor says so on the console, marks the stack unavailable (the API answers 503 with
 * `Retry-After` meanwhile, see stack.ts), and starts it again on the same data after a bounded
 * back-off. A part that cannot be brought back (it fails to start every time, or dies again
 * each time within `stableAfterMs`) makes the supervisor give up: `onGiveUp` stops `npm start`
 * with the reason and a non-zero exit rather than leave it answering errors.
 */
export interface SupervisedProcess {
  /** Resolves with how it ended ("exited with SIGKILL") when it ends on its own. */
  exited: Promise<string>;
  stop(): Promise<void>;
}

export interface SupervisorOptions<Part extends SupervisedProcess> {
  name: string;
  /** Starts the part on the same data (and port) as before. */
  start(): Promise<Part>;
  log(line: string): void;
  availability: Availability;
  onRestarted?(part: Part): void;
  onGiveUp(reason: string): void;
  /** Pauses before each restart attempt; their number bounds the attempts. */
  backoffMs?: readonly number[];
  /** A part that ran this long since its last start counts as healthy again. */
  stableAfterMs?: number;
}

const DEFAULT_BACKOFF_MS = [250, 1000, 2000, 4000, 8000] as const;

/** Whether the stack's parts are all up; `epoch` counts the outages so far. */
export class Availability {
  #down: string | undefined;
  #epoch = 0;
  #waiters: (() => void)[] = [];

  get down(): string | undefined {
    return this.#down;
  }

  get epoch(): number {
    return this.#epoch;
  }

  markDown(reason: string): void {
    if (this.#down === undefined) this.#epoch += 1;
    this.#down = reason;
  }

  markUp(): void {
    this.#down = undefined;
    for (const wake of this.#waiters.splice(0)) wake();
  }

  /** Resolves at once when up, else when the outage ends. */
  whenUp(): Promise<void> {
    if (this.#down === undefined) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }
}

export class Supervisor<Part extends SupervisedProcess> {
  #part: Part;
  #stopping = false;
  #startedAt = Date.now();
  #failures = 0;

  constructor(
    part: Part,
    private readonly options: SupervisorOptions<Part>,
  ) {
    this.#part = part;
    this.#watch(part);
  }

  /** Stops the part for good (not a death: nothing is restarted). */
  async stop(): Promise<void> {
    this.#stopping = true;
    await this.#part.stop();
  }

  #watch(part: Part): void {
    part.exited.then(
      (how) => {
        if (!this.#stopping && part === this.#part) void this.#recover(how);
      },
      () => undefined,
    );
  }

  async #recover(how: string): Promise<void> {
    const { name, log, availability } = this.options;
    const backoff = this.options.backoffMs ?? DEFAULT_BACKOFF_MS;
    const stableAfterMs = this.options.stableAfterMs ?? 60_000;
    if (Date.now() - this.#startedAt >= stableAfterMs) this.#failures = 0;
    const downSince = Date.now();
    availability.markDown(`${name} ${how}`);
    let lastError = how;
    for (;;) {
      const delay = backoff[this.#failures];
      if (delay === undefined) {
        const reason = `${name} could not be brought back after ${backoff.length} attempts (last: ${lastError}).`;
        log(reason);
        this.options.onGiveUp(reason);
        return;
      }
      this.#failures += 1;
      log(
        `${name} ${lastError}; the API answers 503 until it is back. Restarting it on the same data in ${delay} ms (attempt ${this.#failures} of ${backoff.length}).`,
      );
      await new Promise((resolve) => setTimeout(resolve, delay));
      if (this.#stopping) return;
      try {
        const part = await this.options.start();
        if (this.#stopping) {
          await part.stop();
          return;
        }
        this.#part = part;
        this.#startedAt = Date.now();
        this.options.onRestarted?.(part);
        availability.markUp();
        log(
          `${name} is back after ${((Date.now() - downSince) / 1000).toFixed(1)} s; serving again.`,
        );
        this.#watch(part);
        return;
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        lastError = `did not start: ${message.length > 600 ? `${message.slice(0, 600)}…` : message}`;
      }
    }
  }
}
