import { CountersignError, CountersignNetworkError, WaitTimeoutError } from './errors.js';
import { backoffDelay, type SleepFunction } from './http.js';
import type { ApiErrorCode, Intent } from './types.js';

/**
 * `waitFor` over the wait channel: a WebSocket on which the client subscribes to an intent and
 * the server pushes it once it leaves `pending` (docs/api.md, "Waiting over a WebSocket"). A
 * waiting agent then holds a socket, not a server function, which is what makes waiting cheap
 * in AWS. Each subscribe is answered with the intent as it is now, so connecting again after a
 * dropped connection or a server restart finds a decision made in between; the subscribe is
 * repeated every `refreshMs` (keeping the connection alive through API Gateway's 10-minute idle
 * limit, and catching up should a push have been lost). A connection that answers nothing
 * within `replyTimeoutMs` is treated as dropped.
 */

/**
 * How often a wait over the WebSocket subscribes again: within API Gateway's 10-minute idle
 * limit, and a catch-up should a push have been lost. docs/cost.md prices waiting by it.
 */
export const WAIT_REFRESH_MS = 5 * 60_000;

/** What `waitFor` needs of a WebSocket: the WHATWG API (browsers, Node 22+, Deno, Bun, `ws`). */
export interface WaitSocket {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: 'open' | 'close' | 'error', listener: () => void): void;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
}

export type WaitSocketConstructor = new (url: string) => WaitSocket;

export interface WaitOverSocketOptions {
  url: string;
  apiKey: string;
  intentId: string;
  WebSocket: WaitSocketConstructor;
  /** Sleeps, rejecting with the signal's reason on abort. */
  sleep: SleepFunction;
  signal: AbortSignal | undefined;
  /** The caller's `timeoutMs`, for the error; with `deadline`. */
  timeoutMs: number | undefined;
  deadline: number | undefined;
  refreshMs: number;
  replyTimeoutMs: number;
  /** The intent as last read, pending. */
  lastIntent: Intent | undefined;
}

/** The server's messages (the contract's error shape, with the status REST would have given). */
type Reply =
  | { type: 'intent'; intent: Intent }
  | { type: 'pong' }
  | {
      type: 'error';
      status: number;
      error: { code: ApiErrorCode; message: string };
      retry_after?: number;
    };

/** A connection ended before the intent was final: try again after a pause. */
class Dropped {
  constructor(
    readonly failure: unknown,
    readonly retryAfterMs?: number,
    /** Whether the server answered anything on it (else it may not be reachable at all). */
    readonly answered = false,
  ) {}
}

/**
 * Connections in a row that end without a single answer before `waitOverSocket` reports the
 * channel unreachable: the caller then reads the intent over HTTP, and long-polls if the API
 * answers there (a proxy that refuses WebSockets, a broken channel) or comes back to the channel
 * if it does not (the whole service is restarting).
 */
const UNANSWERED_CONNECTIONS = 3;
export const UNREACHABLE = Symbol('wait channel unreachable');

const OPEN = 1;

export async function waitOverSocket(
  options: WaitOverSocketOptions,
): Promise<Intent | typeof UNREACHABLE> {
  const { signal, deadline } = options;
  const remaining = () =>
    deadline === undefined ? Number.POSITIVE_INFINITY : deadline - Date.now();
  let lastIntent = options.lastIntent;
  let lastFailure: unknown;
  let failures = 0;
  let unanswered = 0;
  for (;;) {
    signal?.throwIfAborted();
    if (remaining() <= 0) {
      throw new WaitTimeoutError(options.intentId, options.timeoutMs ?? 0, lastIntent, lastFailure);
    }
    const outcome = await connectOnce(options, remaining(), (intent) => {
      lastIntent = intent;
      failures = 0;
      lastFailure = undefined;
    });
    if (!(outcome instanceof Dropped)) return outcome;
    if (outcome.failure !== undefined) lastFailure = outcome.failure;
    unanswered = outcome.answered ? 0 : unanswered + 1;
    if (unanswered >= UNANSWERED_CONNECTIONS && remaining() > 0) return UNREACHABLE;
    failures += 1;
    const delay = backoffDelay(failures, outcome.retryAfterMs);
    await options.sleep(Math.min(delay, Math.max(0, remaining())), signal);
  }
}

