/**
 * The DynamoDB repository's lists, on DynamoDB Local, beyond the port's contract: a reviewer's
 * pending list reads that reviewer's partition and nothing else, a stage that asks more people
 * than one transaction holds still lists and unlists every one of them, and intents stored
 * before listing items existed are migrated (by the backfill, or by their next change), and one
 * stored before operator policies (issue #12) is read as stored and decided under its own policy.
 */
import { randomUUID } from 'node:crypto';
import { DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inboxPartition, listSortKey } from '../../lambdas/adapters/dynamo/intent-items';
import { DynamoIntentRepository } from '../../lambdas/adapters/dynamo-store';
import { decideIntent } from '../../lambdas/core/intents';
import { putPolicy } from '../../lambdas/core/policies';
import type { AuditEvent } from '../../lambdas/domain/audit';
import type { IntentState } from '../../lambdas/domain/intent';
import { deploymentBase } from '../../lambdas/domain/operator-policy';
import { LOCAL_TABLE_NAME } from '../../local/stack';
import { verifyIntentTrail } from '../../sdk/src/audit';
import { intentServiceOver } from '../fakes/intent-service';
import {
  OLD_REVIEWER,
  OLD_TYPE,
  oldPolicy,
  STRICT_POLICY,
  storedBeforeOperatorPolicies,
} from '../fixtures/before-operator-policies';
import { intentMaker, startLocalTable } from './local-table';

let stop: () => Promise<void> = async () => undefined;
let db: DynamoDBDocumentClient;
let repository: DynamoIntentRepository;
/** Every Query sent: its partition and how many items it read. */
const queries: { pk: string; read: number }[] = [];

beforeAll(async () => {
  const local = await startLocalTable('ddb-listing');
  stop = local.stop;
  db = DynamoDBDocumentClient.from(local.client, {
    marshallOptions: { removeUndefinedValues: true },
  });
  db.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      if (context.commandName === 'QueryCommand') {
        const input = args.input as { ExpressionAttributeValues?: Record<string, unknown> };
        const pk = input.ExpressionAttributeValues?.[':pk'];
        queries.push({
          pk: String(typeof pk === 'object' && pk ? (pk as { S: string }).S : pk),
          read: (result.output as { ScannedCount?: number } | undefined)?.ScannedCount ?? 0,
        });
      }
      return result;
    },
    { step: 'initialize', name: 'recordQueries' },
  );
  repository = new DynamoIntentRepository(db, LOCAL_TABLE_NAME);
}, 90_000);
afterAll(() => stop());

const fresh = intentMaker('LIST');

async function createFor(reviewers: string[]): Promise<IntentState> {
  const { intent, events } = fresh();
  const asked = { ...intent, recipients: reviewers, asked: reviewers };
  await repository.create(asked, events);
  return asked;
}

async function inboxIds(reviewer: string): Promise<string[]> {
  const page = await repository.list({ recipient: reviewer, status: 'pending', limit: 100 });
  return page.items.map((intent) => intent.id);
}

