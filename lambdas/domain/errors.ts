/**
 * Domain errors. Each one maps to exactly one HTTP status and contract error code in
 * `lambdas/shared/http.ts`; the domain itself knows nothing about HTTP.
 */
export type DomainErrorCode =
  | 'invalid_request'
  | 'validation_failed'
  | 'unauthenticated'
  | 'forbidden'
  | 'not_a_reviewer'
  | 'not_found'
  | 'already_decided'
  | 'already_voted'
  | 'idempotency_conflict'
  | 'not_pending'
  /**
   * A vote from a button or form shown for a chain step that is over. Only the channels that
   * bind votes to a step (Slack, the review page) raise it; the API never does.
   */
  | 'step_over'
  | 'payload_too_large'
  /** A request asks for something the operator's policy does not allow (403). */
  | 'policy_violation'
  /** Over a key's hourly quota; `retryAfterSeconds` says when the window frees up. */
  | 'rate_limited';

export interface FieldIssue {
  field: string;
  message: string;
}

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
