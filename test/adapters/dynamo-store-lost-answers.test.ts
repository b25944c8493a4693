/**
 * Writes whose first attempt landed but whose answer was lost (a timeout, a dropped connection,
 * a 5xx), against DynamoDB Local: the SDK sends the same request again, its condition now fails
 * against the write itself, and the caller must still get the answer of its own write, not a
 * lost race, a 409 against itself or a 5xx for an intent that was created.
 *
 * The answer is lost by a middleware that lets an attempt reach DynamoDB Local and then fails it
 * as a reset connection, which the SDK retries. A transaction's retry is made idempotent by its
 * request token; "without a token" strips it from the request, as a client that sends none, so
 * that the write id on META is what recognises the landed attempt.
 */
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DynamoIntentRepository } from '../../lambdas/adapters/dynamo-store';
import { createIntent, type IntentServiceDeps } from '../../lambdas/core/intents';
import { transitionIntent } from '../../lambdas/core/transitions';
import { applyVote } from '../../lambdas/domain/decisions';
import type { IntentState } from '../../lambdas/domain/intent';
import { LOCAL_TABLE_NAME } from '../../local/stack';
import { InMemoryPolicyRepository, PERMISSIVE_BASE } from '../fakes/memory-policies';
import { testSigner } from '../handlers/signing-key';
import { intentMaker, startLocalTable, withEvents } from './local-table';

let stop: () => Promise<void> = async () => undefined;
let repository: DynamoIntentRepository;

/** The next `count` sends of `command` lose the answer of their first attempt. */
let losing: { command: string; count: number; meanwhile?: () => Promise<void> } | undefined;
let stripTokens = false;
/** Every attempt that reached DynamoDB Local since the loss was armed, in order. */
const attempts: { command: string; attempt: number }[] = [];

const loseAnswers = (command: string, count = 1, meanwhile?: () => Promise<void>) => {
  losing = { command, count, ...(meanwhile ? { meanwhile } : {}) };
  attempts.length = 0;
};

beforeAll(async () => {
  const local = await startLocalTable('ddb-lost-answers');
  stop = local.stop;
  const { client } = local;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const request = args.request as { body?: unknown; headers: Record<string, string> };
      if (stripTokens && context.commandName === 'TransactWriteItemsCommand') {
        const body = request.body;
        const text = typeof body === 'string' ? body : new TextDecoder().decode(body as Uint8Array);
        const { ClientRequestToken: _token, ...rest } = JSON.parse(text) as Record<string, unknown>;
        request.body = JSON.stringify(rest);
        delete request.headers['content-length'];
      }
      return next(args);
    },
    { step: 'build', priority: 'high', name: 'stripTokens' },
  );
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const command = context.commandName ?? '?';
      const request = args.request as { headers: Record<string, string> };
      // Set by the SDK's retry: `attempt=1; max=3` on the first attempt of a send.
      const attempt = Number(/attempt=(\d+)/.exec(request.headers['amz-sdk-request'] ?? '')?.[1]);
      attempts.push({ command, attempt });
      const result = await next(args);
      if (losing && losing.command === command && losing.count > 0 && attempt === 1) {
        losing.count -= 1;
        await losing.meanwhile?.();
        throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
      }
      return result;
    },
    { step: 'deserialize', priority: 'high', name: 'loseAnswers' },
  );
  repository = new DynamoIntentRepository(
    DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } }),
    LOCAL_TABLE_NAME,
  );
}, 90_000);
afterAll(() => stop());
afterEach(() => {
  // Every armed loss was used: a test that lost nothing would prove nothing.
  expect(losing?.count ?? 0).toBe(0);
  losing = undefined;
  stripTokens = false;
  attempts.length = 0;
});

const fresh = intentMaker('LOST');

async function stored(): Promise<IntentState> {
  const m = fresh();
  await repository.create(m.intent, m.events);
  return m.intent;
}

