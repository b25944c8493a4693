import type { ApiErrorCode, ErrorDetail, Intent } from './types.js';

/**
 * Codes the SDK itself gives, besides the contract's codes:
 * - `network_error`: the API could not be reached, or the connection broke;
 * - `request_timeout`: one HTTP call took longer than `requestTimeoutMs`;
 * - `wait_timeout`: {@link WaitTimeoutError};
 * - `invalid_response`: a 2xx response whose body is not the JSON the contract promises;
 * - `http_<status>`: an error response without the contract's error body (e.g. a proxy's 502).
 */
export type ErrorCode =
  | ApiErrorCode
  | 'network_error'
  | 'request_timeout'
  | 'wait_timeout'
  | 'invalid_response';

export interface CountersignErrorOptions extends ErrorOptions {
  code: ErrorCode;
  status?: number | undefined;
  details?: ErrorDetail[] | undefined;
  intent?: Intent | undefined;
  requestId?: string | undefined;
}

/**
 * Marks every error this SDK throws. A registered symbol rather than only `instanceof`, so that
 * {@link isCountersignError} still recognises errors from another copy of the SDK (two versions
 * in one dependency tree).
 */
const COUNTERSIGN_ERROR = Symbol.for('@countersign/sdk.error');

/**
 * The base of every error the SDK throws, except an abort: aborting through a signal rejects
 * with the signal's own reason.
 *
 * @example
 * ```ts
 * try {
 *   await client.approve(id, 'ok');
 * } catch (error) {
 *   if (isCountersignError(error) && error.code === 'already_decided') {
 *     console.log('too late, it is', error.intent?.status);
 *   } else {
 *     throw error;
 *   }
 * }
 * ```
 */
export class CountersignError extends Error {
  /** The HTTP status, or `undefined` when no response arrived. */
  readonly status: number | undefined;
  /** The contract's snake_case error code, or one of the SDK's own (see {@link ErrorCode}). */
  readonly code: ErrorCode;
  /** For validation errors: one entry per invalid field. Empty otherwise. */
  readonly details: ErrorDetail[];
  /** The intent as it is now, on errors about an existing intent (the 409s). */
  readonly intent: Intent | undefined;
  /** The request id the server or gateway gave the response, when it gave one. */
  readonly requestId: string | undefined;

  constructor(message: string, options: CountersignErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CountersignError';
    this.status = options.status;
    this.code = options.code;
    this.details = options.details ?? [];
    this.intent = options.intent;
    this.requestId = options.requestId;
    Object.defineProperty(this, COUNTERSIGN_ERROR, { value: true });
  }
}

/**
 * The API could not be reached, the connection broke, or one HTTP call timed out. `cause` is the
 * error `fetch` threw. `code` is `network_error` or `request_timeout`; `status` is `undefined`.
 */
export class CountersignNetworkError extends CountersignError {
  constructor(
    message: string,
    options: { cause: unknown; code?: 'network_error' | 'request_timeout' },
  ) {
    super(message, { code: options.code ?? 'network_error', cause: options.cause });
    this.name = 'CountersignNetworkError';
  }
}

/**
 * `waitFor` gave up because its own `timeoutMs` passed while the intent was still pending. The
 * intent itself is unaffected and may still be decided; wait again to keep waiting.
 */
export class WaitTimeoutError extends CountersignError {
  /** The intent waited on. */
  readonly intentId: string;
  /** The `timeoutMs` that passed. */
  readonly timeoutMs: number;

  /**
   * @param lastIntent the last (pending) intent the API returned, if any answer arrived.
   * @param lastFailure the error of the last attempt, when it failed; becomes `cause`.
   */
  constructor(
    intentId: string,
    timeoutMs: number,
    lastIntent: Intent | undefined,
    lastFailure?: unknown,
  ) {
    const why =
      lastIntent === undefined
        ? 'without an answer from the API'
        : `and intent ${intentId} is still ${lastIntent.status}`;
    super(`Stopped waiting after ${timeoutMs} ms ${why}.`, {
      code: 'wait_timeout',
      intent: lastIntent,
      cause: lastFailure,
    });
    this.name = 'WaitTimeoutError';
    this.intentId = intentId;
    this.timeoutMs = timeoutMs;
  }
}

/** Whether `value` is an error thrown by this SDK (any copy of it). */
export function isCountersignError(value: unknown): value is CountersignError {
  return (
    value instanceof CountersignError ||
    (value instanceof Error &&
      (value as unknown as Record<symbol, unknown>)[COUNTERSIGN_ERROR] === true)
  );
}