/**
 * One connection: subscribe on open, resolve with the intent once it is final, a `Dropped` when
 * the connection ends or fails first (or the wait's time is up); reject on a permanent error.
 */
function connectOnce(
  options: WaitOverSocketOptions,
  timeLeftMs: number,
  onPending: (intent: Intent) => void,
): Promise<Intent | Dropped> {
  return new Promise((resolve, reject) => {
    let socket: WaitSocket;
    try {
      socket = new options.WebSocket(options.url);
    } catch (cause) {
      resolve(new Dropped(networkError(options.url, cause)));
      return;
    }
    const timers: ReturnType<typeof setTimeout>[] = [];
    let replyTimer: ReturnType<typeof setTimeout> | undefined;
    let settled = false;
    let answered = false;
    const settle = (finish: () => void) => {
      if (settled) return;
      settled = true;
      for (const timer of timers) clearTimeout(timer);
      clearTimeout(replyTimer);
      options.signal?.removeEventListener('abort', onAbort);
      try {
        socket.close(1000);
      } catch {
        // Closing a socket that never opened may throw; it is going away either way.
      }
      finish();
    };
    const drop = (failure: unknown, retryAfterMs?: number) =>
      settle(() => resolve(new Dropped(failure, retryAfterMs, answered)));
    const onAbort = () => settle(() => reject(options.signal?.reason));
    options.signal?.addEventListener('abort', onAbort, { once: true });

    const subscribe = () => {
      if (socket.readyState !== OPEN) return;
      socket.send(
        JSON.stringify({ action: 'subscribe', intent_id: options.intentId, key: options.apiKey }),
      );
      clearTimeout(replyTimer);
      replyTimer = setTimeout(
        () => drop(networkError(options.url, 'no answer to a subscribe')),
        options.replyTimeoutMs,
      );
    };
    // The wait's own end: a Dropped that the loop turns into WaitTimeoutError.
    if (Number.isFinite(timeLeftMs)) timers.push(setTimeout(() => drop(undefined), timeLeftMs));
    // Connecting counts as a reply awaited: a server that never opens is a dropped connection.
    replyTimer = setTimeout(
      () => drop(networkError(options.url, 'the connection did not open')),
      options.replyTimeoutMs,
    );
    socket.addEventListener('open', () => {
      subscribe();
      const refresh = setInterval(subscribe, options.refreshMs);
      timers.push(refresh as unknown as ReturnType<typeof setTimeout>);
    });
    socket.addEventListener('message', (event) => {
      clearTimeout(replyTimer);
      answered = true;
      let reply: Reply;
      try {
        reply = JSON.parse(String(event.data)) as Reply;
      } catch (cause) {
        drop(networkError(options.url, cause));
        return;
      }
      if (reply.type === 'intent') {
        if (reply.intent.status !== 'pending') settle(() => resolve(reply.intent));
        else onPending(reply.intent);
      } else if (reply.type === 'error') {
        const error = new CountersignError(reply.error.message, {
          code: reply.error.code,
          status: reply.status,
        });
        const transient = reply.status >= 500 || reply.status === 429 || reply.status === 408;
        if (transient) drop(error, (reply.retry_after ?? 0) * 1000);
        else settle(() => reject(error));
      }
    });
    socket.addEventListener('error', () => drop(networkError(options.url, 'socket error')));
    socket.addEventListener('close', () => drop(networkError(options.url, 'connection closed')));
  });
}

function networkError(url: string, cause: unknown): CountersignNetworkError {
  const why = cause instanceof Error ? cause.message : String(cause);
  return new CountersignNetworkError(`The wait channel ${new URL(url).host} failed (${why}).`, {
    cause,
  });
}
