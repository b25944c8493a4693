/**
 * The HTTP layer under the client: one place that builds requests, enforces per-call timeouts,
 * turns responses into values or {@link CountersignError}s, and retries what is safe to retry.
 * Internal: the public surface is `CountersignClient`.
 */
import { CountersignError, CountersignNetworkError } from './errors.js';
import type { ErrorDetail, Intent } from './types.js';

/** The `fetch` the client calls; inject one to add proxies, tracing or test doubles. */
export type FetchFunction = (input: string, init: RequestInit) => Promise<Response>;

/**
 * Waits `ms` milliseconds. Should reject with `signal.reason` when the signal aborts; the client
 * also races it against the signal, so a sleep that ignores the signal still cannot delay an
 * abort.
 */
export type SleepFunction = (ms: number, signal?: AbortSignal) => Promise<void>;

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** POST and PUT carry a JSON body; GET and DELETE none. */
const sendsBody = (method: HttpMethod): boolean => method === 'POST' || method === 'PUT';

export interface HttpRequest {
  method: HttpMethod;
  /** Path under the base URL, starting with `/`, its segments already encoded. */
  path: string;
  query?: Record<string, string | number | undefined> | undefined;
  body?: unknown;
  headers?: Record<string, string> | undefined;
  signal?: AbortSignal | undefined;
  /**
   * Whether transient failures (network errors, 408, 429, 5xx) may be retried: only for calls
   * that are safe to repeat (reads, and writes the server deduplicates).
   */
  retry: boolean;
  /** Overrides the client's `requestTimeoutMs` for this call. */
  timeoutMs?: number | undefined;
  /** `false` for the unauthenticated health check: the key is sent only where it is needed. */
  authenticate?: boolean;
  /** Called with the headers of a successful response (`waitFor` reads the wait channel's URL). */
  onHeaders?: ((headers: Headers) => void) | undefined;
}

export interface HttpTransportOptions {
  baseUrl: string;
  apiKey: string;
  fetch: FetchFunction;
  sleep: SleepFunction;
  userAgent: string;
  requestTimeoutMs: number;
  maxRetries: number;
}

const BASE_BACKOFF_MS = 250;
const MAX_BACKOFF_MS = 5_000;
/** A server may ask for a longer pause (Retry-After), but not for an unbounded one. */
const MAX_RETRY_AFTER_MS = 60_000;
const ERROR_SNIPPET_LENGTH = 200;
const REQUEST_ID_HEADERS = ['x-request-id', 'x-amzn-requestid', 'apigw-requestid'];

/** Retry-After of 429/503 responses, kept beside the error rather than on its public shape. */
const retryAfterByError = new WeakMap<CountersignError, number>();

export class HttpTransport {
  readonly #baseUrl: string;
  readonly #apiKey: string;
  readonly #fetch: FetchFunction;
  readonly #sleep: SleepFunction;
  readonly #userAgent: string;
  readonly #maxRetries: number;
  readonly requestTimeoutMs: number;

  constructor(options: HttpTransportOptions) {
    this.#baseUrl = options.baseUrl;
    this.#apiKey = options.apiKey;
    this.#fetch = options.fetch;
    this.#sleep = options.sleep;
    this.#userAgent = options.userAgent;
    this.#maxRetries = options.maxRetries;
    this.requestTimeoutMs = options.requestTimeoutMs;
  }

  /** Sends the request, retrying transient failures with backoff when `request.retry` allows. */
  async request<T>(request: HttpRequest): Promise<T> {
    for (let failures = 0; ; ) {
      try {
        return await this.send<T>(request);
      } catch (error) {
        failures += 1;
        if (!request.retry || failures > this.#maxRetries || !isTransient(error)) throw error;
        await this.sleep(backoffDelay(failures, retryAfterMs(error)), request.signal);
      }
    }
  }

  /** One attempt, no retry. Rejects with the signal's reason when `request.signal` aborts. */
  async send<T>(request: HttpRequest): Promise<T> {
    const label = `${request.method} ${request.path}`;
    const timeoutMs = request.timeoutMs ?? this.requestTimeoutMs;
    const attempt = linkAbort(request.signal, timeoutMs);
    let response: Response;
    let text: string;
    try {
      response = await this.#fetch(this.#url(request), {
        method: request.method,
        headers: this.#headers(request),
        body: sendsBody(request.method) ? JSON.stringify(request.body ?? {}) : undefined,
        signal: attempt.signal,
      });
      // The body is read under the same signal and timeout: a stalled body is a stalled call.
      text = await response.text();
    } catch (cause) {
      if (request.signal?.aborted) throw request.signal.reason;
      if (attempt.timedOut()) {
        throw new CountersignNetworkError(`${label} timed out after ${timeoutMs} ms.`, {
          cause,
          code: 'request_timeout',
        });
      }
      throw new CountersignNetworkError(
        `${label} failed: could not reach ${this.#origin()} (${this.#redact(describeFetchError(cause))}).`,
        { cause },
      );
    } finally {
      attempt.dispose();
    }