describe('DynamoIntentRepository lists (DynamoDB Local)', () => {
  it("reads only the reviewer's own partition for reviewer=me, however many others wait", async () => {
    // Prepare
    for (let i = 0; i < 40; i += 1) await createFor([`someone${i % 8}@company.com`]);
    const mine = [await createFor(['me@company.com']), await createFor(['me@company.com'])];
    queries.length = 0;
    // Act
    const ids = await inboxIds('me@company.com');
    // Assess
    expect(ids).toEqual(mine.map((intent) => intent.id).reverse());
    expect(queries).toEqual([{ pk: inboxPartition('me@company.com'), read: 2 }]);
  });

  it('lists and unlists every one of 150 people a stage asks, past one transaction', async () => {
    // Prepare
    const people = Array.from({ length: 150 }, (_, i) => `person${i}@company.com`);
    const intent = await createFor(['lead@company.com']);
    // Act: one change asks 150 people (more listing items than a transaction holds) …
    const asking = { ...intent, recipients: people, version: 1 };
    expect(await repository.commit(asking, intent, [])).toBe(true);
    const listed = await Promise.all(people.map(inboxIds));
    // … and the decision takes it out of all their lists.
    const decided: IntentState = { ...asking, status: 'approved', version: 2 };
    expect(await repository.commit(decided, asking, [])).toBe(true);
    const unlisted = await Promise.all(people.map(inboxIds));
    // Assess
    expect(listed.every((ids) => ids.includes(intent.id))).toBe(true);
    expect(unlisted.every((ids) => !ids.includes(intent.id))).toBe(true);
    expect(await inboxIds('lead@company.com')).not.toContain(intent.id);
    // No listing item is left behind for any of them.
    const left = await Promise.all(
      people.map((person) =>
        db.send(
          new QueryCommand({
            TableName: LOCAL_TABLE_NAME,
            KeyConditionExpression: 'pk = :pk',
            ExpressionAttributeValues: { ':pk': inboxPartition(person) },
          }),
        ),
      ),
    );
    expect(left.flatMap((result) => result.Items ?? [])).toEqual([]);
  });

  describe('intents stored before listing items existed', () => {
    /** An intent as the previous version stored it: META with index keys, no listing items. */
    async function storeLegacy(reviewer: string): Promise<IntentState> {
      const { intent, events } = fresh();
      const legacy = { ...intent, recipients: [reviewer], asked: [reviewer] };
      await putLegacy(legacy, events);
      return legacy;
    }

    /** PutItem of each item `create` wrote before listing items existed (113f782^ and earlier). */
    async function putLegacy(legacy: IntentState, events: AuditEvent[]): Promise<void> {
      const { payload, ...meta } = legacy;
      await db.send(
        new PutCommand({
          TableName: LOCAL_TABLE_NAME,
          Item: {
            ...meta,
            write_id: randomUUID(),
            pk: `INTENT#${legacy.id}`,
            sk: 'META',
            gsi1pk: `AGENT#${legacy.from_agent}`,
            gsi1sk: listSortKey(legacy),
            gsi2pk: `STATUS#${legacy.status}`,
            gsi2sk: listSortKey(legacy),
          },
        }),
      );
      await db.send(
        new PutCommand({
          TableName: LOCAL_TABLE_NAME,
          Item: { pk: `INTENT#${legacy.id}`, sk: 'PAYLOAD', payload_json: JSON.stringify(payload) },
        }),
      );
      for (const event of events) {
        await db.send(
          new PutCommand({
            TableName: LOCAL_TABLE_NAME,
            Item: {
              pk: `INTENT#${legacy.id}`,
              sk: `EVENT#${String(event.seq).padStart(10, '0')}`,
              ...event,
            },
          }),
        );
      }
    }

    it('are listed once the backfill has run, and the backfill then finds none', async () => {
      // Prepare
      const legacy = await storeLegacy('legacy@company.com');
      expect(await inboxIds('legacy@company.com')).toEqual([]);
      // Act
      const migrated = await repository.backfillListings(100);
      // Assess
      expect(migrated).toBeGreaterThanOrEqual(1);
      expect(await inboxIds('legacy@company.com')).toEqual([legacy.id]);
      const byAgent = await repository.list({ fromAgent: legacy.from_agent, limit: 100 });
      expect(byAgent.items.map((intent) => intent.id)).toContain(legacy.id);
      expect(await repository.get(legacy.id)).toEqual(legacy);
      const overdue = await repository.listOverdue({ dueBefore: '2999-01-01', limit: 1000 });
      expect(overdue.items.map((intent) => intent.id)).toContain(legacy.id);
      expect(await repository.backfillListings(100)).toBe(0);
    });

    it('are migrated by their next change too, which then lists them', async () => {
      // Prepare
      const legacy = await storeLegacy('legacy-change@company.com');
      // Act
      const next = {
        ...legacy,
        recipients: [...legacy.recipients, 'added@company.com'],
        version: 1,
      };
      const committed = await repository.commit(next, legacy, []);
      // Assess
      expect(committed).toBe(true);
      expect(await inboxIds('legacy-change@company.com')).toEqual([legacy.id]);
      expect(await inboxIds('added@company.com')).toEqual([legacy.id]);
      // A stale change is still refused.
      expect(await repository.commit({ ...next, version: 1 }, legacy, [])).toBe(false);
    });

    it('one stored before operator policies is read as stored and decided under its own policy', async () => {
      // Prepare: the old item layout and shape, and a strict policy installed since.
      const old = storedBeforeOperatorPolicies(
        'int_LISTBEFOREPOLICIES',
        oldPolicy({ after: 86_400, action: 'reject' }),
      );
      await putLegacy(old.intent, old.events);
      const deps = {
        ...intentServiceOver(repository),
        policyBase: deploymentBase(['company.com']),
      };
      await putPolicy(
        deps.policies,
        { role: 'admin', name: 'admin@company.com', keyId: 'admin-key' },
        OLD_TYPE,
        STRICT_POLICY,
      );
      // The codec reads the old shape back unchanged: no field filled in, none lost.
      expect(await repository.get(old.intent.id)).toStrictEqual(old.intent);
      // Act: the stored reviewer decides; the stored quorum is one.
      const decided = await decideIntent(
        deps,
        { role: 'reviewer', name: OLD_REVIEWER, keyId: 'reviewer-key' },
        old.intent.id,
        { outcome: 'approve' },
      );
      // Assess
      expect(decided).toMatchObject({
        status: 'approved',
        decision: { outcome: 'approved', by: OLD_REVIEWER },
        recipients: [OLD_REVIEWER],
      });
      const stored = await repository.get(old.intent.id);
      expect(stored).toMatchObject({ status: 'approved', version: 1, asked: [OLD_REVIEWER] });
      expect(stored?.policy).toStrictEqual(old.intent.policy);
      const trail = await repository.events(old.intent.id);
      expect(trail[0]).toStrictEqual(old.events[0]);
      expect(trail.map((event) => event.type)).toEqual(['created', 'approval', 'approved']);
      expect(JSON.stringify(trail)).not.toMatch(/security@|ciso/);
      // The old created event has no payload hash: the chain and head verify, the payload is not covered.
      expect(verifyIntentTrail(decided, trail)).toMatchObject({ ok: true, payloadCovered: false });
      expect(await inboxIds(OLD_REVIEWER)).toEqual([]);
    });
  });
});
