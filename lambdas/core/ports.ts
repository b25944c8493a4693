import type { KeyQuota, Role, Team } from '../../sdk/src/types';
import type { AuditEvent } from '../domain/audit';
import type { ReviewerProfile } from '../domain/availability';
import type { IntentState, IntentStatus, NotificationKind } from '../domain/intent';
import type { StoredPolicy } from '../domain/operator-policy';
import type { JsonWebKeySet } from '../domain/receipts';
import type { SlackBlock, SlackModalView } from '../domain/slack-blocks';
import type { DeliveryResult } from '../domain/webhook';

export type { KeyQuota, Role, Team };

/**
 * The small interfaces the core needs from the outside world. DynamoDB, Step Functions, SES and
 * Slack implement them in `lambdas/adapters`; tests can implement them in memory.
 */
export interface IdempotencyRecord {
  principal: string;
  key: string;
  body_hash: string;
  intent_id: string;
}

export type CreateOutcome = { kind: 'created' } | { kind: 'replayed'; record: IdempotencyRecord };

export interface ListIntentsQuery {
  status?: IntentStatus;
  fromAgent?: string;
  recipient?: string;
  /** Only intents of this exact type (the policy dry run). */
  intentType?: string;
  limit: number;
  cursor?: string;
}

/** Pending intents whose workflow should have acted before `dueBefore` (ISO time), most overdue first. */
export interface OverdueQuery {
  dueBefore: string;
  limit: number;
  cursor?: string;
}

/** A list cursor that the repository did not hand out (400 `invalid_request` to the caller). */
export class InvalidCursorError extends Error {
  constructor() {
    super('cursor is not one this API returned');
    this.name = 'InvalidCursorError';
  }
}

export interface IntentRepository {
  /** Writes the intent, its payload, its first events and the idempotency record, all or nothing. */
  create(
    intent: IntentState,
    events: AuditEvent[],
    idempotency?: IdempotencyRecord,
  ): Promise<CreateOutcome>;
  get(id: string): Promise<IntentState | null>;
  /** Cheap consistent read of what the long poll watches. */
  getStatus(id: string): Promise<{ status: IntentStatus; version: number } | null>;
  /**
   * Replaces the intent if it is still as `before` was read (its version), together with its
   * new events; what changed between the two also moves the intent between lists (a recipient's
   * inbox, a status). Returns false when someone else changed it first (reload and decide again).
   */
  commit(next: IntentState, before: IntentState, events: AuditEvent[]): Promise<boolean>;
  events(id: string): Promise<AuditEvent[]>;
  /** The unexpired idempotency record of `principal`'s `key` at `at`, if a create wrote one. */
  findIdempotency(principal: string, key: string, at: Date): Promise<IdempotencyRecord | null>;
  /**
   * Newest first. With `recipient` and `status: 'pending'`, reads only what waits for that
   * recipient. Throws `InvalidCursorError` for a cursor it did not return.
   */
  list(query: ListIntentsQuery): Promise<{ items: IntentState[]; nextCursor: string | null }>;
  /** For the reconciler: however many are pending, only the overdue ones, oldest due first. */
  listOverdue(query: OverdueQuery): Promise<{ items: IntentState[]; nextCursor: string | null }>;
}

/**
 * The deployment's signing key: receipts and callbacks are compact JWS made with it. In AWS the
 * private key never leaves KMS; locally it is a file in the data directory. Only its public half
 * is ever served (`GET /.well-known/jwks.json`).
 */
export interface Signer {
  /** A compact JWS of `claims`, with `typ` and the key's `kid` in its header. */
  sign(typ: string, claims: object): Promise<string>;
  /** The public keys that verify what `sign` makes, as a JWK Set. */
  publicKeys(): Promise<JsonWebKeySet>;
}

/** The stored key: the contract's key metadata plus the key's hash (never the key). */
export interface ApiKeyRecord {
  id: string;
  role: Role;
  principal: string;
  key_hash: string;
  prefix: string;
  created_at: string;
  revoked_at: string | null;
  /** Agent keys only: the intent types the key may create (see `domain/key-scope.ts`); absent = all. */
  intent_types?: string[];
  /** Agent keys only: hourly limits (see `core/quotas.ts`); absent = none. */
  quota?: KeyQuota;
}

