/**
 * The `IntentRepository` contract, one suite run against the in-memory fake
 * (`test/fakes/memory-intents.ts`) and the DynamoDB repository on DynamoDB Local: whatever the
 * core relies on (optimistic versions, idempotency, newest-first pages with opaque cursors, a
 * reviewer's pending list, the reconciler's overdue list) holds for both, so core tests can use
 * the fake. DynamoDB-only properties (which partitions a read touches, the legacy migration)
 * are in `dynamo-listing.test.ts`.
 */
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoIntentRepository } from '../../lambdas/adapters/dynamo-store';
import { type IntentRepository, InvalidCursorError } from '../../lambdas/core/ports';
import type { IntentState } from '../../lambdas/domain/intent';
import { LOCAL_TABLE_NAME } from '../../local/stack';
import { pendingIntent } from '../domain/fixtures';
import { MemoryIntentRepository } from '../fakes/memory-intents';
import { startLocalTable, withEvents } from './local-table';

let stopLocal: () => Promise<void> = async () => undefined;
let dynamo: DynamoIntentRepository;

beforeAll(async () => {
  const local = await startLocalTable('ddb-contract');
  stopLocal = local.stop;
  dynamo = new DynamoIntentRepository(
    DynamoDBDocumentClient.from(local.client, { marshallOptions: { removeUndefinedValues: true } }),
    LOCAL_TABLE_NAME,
  );
}, 90_000);
afterAll(() => stopLocal());

const implementations: [string, () => IntentRepository][] = [
  ['in memory', () => new MemoryIntentRepository()],
  ['DynamoDB Local', () => dynamo],
];

let made = 0;
/**
 * A new pending intent with its `created` event, unique across the suite (one table serves
 * every test), created `minutesAgo` before 2026-12-01T12:00Z.
 */
function intentOf(options: {
  agent?: string;
  reviewers?: string[];
  minutesAgo?: number;
  type?: string;
}): { intent: IntentState; events: ReturnType<typeof withEvents>['events'] } {
  made += 1;
  const at = new Date(Date.parse('2026-12-01T12:00:00Z') - (options.minutesAgo ?? 0) * 60_000);
  const base: IntentState = {
    ...pendingIntent(
      {
        reviewers: options.reviewers ?? ['cfo@company.com'],
        ...(options.type ? { intent_type: options.type } : {}),
      },
      at,
    ),
    id: `int_contract${String(made).padStart(4, '0')}`,
    from_agent: options.agent ?? 'agent-contract',
  };
  return withEvents(base, [
    { type: 'created', at: base.created_at, actor: base.from_agent, channel: 'api', data: {} },
  ]);
}

async function created(repository: IntentRepository, options: Parameters<typeof intentOf>[0]) {
  const { intent, events } = intentOf(options);
  await repository.create(intent, events);
  return intent;
}

/** Changes `before` as the core would: the next version, conditional on the one read. */
async function change(
  repository: IntentRepository,
  before: IntentState,
  edit: (intent: IntentState) => Partial<IntentState>,
): Promise<IntentState> {
  const next = { ...before, ...edit(before), version: before.version + 1 };
  expect(await repository.commit(next, before, [])).toBe(true);
  return next;
}

const decided = (intent: IntentState): Partial<IntentState> => ({
  status: 'approved',
  decision: {
    outcome: 'approved',
    by: intent.recipients[0] ?? 'admin',
    at: intent.created_at,
    comment: null,
    channel: 'api',
  },
  next_action_at: null,
});

async function allPages(
  repository: IntentRepository,
  query: Parameters<IntentRepository['list']>[0],
): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await repository.list({ ...query, ...(cursor ? { cursor } : {}) });
    ids.push(...page.items.map((intent) => intent.id));
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return ids;
}

