/**
 * The scale model: the write and read pattern of many intents, replayed against the table's
 * key design without a table. Each intent goes through its life by the real core and domain
 * (`transitionIntent`: created, a stage entered, its notices sent, viewed, approved, the
 * decided notices sent), and every write is built by the adapter's own builders
 * (`dynamo/intent-writes.ts`, the same functions the repository sends): the model only counts
 * the partitions they write. Reads run the adapter's own shard merge (`merged-listing.ts`) over
 * the listing partitions (`listPartitions`) filled with a pending backlog.
 *
 * It reports the hottest partition's writes per second (write units, GSIs included) at 1,000
 * creates per second with as many decisions (a steady 1,000,000 pending), and the items read
 * per inbox page, and fails above DynamoDB's per-partition limits (1,000 WCU/s, 3,000 RCU/s).
 * The table it prints is in docs/performance.md, "Scale model".
 */
import { describe, expect, it } from 'vitest';
import type { TransactItem } from '../../lambdas/adapters/dynamo/group-commit';
import {
  approximateBytes,
  DUE_SHARDS,
  LISTING_PREFIX,
  LISTING_SHARDS,
  listingKeys,
  listPartitions,
  listSortKey,
} from '../../lambdas/adapters/dynamo/intent-items';
import { commitWrite, createWrite } from '../../lambdas/adapters/dynamo/intent-writes';
import { firstPageSize, mergePartitions } from '../../lambdas/adapters/dynamo/merged-listing';
import { TABLE_KEYS } from '../../lambdas/adapters/table-schema';
import type { IntentRepository, ListIntentsQuery } from '../../lambdas/core/ports';
import { transitionIntent } from '../../lambdas/core/transitions';
import { sealEvents } from '../../lambdas/domain/audit';
import { applyView, applyVote } from '../../lambdas/domain/decisions';
import type { IntentState } from '../../lambdas/domain/intent';
import {
  enterStage,
  planStages,
  queueDecidedNotices,
  settleNotifications,
} from '../../lambdas/domain/stages';
import { pendingIntent } from '../domain/fixtures';
import { testSigner } from '../handlers/signing-key';

const CREATES_PER_SECOND = 1_000;
const PENDING = 1_000_000;
/** Intents replayed for the write rates (their lives, spread over CREATED / 1,000 seconds). */
const REPLAYED = 3_000;
const REVIEWERS = 10_000;
/** Every intent asks two reviewers; one in 20 also a shared mailbox (the busiest inbox). */
const SHARED_REVIEWER = 'approvals@company.com';
const SHARED_SHARE = 20;
/** All intents come from one agent: the worst case for the agent's list. */
const AGENT = 'agent://busy/agent';
const PAGE = 50;
/** Each reviewer reads a page of their inbox every second (a console left open). */
const INBOX_READS_PER_REVIEWER_PER_SECOND = 1;
const WCU_LIMIT = 1_000;
const RCU_LIMIT = 3_000;

/** Write units per partition (base table partitions by `pk`, GSI partitions by index and key). */
class WriteCounter {
  readonly units = new Map<string, number>();

  record(items: TransactItem[]): void {
    for (const action of items) {
      const item = action.Put?.Item ?? action.Delete?.Key;
      if (!item) continue;
      // A delete costs at least one unit; listing items are small, so one.
      const units = action.Put ? Math.ceil(approximateBytes(item) / 1024) : 1;
      this.add(String(item.pk), units);
      // A GSI (projecting all attributes) is written whenever an item with its key is.
      for (const index of [TABLE_KEYS.gsi1, TABLE_KEYS.gsi2]) {
        const key = item[index.partitionKey];
        if (key !== undefined) this.add(`${index.name}:${String(key)}`, units);
      }
    }
  }

  private add(partition: string, units: number): void {
    this.units.set(partition, (this.units.get(partition) ?? 0) + units);
  }
}

/** The port as the core calls it; each write counted as the repository would send it. */
class ModelRepository implements Pick<IntentRepository, 'get' | 'commit'> {
  readonly states = new Map<string, IntentState>();
  constructor(private readonly counter: WriteCounter) {}

  create(intent: IntentState, events: ReturnType<typeof sealEvents>['events']): void {
    const write = createWrite('model', intent, events, 'write');
    this.counter.record([...write.early, ...write.items, ...write.late]);
    this.states.set(intent.id, intent);
  }

  async get(id: string) {
    return this.states.get(id) ?? null;
  }

  async commit(
    next: IntentState,
    before: IntentState,
    events: ReturnType<typeof sealEvents>['events'],
  ) {
    const write = commitWrite('model', {
      next,
      listedAs: before,
      expectedVersion: before.version,
      events,
      writeId: 'write',
    });
    this.counter.record([...write.early, ...write.items, ...write.late]);
    this.states.set(next.id, next);
    return true;
  }
}

const reviewerOf = (n: number) => `reviewer${n % REVIEWERS}@company.com`;
const template = pendingIntent({ reviewers: ['a@company.com', 'b@company.com'] });