/** `sign_in`: the inbox's sign-in emails, counted per address (`core/inbox.ts`). */
export type UsageCounter = 'intents' | 'notifications' | 'sign_in';

/**
 * Per-key counters in fixed windows of the clock (an hour in a deployment), for quotas. `at`
 * picks the window, so a unit given back returns to the window it was taken from.
 */
export interface UsageMeter {
  /** Takes one unit unless `limit` are taken in the window; else says when the window ends. */
  take(
    keyId: string,
    counter: UsageCounter,
    limit: number,
    at: Date,
  ): Promise<{ ok: true } | { ok: false; retryAfterSeconds: number }>;
  giveBack(keyId: string, counter: UsageCounter, at: Date): Promise<void>;
  /** How many units are taken in the window of `at` (a read: takes none), and when it ends. */
  used(
    keyId: string,
    counter: UsageCounter,
    at: Date,
  ): Promise<{ count: number; retryAfterSeconds: number }>;
}

export interface KeyRepository {
  findByHash(keyHash: string): Promise<ApiKeyRecord | null>;
  put(record: ApiKeyRecord): Promise<void>;
  list(): Promise<ApiKeyRecord[]>;
  revoke(id: string, at: string): Promise<ApiKeyRecord | null>;
}

export interface TeamRepository {
  put(team: Team): Promise<void>;
  get(name: string): Promise<Team | null>;
  list(): Promise<Team[]>;
  delete(name: string): Promise<boolean>;
}

/** Reviewer profiles (`domain/availability.ts`), by lower-cased email. */
export interface ReviewerProfileRepository {
  put(profile: ReviewerProfile): Promise<void>;
  get(email: string): Promise<ReviewerProfile | null>;
  /** The profiles of those of `emails` that have one. */
  getMany(emails: readonly string[]): Promise<Map<string, ReviewerProfile>>;
  list(): Promise<ReviewerProfile[]>;
}

export interface Workflow {
  /**
   * Starts the approval execution for an intent; safe to call again with the same id. Named
   * `executionName` when given (a successor, see `domain/reminder-holds.ts`), else the intent id.
   */
  start(intentId: string, executionName?: string): Promise<void>;
  /**
   * Wakes the execution waiting on `taskToken`. Returns 'stale' when the token is no longer
   * current (the stage already moved on): the next stage then sees the change by itself; and
   * 'throttled' when Step Functions kept refusing the call: the change is stored, and the
   * execution sees it at its next planned moment (a reminder, the deadline).
   */
  wake(
    taskToken: string,
    output: Record<string, unknown>,
  ): Promise<'delivered' | 'stale' | 'throttled'>;
}

export interface EmailMessage {
  to: string;
  subject: string;
  text: string;
  html: string;
  /** Null on the one email about no intent (a sign-in link). */
  intentId: string | null;
  kind: NotificationKind;
  /** Null on a notice that links nowhere (a `decided` notice after the link expired). */
  reviewUrl: string | null;
}

export interface EmailSender {
  send(message: EmailMessage): Promise<{ messageId: string }>;
}

/** A Slack message as posted: the channel (a user id opens the DM), its text and blocks. */
export interface SlackMessage {
  channel: string;
  text: string;
  blocks: SlackBlock[];
  /** Slack message metadata; the local stand-in reads the intent, kind and link from it. */
  metadata?: { event_type: string; event_payload: Record<string, string> };
}

/**
 * An email the sender could not send, as its adapter judged it: `retryable` when the failure may
 * pass on its own (throttling, a server-side fault, no answer), not for a refusal (an address
 * or sender the service rejects). The message names the service's own error.
 */
export class EmailSendError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'EmailSendError';
  }
}

/**
 * Slack could not be reached, timed out, failed or rate-limited us past the retries: unlike
 * Slack's own answers (`channel_not_found`, …), the next call is likely to fail too.
 */
export class SlackUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SlackUnavailableError';
  }
}

/**
 * For calls made while Slack waits for an interaction's answer: once `signal` fires, the call
 * fails with `SlackUnavailableError` and its request is cancelled.
 */
export interface SlackCallOptions {
  signal?: AbortSignal;
}