    const requestId = requestIdOf(response.headers);
    if (response.ok) {
      request.onHeaders?.(response.headers);
      try {
        return JSON.parse(text) as T;
      } catch (cause) {
        throw new CountersignError(
          `${label} answered HTTP ${response.status} with a body that is not JSON.`,
          { code: 'invalid_response', status: response.status, requestId, cause },
        );
      }
    }
    const error = this.#errorFrom(response, text, label, requestId);
    const retryAfter = parseRetryAfter(response.headers.get('retry-after'));
    if (retryAfter !== undefined) retryAfterByError.set(error, retryAfter);
    throw error;
  }

  /** The injected sleep, raced against the signal so that an abort never waits for it. */
  async sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
    signal?.throwIfAborted();
    await raceAbort(this.#sleep(ms, signal), signal);
  }

  #url(request: HttpRequest): string {
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(request.query ?? {})) {
      if (value !== undefined) params.set(name, String(value));
    }
    const query = params.toString();
    return `${this.#baseUrl}${request.path}${query === '' ? '' : `?${query}`}`;
  }

  #headers(request: HttpRequest): Record<string, string> {
    return {
      Accept: 'application/json',
      'User-Agent': this.#userAgent,
      ...(sendsBody(request.method) ? { 'Content-Type': 'application/json' } : {}),
      ...(request.authenticate === false ? {} : { Authorization: `Bearer ${this.#apiKey}` }),
      ...request.headers,
    };
  }

  #origin(): string {
    return new URL(this.#baseUrl).origin;
  }

  #errorFrom(
    response: Response,
    text: string,
    label: string,
    requestId: string | undefined,
  ): CountersignError {
    const status = response.status;
    const body = parseJson(text);
    const contractError = isRecord(body) && isRecord(body.error) ? body.error : undefined;
    if (contractError && typeof contractError.code === 'string') {
      const message =
        typeof contractError.message === 'string' && contractError.message !== ''
          ? contractError.message
          : `${label} failed with HTTP ${status} (${contractError.code}).`;
      return new CountersignError(this.#redact(message), {
        status,
        code: contractError.code,
        details: Array.isArray(contractError.details)
          ? (contractError.details as ErrorDetail[])
          : [],
        intent: isRecord(contractError.intent)
          ? (contractError.intent as unknown as Intent)
          : undefined,
        requestId,
      });
    }
    // Not the contract's body: a gateway, proxy or load balancer answered. API Gateway's own
    // answers are `{"message": "…"}`; anything else is shown as a short snippet.
    const said =
      isRecord(body) && typeof body.message === 'string'
        ? body.message
        : text.trim().replace(/\s+/g, ' ').slice(0, ERROR_SNIPPET_LENGTH);
    const statusLine = `HTTP ${status}${response.statusText ? ` ${response.statusText}` : ''}`;
    return new CountersignError(
      this.#redact(`${label} failed with ${statusLine}${said === '' ? '.' : `: ${said}`}`),
      { status, code: `http_${status}`, requestId },
    );
  }

  /** Server text goes into messages; make sure it can never carry the API key with it. */
  #redact(text: string): string {
    return this.#apiKey === '' ? text : text.split(this.#apiKey).join('[redacted]');
  }
}

/** Network failures, 408, 429 and 5xx: worth another try. */
export function isTransient(error: unknown): error is CountersignError {
  if (error instanceof CountersignNetworkError) return true;
  if (!(error instanceof CountersignError) || error.status === undefined) return false;
  return error.status >= 500 || error.status === 429 || error.status === 408;
}

export function retryAfterMs(error: unknown): number | undefined {
  return error instanceof CountersignError ? retryAfterByError.get(error) : undefined;
}

/**
 * Exponential backoff with jitter: 250 ms doubling to a 5 s cap, each delay drawn from the upper
 * half of its step so that many clients restarted together spread out without any of them
 * retrying at once. A server's Retry-After (up to 60 s) is a lower bound.
 *
 * @param failures consecutive failures so far, from 1.
 */
export function backoffDelay(
  failures: number,
  retryAfter?: number,
  random: () => number = Math.random,
): number {
  const step = Math.min(MAX_BACKOFF_MS, BASE_BACKOFF_MS * 2 ** Math.max(0, failures - 1));
  const jittered = step / 2 + random() * (step / 2);
  return Math.round(Math.max(jittered, Math.min(retryAfter ?? 0, MAX_RETRY_AFTER_MS)));
}

/** `setTimeout` as a promise that rejects with the signal's reason on abort. */
export const defaultSleep: SleepFunction = (ms, signal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/** Settles like `promise`, or rejects with the signal's reason as soon as it aborts. */
function raceAbort<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/**
 * One signal for one HTTP call: aborts when the caller's signal does or when the call's timeout
 * passes, and says which. Written by hand because `AbortSignal.any` needs Node 20.3.
 */
function linkAbort(
  outer: AbortSignal | undefined,
  timeoutMs: number,
): { signal: AbortSignal; timedOut: () => boolean; dispose: () => void } {
  const controller = new AbortController();
  let timedOut = false;
  const onOuterAbort = () => controller.abort(outer?.reason);
  if (outer?.aborted) controller.abort(outer.reason);
  else outer?.addEventListener('abort', onOuterAbort, { once: true });
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new DOMException(`timed out after ${timeoutMs} ms`, 'TimeoutError'));
  }, timeoutMs);
  return {
    signal: controller.signal,
    timedOut: () => timedOut,
    dispose: () => {
      clearTimeout(timer);
      outer?.removeEventListener('abort', onOuterAbort);
    },
  };
}

/** Node's fetch says only "fetch failed"; the reason (ECONNREFUSED, other side closed) is in `cause`. */
function describeFetchError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const inner = error.cause;
  if (inner instanceof Error && inner.message !== '') return inner.message;
  return error.message;
}

function requestIdOf(headers: Headers): string | undefined {
  for (const name of REQUEST_ID_HEADERS) {
    const value = headers.get(name);
    if (value) return value;
  }
  return undefined;
}

/** Retry-After in delta-seconds or as an HTTP date, in milliseconds from now. */
function parseRetryAfter(value: string | null): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