function newPending(n: number, at: Date): IntentState {
  const reviewers = [reviewerOf(n * 2), reviewerOf(n * 2 + 1)];
  if (n % SHARED_SHARE === 0) reviewers.push(SHARED_REVIEWER);
  return {
    ...template,
    id: `int_${String(n).padStart(8, '0')}`,
    from_agent: AGENT,
    created_at: at.toISOString(),
    updated_at: at.toISOString(),
    recipients: reviewers,
    asked: reviewers,
  };
}

/** One intent's whole life, as the stage task, a reviewer and NotifyDecided drive it. */
async function live(repository: ModelRepository, n: number): Promise<void> {
  const at = new Date(Date.parse('2026-12-01T09:00:00Z') + n);
  const born = newPending(n, at);
  const created = sealEvents(born, [
    { type: 'created', at: born.created_at, actor: AGENT, channel: 'api', data: {} },
  ]);
  const intent = {
    ...born,
    event_count: created.event_count,
    last_event_hash: created.last_event_hash,
  };
  repository.create(intent, created.events);
  const iso = at.toISOString();
  const run = (decide: (state: IntentState) => ReturnType<typeof enterStage>) =>
    transitionIntent(
      repository as unknown as IntentRepository,
      intent.id,
      decide,
      undefined,
      signer,
    );
  await run((state) => {
    const [stage] = planStages(state.policy, at.getTime(), Date.parse(state.deadline_at));
    if (!stage) throw new Error('no stage');
    return enterStage(state, {
      step: 0,
      stage,
      recipients: state.recipients,
      token: 'task-token',
      at: iso,
      nextAt: Date.parse(state.deadline_at),
    });
  });
  const sent = (state: IntentState) =>
    settleNotifications(
      state,
      state.pending_notifications.map((notification) => ({
        notification,
        outcome: { ok: true as const, messageId: `ses-${notification.to}` },
      })),
      iso,
    );
  await run(sent);
  await run((state) => applyView(state, state.recipients[0] ?? '', iso));
  await run((state) =>
    applyVote(state, {
      by: state.recipients[0] ?? '',
      outcome: 'approve',
      comment: null,
      channel: 'api',
      at: iso,
    }),
  );
  await run(queueDecidedNotices);
  await run(sent);
}

const signer = testSigner();

/**
 * The listing partitions of a pending backlog: each partition's sort keys, newest first. Built
 * from `listingKeys`, the repository's own, over pending intents with the same reviewers.
 */
function backlog(count: number, extra: (n: number) => string[] = () => []): Map<string, string[]> {
  const partitions = new Map<string, string[]>();
  const start = Date.parse('2026-11-20T00:00:00Z');
  for (let n = 0; n < count; n += 1) {
    const intent = newPending(n, new Date(start + n * 1000));
    intent.recipients.push(...extra(n));
    for (const key of listingKeys(intent)) {
      const keys = partitions.get(key.pk) ?? [];
      keys.push(key.sk);
      partitions.set(key.pk, keys);
    }
  }
  for (const keys of partitions.values()) keys.sort().reverse();
  return partitions;
}

/**
 * The items one page of `query` reads: the listing items the shard merge asks for, and the two
 * items (META, PAYLOAD) of each intent it returns, by partition.
 */
async function pageReads(
  partitions: Map<string, string[]>,
  query: ListIntentsQuery,
): Promise<{ listingItems: number; intentItems: number; byPartition: Map<string, number> }> {
  const byPartition = new Map<string, number>();
  const read = listPartitions(query);
  const merged = mergePartitions<{ sk: string; id: string }>(
    read,
    async (pk, startKey, limit) => {
      const keys = partitions.get(pk) ?? [];
      const from = startKey ? Number(startKey.at) : 0;
      const items = keys
        .slice(from, from + limit)
        .map((sk) => ({ sk, id: sk.split('#')[1] ?? '' }));
      byPartition.set(pk, (byPartition.get(pk) ?? 0) + items.length);
      return { items, ...(from + limit < keys.length ? { next: { at: from + limit } } : {}) };
    },
    { descending: true, firstPage: firstPageSize(query.limit, read.length) },
  );
  let returned = 0;
  for await (const _candidate of merged) {
    returned += 1;
    if (returned > query.limit) break;
  }
  const listingItems = [...byPartition.values()].reduce((sum, n) => sum + n, 0);
  return { listingItems, intentItems: 2 * Math.min(returned, query.limit), byPartition };
}