/** The few Slack Web API calls Countersign makes (`adapters/slack-web.ts`). */
export interface SlackGateway {
  /** The Slack user id of a workspace member by email (`users.lookupByEmail`), or null. */
  userIdByEmail(email: string): Promise<string | null>;
  /** The email of a Slack user (`users.info`), or null when Slack has none for them. */
  emailOfUser(userId: string, options?: SlackCallOptions): Promise<string | null>;
  postMessage(message: SlackMessage): Promise<{ channel: string; ts: string }>;
  updateMessage(message: SlackMessage & { ts: string }, options?: SlackCallOptions): Promise<void>;
  /** A message only `user` sees, in `channel`. */
  postEphemeral(
    input: { channel: string; user: string; text: string },
    options?: SlackCallOptions,
  ): Promise<void>;
  /** Opens a modal; `triggerId` comes from the click and expires after 3 seconds. */
  openView(triggerId: string, view: SlackModalView, options?: SlackCallOptions): Promise<void>;
}

/**
 * The reviewer inbox's credentials (`core/inbox.ts`): sign-in links and sessions, each stored by
 * the SHA-256 of its token (the token itself is never stored) and deleted by the table's TTL
 * after `expires_at` (which readers check too: TTL deletes late).
 */
export interface InboxSession {
  reviewer: string;
  /** The per-session CSRF token every form of the inbox carries. */
  csrf: string;
  created_at: string;
  /** Epoch seconds. */
  expires_at: number;
}

export interface InboxCredentialStore {
  putSignInLink(tokenHash: string, link: { email: string; expires_at: number }): Promise<void>;
  /** The link's address while it is unused and unexpired; reading it uses nothing. */
  peekSignInLink(tokenHash: string): Promise<{ email: string; expires_at: number } | null>;
  /** Removes the link and answers its address, once: a second take answers null. */
  takeSignInLink(tokenHash: string): Promise<{ email: string; expires_at: number } | null>;
  putSession(tokenHash: string, session: InboxSession): Promise<void>;
  getSession(tokenHash: string): Promise<InboxSession | null>;
  deleteSession(tokenHash: string): Promise<void>;
  /** Ends every session of `reviewer` (their reviewer key was revoked); answers how many. */
  deleteSessionsOf(reviewer: string): Promise<number>;
  /**
   * Whether an intent waits for `email` now: a read of that address's own inbox listing, since
   * anyone may ask for a sign-in link.
   */
  hasPending(email: string): Promise<boolean>;
}

export interface Clock {
  now(): Date;
}

/** Where an execution stands, as Step Functions' DescribeExecution says. */
export type ExecutionStatus =
  | 'RUNNING'
  | 'SUCCEEDED'
  | 'FAILED'
  | 'TIMED_OUT'
  | 'ABORTED'
  | 'PENDING_REDRIVE';

/** What the reconciler needs to see and restart executions by name. */
export interface WorkflowExecutions {
  /** The status of the named execution of the approval state machine, or null if there is none. */
  status(executionName: string): Promise<ExecutionStatus | null>;
  /** Starts an execution for the intent under this name; the same name again is a no-op. */
  startNamed(executionName: string, intentId: string): Promise<void>;
}

export interface CallbackRequest {
  url: string;
  body: string;
  headers: Record<string, string>;
}

export interface CallbackSender {
  /**
   * Sends one POST. Never throws: an address that is not allowed (SSRF) and a network failure
   * are results, so that every attempt can be recorded.
   */
  post(request: CallbackRequest): Promise<DeliveryResult>;
}

/** Local mode only: a copy of each callback attempt for the outbox. Unset in AWS. */
export interface CallbackLog {
  record(entry: {
    intentId: string;
    url: string;
    body: string;
    /** The deprecated HMAC header's value. */
    signature: string;
    /** The `Countersign-JWS` header's value. */
    jws: string;
    attempt: number;
    result: DeliveryResult;
    ok: boolean;
  }): Promise<void>;
}

/** Operator policies by intent-type pattern (`intent.payment.v1`, `intent.payment.*`, `*`). */
export interface PolicyRepository {
  /** The stored policies among `patterns`, read consistently (a PUT applies to the next create). */
  getMany(patterns: readonly string[]): Promise<StoredPolicy[]>;
  list(): Promise<StoredPolicy[]>;
  /** Writes the policy as the next version of its pattern; answers what was stored. */
  put(policy: Omit<StoredPolicy, 'version'>): Promise<StoredPolicy>;
  delete(pattern: string): Promise<StoredPolicy | null>;
}