/** The next version of `intent`, with a `viewed` event when `withEvent` (a transaction). */
function change(intent: IntentState, summary: string, withEvent: boolean) {
  const changed = { ...intent, summary, version: intent.version + 1 };
  if (!withEvent) return { next: changed, events: [] };
  const { intent: next, events } = withEvents(changed, [
    { type: 'viewed', at: intent.created_at, actor: 'cfo@company.com', channel: 'email', data: {} },
  ]);
  return { next, events };
}

const tokenCases = [
  { how: 'by its request token', strip: false },
  { how: 'by its write id (no token sent)', strip: true },
];

describe('a commit whose first attempt landed but whose answer was lost', () => {
  it('answers true for a change without events (one PutItem), stored once', async () => {
    const intent = await stored();
    const { next: changed } = change(intent, 'changed once', false);
    loseAnswers('PutItemCommand');
    expect(await repository.commit(changed, intent, [])).toBe(true);
    expect(attempts.filter((a) => a.command === 'PutItemCommand')).toHaveLength(2);
    const read = await repository.get(intent.id);
    expect(read).toMatchObject({ summary: 'changed once', version: intent.version + 1 });
    // The write id is the store's own: it never reaches the intent callers see.
    expect(read).not.toHaveProperty('write_id');
  });

  it('gives transitionIntent its own change without events, not a second write', async () => {
    const intent = await stored();
    loseAnswers('PutItemCommand');
    const { after } = await transitionIntent(
      repository,
      intent.id,
      (current) => ({ intent: { ...current, task_token: 'token-1' }, events: [], signal: false }),
      intent,
    );
    expect(after).toMatchObject({ task_token: 'token-1', version: intent.version + 1 });
    // The one write, retried once; no fresh read to decide again on.
    expect(attempts.map((a) => a.command)).toEqual(['PutItemCommand', 'PutItemCommand']);
    expect(await repository.get(intent.id)).toMatchObject({ version: intent.version + 1 });
  });

  it.each(tokenCases)(
    'answers true for a change with events, recognised $how',
    async ({ strip }) => {
      const intent = await stored();
      const { next: changed, events } = change(intent, 'changed once', true);
      stripTokens = strip;
      loseAnswers('TransactWriteItemsCommand');
      expect(await repository.commit(changed, intent, events)).toBe(true);
      expect(await repository.events(intent.id)).toHaveLength(intent.event_count + 1);
    },
  );

  it.each(tokenCases)(
    'gives the reviewer its own decision, not 409, recognised $how',
    async ({ strip }) => {
      const intent = await stored();
      stripTokens = strip;
      loseAnswers('TransactWriteItemsCommand');
      const { after, transition } = await transitionIntent(
        repository,
        intent.id,
        (current) =>
          applyVote(current, {
            by: 'cfo@company.com',
            outcome: 'approve',
            comment: null,
            channel: 'api',
            at: new Date().toISOString(),
          }),
        undefined,
        testSigner(),
      );
      expect(after).toMatchObject({ status: 'approved', version: intent.version + 1 });
      expect(transition.signal).toBe(true);
      // One write of the decision, retried once; no second decision on a fresh read.
      expect(attempts.filter((a) => a.command === 'TransactWriteItemsCommand')).toHaveLength(2);
      expect(await repository.get(intent.id)).toMatchObject({ status: 'approved' });
    },
  );

  it('answers true even when another write landed before the retry: DynamoDB Local honours ClientRequestToken', async () => {
    const intent = await stored();
    const ours = change(intent, 'ours', true);
    const theirs = change(ours.next, 'theirs', false);
    let theirsCommitted: boolean | undefined;
    loseAnswers('TransactWriteItemsCommand', 1, async () => {
      theirsCommitted = await repository.commit(theirs.next, ours.next, []);
    });
    expect(await repository.commit(ours.next, intent, ours.events)).toBe(true);
    expect(theirsCommitted).toBe(true);
    expect(await repository.get(intent.id)).toMatchObject({
      summary: 'theirs',
      version: intent.version + 2,
    });
  });
});

