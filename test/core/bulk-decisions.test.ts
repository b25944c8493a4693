import { describe, expect, it } from 'vitest';
import { decideMany } from '../../lambdas/core/bulk-decisions';
import type { IntentServiceDeps } from '../../lambdas/core/intents';
import type { IntentRepository } from '../../lambdas/core/ports';
import { type AuditEvent, sealEvents } from '../../lambdas/domain/audit';
import type { IntentState } from '../../lambdas/domain/intent';
import { errorAnswer } from '../../lambdas/shared/http';
import { Logger } from '../../lambdas/shared/logger';
import { pendingIntent } from '../domain/fixtures';
import { intentServiceOver } from '../fakes/intent-service';

/**
 * `POST /v1/decisions` in the core, over many intents in memory (with the real store's version
 * condition): each item answers what the single decision would, one item's failure is its own,
 * and the request is refused as a whole only for its envelope (1 to 100 items, each intent once).
 */
/** The store failure of one item is logged as the handler would; the test keeps it quiet. */
const quiet = new Logger({ write: () => undefined });
const CFO = { role: 'reviewer' as const, name: 'cfo@company.com', keyId: 'key_cfo' };

function memoryStore(intents: IntentState[], failCommitsOf: string[] = []) {
  const stored = new Map<string, IntentState>();
  const trails = new Map<string, AuditEvent[]>();
  for (const intent of intents) {
    const sealed = sealEvents(intent, [
      {
        type: 'created',
        at: intent.created_at,
        actor: intent.from_agent,
        channel: 'api',
        data: {},
      },
    ]);
    stored.set(intent.id, {
      ...intent,
      event_count: sealed.event_count,
      last_event_hash: sealed.last_event_hash,
    });
    trails.set(intent.id, sealed.events);
  }
  const repository: Pick<IntentRepository, 'get' | 'commit' | 'events'> = {
    get: async (id) => structuredClone(stored.get(id) ?? null),
    commit: async (next, before, events) => {
      if (failCommitsOf.includes(next.id)) throw new Error('the store went away');
      if (stored.get(next.id)?.version !== before.version) return false;
      stored.set(next.id, structuredClone(next));
      trails.get(next.id)?.push(...events);
      return true;
    },
    events: async (id) => structuredClone(trails.get(id) ?? []),
  };
  const deps = intentServiceOver(repository as IntentRepository);
  return { deps, status: (id: string) => stored.get(id)?.status };
}

/** A pending intent asking `reviewer`, in its first stage (the recipients notified). */
function asking(id: string, reviewer = 'cfo@company.com'): IntentState {
  const intent = pendingIntent({
    payload: { report: `Report ${id}`, reviewer },
  });
  return { ...intent, id, recipients: [reviewer], stage_index: 0 };
}

/** The results as the handler answers them (status, and the error's code). */
async function answer(deps: IntentServiceDeps, body: Record<string, unknown>) {
  const settled = await decideMany(deps, CFO, body);
  return settled.map((item) =>
    item.ok
      ? { intent_id: item.intent_id, status: 200, outcome: item.intent.status }
      : {
          intent_id: item.intent_id,
          status: errorAnswer(item.error, quiet).status,
          code: errorAnswer(item.error, quiet).body.error.code,
        },
  );
}

const refusal = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: unknown) => errorAnswer(error, quiet),
  );

describe('decisions in bulk', () => {
  it('answers each item as the single decision would, and one failure changes no other', async () => {
    const store = memoryStore(
      [
        asking('int_open'),
        { ...asking('int_done'), status: 'approved' },
        asking('int_other', 'ceo@company.com'),
        asking('int_broken'),
        asking('int_second'),
      ],
      ['int_broken'],
    );

    const results = await answer(store.deps, {
      decisions: [
        { intent_id: 'int_open', outcome: 'approve', comment: 'Fine' },
        { intent_id: 'int_done', outcome: 'approve' },
        { intent_id: 'int_other', outcome: 'approve' },
        { intent_id: 'int_missing', outcome: 'approve' },
        { intent_id: 'int_broken', outcome: 'approve' },
        { intent_id: 'int_second', outcome: 'maybe' },
      ],
    });

    expect(results).toEqual([
      { intent_id: 'int_open', status: 200, outcome: 'approved' },
      { intent_id: 'int_done', status: 409, code: 'already_decided' },
      { intent_id: 'int_other', status: 403, code: 'not_a_reviewer' },
      { intent_id: 'int_missing', status: 404, code: 'not_found' },
      { intent_id: 'int_broken', status: 500, code: 'internal' },
      { intent_id: 'int_second', status: 400, code: 'validation_failed' },
    ]);
    expect(store.status('int_other')).toBe('pending');
    expect(store.status('int_second')).toBe('pending');
  });

  it('carries the current intent on a 409, as the single decision does', async () => {
    const store = memoryStore([{ ...asking('int_done'), status: 'rejected' }]);
    const [result] = await decideMany(store.deps, CFO, {
      decisions: [{ intent_id: 'int_done', outcome: 'approve' }],
    });
    expect(result?.ok).toBe(false);
    const body = result && !result.ok ? errorAnswer(result.error, quiet).body : undefined;
    expect(body?.error).toMatchObject({ code: 'already_decided', intent: { id: 'int_done' } });
  });

  it('decides 100 intents in one request, in the order asked', async () => {
    const ids = Array.from({ length: 100 }, (_, n) => `int_${String(n).padStart(3, '0')}`);
    const store = memoryStore(ids.map((id) => asking(id)));
    const results = await answer(store.deps, {
      decisions: ids.map((id) => ({ intent_id: id, outcome: 'reject', comment: 'Not now' })),
    });
    expect(results.map((r) => r.intent_id)).toEqual(ids);
    expect(results.every((r) => r.status === 200 && r.outcome === 'rejected')).toBe(true);
  });

  it('refuses 101 items, none, an intent named twice, or an agent key, and decides nothing', async () => {
    const ids = Array.from({ length: 101 }, (_, n) => `int_${n}`);
    const store = memoryStore(ids.map((id) => asking(id)));
    const decisions = ids.map((id) => ({ intent_id: id, outcome: 'approve' }));

    const tooMany = await refusal(decideMany(store.deps, CFO, { decisions }));
    expect(tooMany?.status).toBe(400);
    expect(tooMany?.body.error.code).toBe('validation_failed');
    expect(tooMany?.body.error.details[0]?.field).toBe('decisions');

    const none = await refusal(decideMany(store.deps, CFO, { decisions: [] }));
    expect(none?.body.error.code).toBe('validation_failed');

    const twice = await refusal(
      decideMany(store.deps, CFO, {
        decisions: [decisions[0], decisions[1], { intent_id: 'int_0', outcome: 'reject' }],
      }),
    );
    expect(twice?.body.error.details).toEqual([
      {
        field: 'decisions.2.intent_id',
        message: 'repeats decisions.0.intent_id: decide each intent once per request',
      },
    ]);

    const agent = { role: 'agent' as const, name: 'agent://myorg/x', keyId: 'key_agent' };
    const forbidden = await refusal(decideMany(store.deps, agent, { decisions: [decisions[0]] }));
    expect(forbidden?.status).toBe(403);

    expect(ids.every((id) => store.status(id) === 'pending')).toBe(true);
  });
});
