/**
 * The DynamoDB repository under concurrency, against DynamoDB Local: concurrent calls are
 * merged into batched reads and shared transactions (`coalescer.ts`), and every caller must
 * still get exactly the answer it would get alone: a create is created once, an idempotency key
 * wins once, a stale version is refused, and concurrent changes to one intent chain correctly.
 */
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoIntentRepository } from '../../lambdas/adapters/dynamo-store';
import { transitionIntent } from '../../lambdas/core/transitions';
import { applyView } from '../../lambdas/domain/decisions';
import { LOCAL_TABLE_NAME } from '../../local/stack';
import { verifyTrail } from '../../sdk/src/audit';
import { intentMaker, startLocalTable } from './local-table';

let stop: () => Promise<void> = async () => undefined;
let repository: DynamoIntentRepository;
const sent = new Map<string, number>();

beforeAll(async () => {
  const local = await startLocalTable('ddb-batching');
  stop = local.stop;
  const db = DynamoDBDocumentClient.from(local.client, {
    marshallOptions: { removeUndefinedValues: true },
  });
  db.middlewareStack.add(
    (next, context) => async (args) => {
      const name = context.commandName ?? '?';
      sent.set(name, (sent.get(name) ?? 0) + 1);
      return next(args);
    },
    { step: 'initialize', name: 'countCommands' },
  );
  repository = new DynamoIntentRepository(db, LOCAL_TABLE_NAME);
}, 90_000);
afterAll(() => stop());

const fresh = intentMaker('BATCH');

describe('DynamoIntentRepository under concurrency (DynamoDB Local)', () => {
  it('creates many intents at once in shared transactions, and reads them back in batches', async () => {
    sent.clear();
    const made = Array.from({ length: 60 }, fresh);
    const outcomes = await Promise.all(made.map((m) => repository.create(m.intent, m.events)));
    expect(outcomes.every((outcome) => outcome.kind === 'created')).toBe(true);
    // Far fewer transactions than intents: they were merged.
    const transactions = sent.get('TransactWriteItemsCommand') ?? 0;
    expect(transactions).toBeGreaterThan(0);
    expect(transactions).toBeLessThan(20);

    const read = await Promise.all(made.map((m) => repository.get(m.intent.id)));
    expect(read.map((intent) => intent?.summary)).toEqual(made.map((m) => m.intent.summary));
    expect(read.map((intent) => intent?.payload)).toEqual(made.map((m) => m.intent.payload));
    expect(sent.get('BatchGetItemCommand') ?? 0).toBeGreaterThan(0);
    expect(sent.get('BatchGetItemCommand') ?? 0).toBeLessThan(20);
    expect(await repository.get('int_NONE')).toBeNull();
  });

  it('lets one of several concurrent creates with the same idempotency key win; the others replay it', async () => {
    const contenders = Array.from({ length: 6 }, fresh);
    const key = { principal: 'agent://a', key: 'same-key', body_hash: 'h' };
    const outcomes = await Promise.all(
      contenders.map((m) =>
        repository.create(m.intent, m.events, { ...key, intent_id: m.intent.id }),
      ),
    );
    const created = outcomes.filter((outcome) => outcome.kind === 'created');
    expect(created).toHaveLength(1);
    const winner = contenders[outcomes.findIndex((outcome) => outcome.kind === 'created')];
    for (const outcome of outcomes.filter((o) => o.kind === 'replayed')) {
      expect(outcome).toMatchObject({ record: { intent_id: winner?.intent.id } });
    }
    // The losers' intents were not written.
    const stored = await Promise.all(contenders.map((m) => repository.get(m.intent.id)));
    expect(stored.filter((intent) => intent !== null)).toHaveLength(1);
  });

  it('refuses the stale writes of a merged batch and keeps the others', async () => {
    const made = Array.from({ length: 20 }, fresh);
    await Promise.all(made.map((m) => repository.create(m.intent, m.events)));
    const results = await Promise.all(
      made.map((m, index) => {
        const stale = index % 4 === 0;
        const expected = stale ? m.intent.version + 7 : m.intent.version;
        return repository.commit(
          { ...m.intent, summary: `changed ${index}`, version: expected + 1 },
          { ...m.intent, version: expected },
          [],
        );
      }),
    );
    expect(results).toEqual(made.map((_, index) => index % 4 !== 0));
    const stored = await Promise.all(made.map((m) => repository.get(m.intent.id)));
    expect(stored.map((intent) => intent?.summary)).toEqual(
      made.map((m, index) => (index % 4 === 0 ? m.intent.summary : `changed ${index}`)),
    );
  });

  it('applies twenty concurrent changes to one intent once each, in one unbroken chain', async () => {
    const m = fresh();
    await repository.create(m.intent, m.events);
    const reviewers = Array.from({ length: 20 }, (_, i) => `r${i}@company.com`);
    await Promise.all(
      reviewers.map((reviewer) =>
        transitionIntent(repository, m.intent.id, (current) =>
          applyView(current, reviewer, new Date().toISOString()),
        ),
      ),
    );
    const intent = await repository.get(m.intent.id);
    expect(intent?.viewed_by.slice().sort()).toEqual(reviewers.slice().sort());
    const events = await repository.events(m.intent.id);
    expect(events.map((event) => event.seq)).toEqual(Array.from({ length: 21 }, (_, i) => i + 1));
    expect(
      verifyTrail(events, {
        eventCount: intent?.event_count ?? 0,
        lastEventHash: intent?.last_event_hash ?? '',
      }),
    ).toMatchObject({ ok: true, eventCount: 21 });
  });
});
