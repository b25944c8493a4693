/**
 * Domain errors. Each one maps to exactly one HTTP status and contract error code in
 * `lambdas/shared/http.ts`; the domain itself knows nothing about HTTP.
 */
import type { ErrorDetail, KnownErrorCode } from '../../sdk/src/types';

/**
 * The contract's error codes that the domain raises; `internal` (a fault) and `unavailable` (a
 * part that does not answer) come from the HTTP layer and the local stack, never the domain.
 */
export type DomainErrorCode = Exclude<KnownErrorCode, 'internal' | 'unavailable'>;

/** One problem with a request, naming the field. */
export type FieldIssue = ErrorDetail;

export class DomainError extends Error {
  readonly code: DomainErrorCode;
  readonly details: FieldIssue[];
  /** The current intent, for errors about an existing intent (the contract's 409s). */
  readonly intent: unknown;
  /** For `rate_limited`: the seconds until a retry may succeed (the `Retry-After` header). */
  readonly retryAfterSeconds: number | undefined;

  constructor(
    code: DomainErrorCode,
    message: string,
    options: {
      details?: FieldIssue[];
      intent?: unknown;
      cause?: unknown;
      retryAfterSeconds?: number;
    } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'DomainError';
    this.code = code;
    this.details = options.details ?? [];
    this.intent = options.intent;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}
