import type { AuditEvent } from '../domain/audit';
import type { IntentState, IntentStatus } from '../domain/intent';

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
  limit: number;
  cursor?: string;
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
   * Replaces the intent if it is still at `expectedVersion`, together with its new events.
   * Returns false when someone else changed it first (reload and decide again).
   */
  commit(next: IntentState, expectedVersion: number, events: AuditEvent[]): Promise<boolean>;
  events(id: string): Promise<AuditEvent[]>;
  list(query: ListIntentsQuery): Promise<{ items: IntentState[]; nextCursor: string | null }>;
}

export type Role = 'agent' | 'reviewer' | 'admin';

export interface ApiKeyRecord {
  id: string;
  role: Role;
  principal: string;
  key_hash: string;
  prefix: string;
  created_at: string;
  revoked_at: string | null;
}

export interface KeyRepository {
  findByHash(keyHash: string): Promise<ApiKeyRecord | null>;
  put(record: ApiKeyRecord): Promise<void>;
  list(): Promise<ApiKeyRecord[]>;
  revoke(id: string, at: string): Promise<ApiKeyRecord | null>;
}

export interface Team {
  name: string;
  members: string[];
  slack_channel: string | null;
  updated_at: string;
}

export interface TeamRepository {
  put(team: Team): Promise<void>;
  get(name: string): Promise<Team | null>;
  list(): Promise<Team[]>;
  delete(name: string): Promise<boolean>;
}

export interface Workflow {
  /** Starts the approval execution for an intent; safe to call again with the same id. */
  start(intentId: string): Promise<void>;
  /**
   * Wakes the execution waiting on `taskToken`. Returns 'stale' when the token is no longer
   * current (the stage already moved on): the next stage then sees the change by itself.
   */
  wake(taskToken: string, output: Record<string, unknown>): Promise<'delivered' | 'stale'>;
}

export type NotificationKind = 'notify' | 'remind' | 'escalate' | 'decided';

export interface EmailMessage {
  to: string;
  subject: string;
  text: string;
  html: string;
  intentId: string;
  kind: NotificationKind;
  reviewUrl: string;
}

export interface EmailSender {
  send(message: EmailMessage): Promise<{ messageId: string }>;
}

export interface Clock {
  now(): Date;
}
