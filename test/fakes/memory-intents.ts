import {
  type CreateOutcome,
  type IdempotencyRecord,
  type IntentRepository,
  InvalidCursorError,
  type ListIntentsQuery,
  type OverdueQuery,
} from '../../lambdas/core/ports';
import type { AuditEvent } from '../../lambdas/domain/audit';
import type { IntentState } from '../../lambdas/domain/intent';
import { workflowDueAt } from '../../lambdas/domain/stages';

/**
 * The `IntentRepository` port in memory, with the contract the DynamoDB repository keeps
 * (`test/adapters/intent-repository-contract.test.ts` runs one suite against both): optimistic
 * versions, idempotency records, newest-first lists with opaque cursors, the overdue list.
 */
export class MemoryIntentRepository implements IntentRepository {
  readonly intents = new Map<string, IntentState>();
  readonly trails = new Map<string, AuditEvent[]>();
  private readonly idempotency = new Map<string, IdempotencyRecord & { expiresAt: number }>();

  async create(
    intent: IntentState,
    events: AuditEvent[],
    idempotency?: IdempotencyRecord,
  ): Promise<CreateOutcome> {
    if (idempotency) {
      const held = this.idempotency.get(`${idempotency.principal}\n${idempotency.key}`);
      if (held && held.expiresAt >= Date.parse(intent.created_at)) {
        const { expiresAt: _expiresAt, ...record } = held;
        return { kind: 'replayed', record };
      }
    }
    if (this.intents.has(intent.id)) throw new Error(`intent ${intent.id} exists`);
    this.intents.set(intent.id, structuredClone(intent));
    this.trails.set(intent.id, structuredClone(events));
    if (idempotency) {
      this.idempotency.set(`${idempotency.principal}\n${idempotency.key}`, {
        ...idempotency,
        expiresAt: Date.parse(intent.created_at) + 24 * 3600 * 1000,
      });
    }
    return { kind: 'created' };
  }

  async get(id: string): Promise<IntentState | null> {
    const intent = this.intents.get(id);
    return intent ? structuredClone(intent) : null;
  }

  async getStatus(id: string) {
    const intent = this.intents.get(id);
    return intent ? { status: intent.status, version: intent.version } : null;
  }

  async commit(next: IntentState, before: IntentState, events: AuditEvent[]): Promise<boolean> {
    const stored = this.intents.get(next.id);
    if (!stored || stored.version !== before.version) return false;
    this.intents.set(next.id, structuredClone({ ...next, version: before.version + 1 }));
    this.trails.get(next.id)?.push(...structuredClone(events));
    return true;
  }

  async events(id: string): Promise<AuditEvent[]> {
    return structuredClone(this.trails.get(id) ?? []);
  }

  async findIdempotency(principal: string, key: string, at: Date) {
    const held = this.idempotency.get(`${principal}\n${key}`);
    if (!held || held.expiresAt < at.getTime()) return null;
    const { expiresAt: _expiresAt, ...record } = held;
    return record;
  }

  async list(query: ListIntentsQuery) {
    const boundary = query.cursor === undefined ? undefined : decode(query.cursor);
    const sortKey = (intent: IntentState) => `${intent.created_at}#${intent.id}`;
    const matching = [...this.intents.values()]
      .filter(
        (intent) =>
          (!query.status || intent.status === query.status) &&
          (!query.fromAgent || intent.from_agent === query.fromAgent) &&
          (!query.recipient || intent.recipients.includes(query.recipient)) &&
          (!query.intentType || intent.intent_type === query.intentType) &&
          (boundary === undefined || sortKey(intent) < boundary),
      )
      .sort((a, b) => (sortKey(a) < sortKey(b) ? 1 : -1));
    return page(matching, query.limit, sortKey);
  }

  async listOverdue(query: OverdueQuery) {
    const after = query.cursor === undefined ? undefined : decode(query.cursor);
    const sortKey = (intent: IntentState) => `${workflowDueAt(intent)}#${intent.id}`;
    const overdue = [...this.intents.values()]
      .filter(
        (intent) =>
          intent.status === 'pending' &&
          workflowDueAt(intent) < query.dueBefore &&
          (after === undefined || sortKey(intent) > after),
      )
      .sort((a, b) => (sortKey(a) < sortKey(b) ? -1 : 1));
    return page(overdue, query.limit, sortKey);
  }
}

function page(
  sorted: IntentState[],
  limit: number,
  sortKey: (intent: IntentState) => string,
): { items: IntentState[]; nextCursor: string | null } {
  const items = sorted.slice(0, limit).map((intent) => structuredClone(intent));
  const last = items.at(-1);
  return {
    items,
    nextCursor: sorted.length > limit && last ? `mem:${sortKey(last)}` : null,
  };
}

function decode(cursor: string): string {
  if (!cursor.startsWith('mem:')) throw new InvalidCursorError();
  return cursor.slice('mem:'.length);
}