describe.each(implementations)('IntentRepository contract (%s)', (_name, repositoryOf) => {
  it('stores an intent with its payload and trail, and changes it only from the version read', async () => {
    const repository = repositoryOf();
    const { intent, events } = intentOf({});
    expect(await repository.create(intent, events)).toEqual({ kind: 'created' });
    expect(await repository.get(intent.id)).toEqual(intent);
    expect(await repository.getStatus(intent.id)).toEqual({ status: 'pending', version: 0 });

    const next = await change(repository, intent, () => ({ summary: 'changed' }));
    // A second change from the same (now stale) read loses.
    expect(await repository.commit({ ...intent, summary: 'stale', version: 1 }, intent, [])).toBe(
      false,
    );
    expect((await repository.get(intent.id))?.summary).toBe('changed');
    expect(next.version).toBe(1);
    expect((await repository.events(intent.id)).map((event) => event.type)).toEqual(['created']);
    expect(await repository.get('int_nosuch')).toBeNull();
  });

  it('replays a create whose idempotency key was used, for 24 hours', async () => {
    const repository = repositoryOf();
    const first = intentOf({});
    const second = intentOf({});
    const record = {
      principal: 'agent-contract',
      key: `key-${first.intent.id}`,
      body_hash: 'h',
      intent_id: first.intent.id,
    };
    expect(await repository.create(first.intent, first.events, record)).toEqual({
      kind: 'created',
    });
    expect(await repository.create(second.intent, second.events, record)).toEqual({
      kind: 'replayed',
      record,
    });
    expect(await repository.get(second.intent.id)).toBeNull();
    const at = new Date(first.intent.created_at);
    expect(await repository.findIdempotency(record.principal, record.key, at)).toEqual(record);
    const dayLater = new Date(at.getTime() + 25 * 3600 * 1000);
    expect(await repository.findIdempotency(record.principal, record.key, dayLater)).toBeNull();
  });

  it('lists an agent’s intents newest first, in pages whose cursors cover each once', async () => {
    const repository = repositoryOf();
    const agent = `agent-pages-${made}`;
    const intents: IntentState[] = [];
    for (let i = 0; i < 7; i += 1)
      intents.push(await created(repository, { agent, minutesAgo: i }));
    const newestFirst = intents.map((intent) => intent.id);
    expect(await allPages(repository, { fromAgent: agent, limit: 3 })).toEqual(newestFirst);
    const firstPage = await repository.list({ fromAgent: agent, limit: 7 });
    expect(firstPage.nextCursor).toBeNull();
    // Decided ones leave the pending list, not the agent's.
    await change(repository, intents[1] as IntentState, decided);
    expect(await allPages(repository, { fromAgent: agent, status: 'pending', limit: 2 })).toEqual(
      newestFirst.filter((id) => id !== intents[1]?.id),
    );
    expect(await allPages(repository, { fromAgent: agent, status: 'approved', limit: 2 })).toEqual([
      intents[1]?.id,
    ]);
  });

  it('lists what waits for a reviewer: theirs while pending and while they are asked', async () => {
    const repository = repositoryOf();
    const me = `me-${made}@company.com`;
    const other = `other-${made}@company.com`;
    const mine = await created(repository, { reviewers: [me], minutesAgo: 3 });
    const shared = await created(repository, { reviewers: [other, me], minutesAgo: 2 });
    await created(repository, { reviewers: [other], minutesAgo: 1 });
    const inbox = () => allPages(repository, { recipient: me, status: 'pending', limit: 1 });
    expect(await inbox()).toEqual([shared.id, mine.id]);

    // A decision takes it out of every inbox; a new step's recipients replace the old ones.
    await change(repository, shared, decided);
    await change(repository, mine, () => ({ step: 1, recipients: [other], asked: [other] }));
    expect(await inbox()).toEqual([]);
    expect(await allPages(repository, { recipient: other, status: 'pending', limit: 5 })).toEqual(
      expect.arrayContaining([mine.id]),
    );
    // An escalation adds them back.
    const again = await repository.get(mine.id);
    await change(repository, again as IntentState, (intent) => ({
      recipients: [...intent.recipients, me],
    }));
    expect(await inbox()).toEqual([mine.id]);
    // Decided intents a reviewer was asked about are listed by status.
    expect(await allPages(repository, { recipient: me, status: 'approved', limit: 5 })).toEqual([
      shared.id,
    ]);
  });

  it('lists by status and by intent type, and refuses a cursor it did not return', async () => {
    const repository = repositoryOf();
    const type = `intent.contract${made}.v1`;
    const a = await created(repository, { type, minutesAgo: 2 });
    const b = await created(repository, { type, minutesAgo: 1 });
    await change(repository, a, decided);
    const ofType = await allPages(repository, { intentType: type, limit: 1 });
    expect(ofType).toEqual([b.id, a.id]);
    const approved = await allPages(repository, { status: 'approved', limit: 100 });
    expect(approved).toContain(a.id);
    expect(approved).not.toContain(b.id);
    await expect(repository.list({ limit: 5, cursor: 'not-a-cursor' })).rejects.toBeInstanceOf(
      InvalidCursorError,
    );
    await expect(
      repository.listOverdue({ dueBefore: a.created_at, limit: 5, cursor: 'eyJ4IjoxfQ' }),
    ).rejects.toBeInstanceOf(InvalidCursorError);
  });

  it('lists overdue pending intents most overdue first, not those waiting as planned', async () => {
    const repository = repositoryOf();
    // Their own hour, so that the other tests' intents are not overdue in it.
    const hour = (minute: number) => new Date(Date.parse('2020-01-01T00:00:00Z') + minute * 60_000);
    const at = (minute: number) => hour(minute).toISOString();
    const make = async (minute: number) => {
      const { intent, events } = intentOf({});
      const placed = { ...intent, created_at: at(minute), updated_at: at(minute) };
      await repository.create(placed, events);
      return placed;
    };
    const neverStarted = await make(10);
    const waiting = await make(5);
    const unsent = await make(20);
    const older = await make(1);
    // `waiting` entered a stage and sent its notices: due at its next reminder, at minute 50.
    await change(repository, waiting, () => ({ task_token: 'token', next_action_at: at(50) }));
    // `unsent` entered a stage whose notices are not sent yet: due since it entered.
    await change(repository, unsent, () => ({
      task_token: 'token',
      next_action_at: at(50),
      pending_notifications: [{ to: 'cfo@company.com', kind: 'notify', channel: 'email' }],
    }));
    const overdue = async (minute: number) => {
      const ids: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await repository.listOverdue({
          dueBefore: at(minute),
          limit: 1,
          ...(cursor ? { cursor } : {}),
        });
        ids.push(...page.items.map((intent) => intent.id));
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      return ids;
    };
    expect(await overdue(30)).toEqual([older.id, neverStarted.id, unsent.id]);
    expect(await overdue(60)).toEqual([older.id, neverStarted.id, unsent.id, waiting.id]);
    await change(repository, older, decided);
    expect(await overdue(60)).toEqual([neverStarted.id, unsent.id, waiting.id]);
  });
});