describe('a genuine lost race', () => {
  it.each([
    { kind: 'without events', withEvent: false },
    { kind: 'with events', withEvent: true },
  ])('still answers false, $kind', async ({ withEvent }) => {
    const intent = await stored();
    const winner = change(intent, 'winner', withEvent);
    const loser = change(intent, 'loser', withEvent);
    expect(await repository.commit(winner.next, intent, winner.events)).toBe(true);
    // The loser's refusal carries the winner's META, whose write id is not the loser's.
    expect(await repository.commit(loser.next, intent, loser.events)).toBe(false);
    expect(await repository.get(intent.id)).toMatchObject({ summary: 'winner' });
  });
});

describe('a create whose first attempt landed but whose answer was lost', () => {
  const started: string[] = [];
  const deps = (): IntentServiceDeps => ({
    intents: repository,
    signer: testSigner(),
    workflow: {
      start: async (id) => {
        started.push(id);
      },
      wake: async () => 'delivered',
    },
    clock: { now: () => new Date() },
    configuredChannels: ['email'],
    policies: {
      policies: new InMemoryPolicyRepository(),
      configured: new Map(),
      clock: { now: () => new Date() },
    },
    policyBase: PERMISSIVE_BASE,
    allowLoopbackCallbacks: false,
    waitPollMs: 1000,
  });
  const agent = { role: 'agent' as const, name: 'agent://myorg/lost-answers', keyId: 'key_1' };
  const body = {
    intent_type: 'intent.report.review_approval.v1',
    to_agent: 'agent://myorg/production/report-generator',
    reviewers: ['cfo@company.com'],
    payload: { report: 'Q1' },
  };

  it.each(
    tokenCases.flatMap((token) => [
      { ...token, key: undefined, keyed: 'without' },
      { ...token, key: `key-${token.strip}`, keyed: 'with' },
    ]),
  )(
    'is created (201) and started, $keyed an Idempotency-Key, recognised $how',
    async ({ strip, key }) => {
      started.length = 0;
      stripTokens = strip;
      loseAnswers('TransactWriteItemsCommand');
      const { status, intent } = await createIntent(deps(), agent, body, key);
      expect(status).toBe(201);
      expect(started).toEqual([intent.id]);
      expect(attempts.filter((a) => a.command === 'TransactWriteItemsCommand')).toHaveLength(2);
      expect(await repository.get(intent.id)).toMatchObject({ id: intent.id, status: 'pending' });
    },
  );
});

describe('merged writes whose transaction landed but whose answer was lost', () => {
  it.each(tokenCases)('keep each caller its own answer, recognised $how', async ({ strip }) => {
    const existing = [await stored(), await stored(), await stored()];
    const creates = [fresh(), fresh(), fresh()];
    stripTokens = strip;
    loseAnswers('TransactWriteItemsCommand');
    // Made in the same turn, all six share one transaction.
    const [created, committed] = await Promise.all([
      Promise.all(creates.map((m) => repository.create(m.intent, m.events))),
      Promise.all(
        existing.map((intent, index) => {
          const { next: changed, events } = change(intent, `merged ${index}`, index === 0);
          return repository.commit(changed, intent, events);
        }),
      ),
    ]);
    expect(created).toEqual(creates.map(() => ({ kind: 'created' })));
    expect(committed).toEqual([true, true, true]);
    const first = attempts[0];
    expect(first).toEqual({ command: 'TransactWriteItemsCommand', attempt: 1 });
    // With the token the retry of the merged transaction succeeds; without one it is refused
    // and each write is sent again alone, to find its own write id.
    const writes = attempts.filter((a) => a.command !== 'BatchGetItemCommand');
    expect(writes.filter((a) => a.attempt === 1)).toHaveLength(strip ? 7 : 1);
    const read = await Promise.all(existing.map((intent) => repository.get(intent.id)));
    expect(read.map((intent) => intent?.summary)).toEqual(['merged 0', 'merged 1', 'merged 2']);
    for (const m of creates) {
      expect(await repository.get(m.intent.id)).toMatchObject({ summary: m.intent.summary });
    }
  });
});