describe('scale model: 1,000 creates/s, 1,000,000 pending', () => {
  it('keeps every partition under its write limit, and an inbox page under its read limit', async () => {
    // Writes: REPLAYED lives; at a steady state every second sees 1,000 creates and 1,000 of
    // everything else, so a partition's rate is its writes over REPLAYED / 1,000 seconds.
    const counter = new WriteCounter();
    const repository = new ModelRepository(counter);
    for (let n = 0; n < REPLAYED; n += 1) await live(repository, n);
    const seconds = REPLAYED / CREATES_PER_SECOND;
    const rates = [...counter.units].map(([partition, units]) => ({
      partition,
      perSecond: units / seconds,
    }));
    rates.sort((a, b) => b.perSecond - a.perSecond);
    const hottest = rates[0] ?? { partition: '-', perSecond: 0 };
    const hottestOf = (prefix: string) =>
      rates.find((rate) => rate.partition.startsWith(prefix))?.perSecond ?? 0;

    // Reads: a page of the inbox of a typical reviewer and of the shared mailbox, and whether
    // it reads the same whatever waits for others.
    const pending = backlog(20_000);
    const typical = await pageReads(pending, {
      recipient: reviewerOf(0),
      status: 'pending',
      limit: PAGE,
    });
    const shared = await pageReads(pending, {
      recipient: SHARED_REVIEWER,
      status: 'pending',
      limit: PAGE,
    });
    const fewOthers = await pageReads(
      backlog(100, (n) => (n < 60 ? ['me@company.com'] : [])),
      {
        recipient: 'me@company.com',
        status: 'pending',
        limit: PAGE,
      },
    );
    const manyOthers = await pageReads(
      backlog(10_000, (n) => (n < 60 ? ['me@company.com'] : [])),
      { recipient: 'me@company.com', status: 'pending', limit: PAGE },
    );
    const adminPage = await pageReads(pending, { status: 'pending', limit: PAGE });
    // Read units of one inbox page on the inbox partition: listing items of about 100 bytes,
    // read consistently (4 KB a unit), and on each intent's partition (META and PAYLOAD, under
    // 4 KB each here, one unit each), which up to three reviewers' pages read.
    const listingItemBytes = approximateBytes({
      pk: `${LISTING_PREFIX}INBOX#${SHARED_REVIEWER}`,
      sk: listSortKey(template),
      id: template.id,
    });
    const inboxRcu = Math.ceil((shared.listingItems * listingItemBytes) / 4096);
    const inboxPartitionRcuPerSecond = inboxRcu * INBOX_READS_PER_REVIEWER_PER_SECOND;
    const intentPartitionRcuPerSecond = 2 * 3 * INBOX_READS_PER_REVIEWER_PER_SECOND;

    const rows: [string, string][] = [
      [
        'creates/s (and decisions/s), pending',
        `${CREATES_PER_SECOND}, ${PENDING.toLocaleString('en')}`,
      ],
      ['shards per status and per agent; of the due list', `${LISTING_SHARDS}; ${DUE_SHARDS}`],
      ['hottest partition, WCU/s', `${hottest.perSecond.toFixed(0)} (${hottest.partition})`],
      ['a status shard, WCU/s', hottestOf(`${LISTING_PREFIX}STATUS#`).toFixed(0)],
      [
        'an agent shard (one agent creates all), WCU/s',
        hottestOf(`${LISTING_PREFIX}AGENT#`).toFixed(0),
      ],
      ['a due-list shard, WCU/s', hottestOf(`${LISTING_PREFIX}DUE#`).toFixed(0)],
      [
        `the shared inbox (1 in ${SHARED_SHARE} intents), WCU/s`,
        hottestOf(`${LISTING_PREFIX}INBOX#${SHARED_REVIEWER}`).toFixed(1),
      ],
      ['an intent’s own partition (its whole life), WCU', hottestOf('INTENT#').toFixed(0)],
      [
        'GSI partitions written',
        String(rates.filter((rate) => rate.partition.startsWith('gsi')).length),
      ],
      [
        'inbox page of 50: listing items read (4 pending; the mailbox, 1,000)',
        `${typical.listingItems}, ${shared.listingItems}`,
      ],
      ['inbox page of 50: intent items read (META + PAYLOAD)', String(shared.intentItems)],
      [
        'inbox page with 100 / 10,000 others pending: items read',
        `${fewOthers.listingItems + fewOthers.intentItems} / ${manyOthers.listingItems + manyOthers.intentItems}`,
      ],
      [
        'status=pending page of 50 (all shards): listing items read',
        String(adminPage.listingItems),
      ],
      ['busiest inbox partition read, RCU/s (a page a second)', String(inboxPartitionRcuPerSecond)],
    ];
    console.log(
      `\n| scale model | result |\n|---|---|\n${rows.map(([name, value]) => `| ${name} | ${value} |`).join('\n')}\n`,
    );

    expect(hottest.perSecond).toBeLessThan(WCU_LIMIT);
    expect(rates.filter((rate) => rate.partition.startsWith('gsi'))).toEqual([]);
    expect(shared.listingItems).toBeLessThanOrEqual(PAGE + 1);
    expect(typical.byPartition.size).toBe(1);
    expect(manyOthers.listingItems + manyOthers.intentItems).toBe(
      fewOthers.listingItems + fewOthers.intentItems,
    );
    expect(inboxPartitionRcuPerSecond).toBeLessThan(RCU_LIMIT);
    expect(intentPartitionRcuPerSecond).toBeLessThan(RCU_LIMIT);
  }, 120_000);
});
