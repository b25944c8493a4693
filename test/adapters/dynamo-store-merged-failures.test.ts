/**
 * What callers of merged writes get when DynamoDB fails (mocked client): a refusal of the whole
 * transaction means nothing was written, so each write is sent again alone for its own answer;
 * a failure without an answer may hide a commit, so every caller gets it, as alone. Each
 * transaction carries its own request token, which makes the SDK's retries of it idempotent.
 */
import { DynamoDBClient, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { DynamoIntentRepository } from '../../lambdas/adapters/dynamo-store';
import type { AuditEvent } from '../../lambdas/domain/audit';
import type { IntentState } from '../../lambdas/domain/intent';
import { pendingIntent } from '../domain/fixtures';

const dynamo = mockClient(DynamoDBDocumentClient);
const repository = new DynamoIntentRepository(
  DynamoDBDocumentClient.from(
    new DynamoDBClient({
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    }),
  ),
  'countersign-test',
);
afterEach(() => dynamo.reset());

const intents = (count: number) =>
  Array.from({ length: count }, (_, i) => ({ ...pendingIntent(), id: `int_M${i}`, version: 3 }));
/** An event to commit with, which makes the write a transaction. */
const viewed = (intent: IntentState): AuditEvent => ({
  seq: 2,
  type: 'viewed',
  at: intent.created_at,
  actor: 'a@x.com',
  channel: 'email',
  data: {},
  prev_hash: '0'.repeat(64),
  hash: '1'.repeat(64),
});
/** Commits without events: alone, each is one conditional PutItem. */
const commitAll = (list: ReturnType<typeof intents>, expected = 3) =>
  Promise.all(
    list.map((intent) =>
      repository
        .commit({ ...intent, version: expected + 1 }, { ...intent, version: expected }, [])
        .catch((error: Error) => error.message),
    ),
  );

describe('merged writes when DynamoDB fails', () => {
  it('a merged transaction with no answer fails every caller, and nothing is sent again alone', async () => {
    dynamo.on(TransactWriteCommand).rejects(new Error('socket hang up'));
    dynamo.on(PutCommand).resolves({});
    // Made in the same turn, the five share one transaction.
    const results = await commitAll(intents(5));
    expect(results).toEqual(Array.from({ length: 5 }, () => 'socket hang up'));
    expect(dynamo.commandCalls(TransactWriteCommand)).toHaveLength(1);
    expect(dynamo.commandCalls(PutCommand)).toHaveLength(0);
  });

  it('a refused merged transaction is sent again write by write, each with its own answer', async () => {
    dynamo.on(TransactWriteCommand).rejects(
      new TransactionCanceledException({
        message: 'Transaction cancelled',
        $metadata: {},
        CancellationReasons: [{ Code: 'ConditionalCheckFailed' }, { Code: 'None' }],
      }),
    );
    const stale = new Set(['int_M2']);
    dynamo.on(PutCommand).callsFake((input: { Item?: { id?: string } }) => {
      if (stale.has(String(input.Item?.id))) {
        throw Object.assign(new Error('stale'), { name: 'ConditionalCheckFailedException' });
      }
      return {};
    });
    const results = await commitAll(intents(4));
    expect(results).toEqual([true, true, false, true]);
    expect(dynamo.commandCalls(PutCommand)).toHaveLength(4);
  });

  it('each transaction sent has its own request token, the lone sends after a refusal too', async () => {
    dynamo
      .on(TransactWriteCommand)
      .rejectsOnce(
        new TransactionCanceledException({
          message: 'Transaction cancelled',
          $metadata: {},
          CancellationReasons: [{ Code: 'ConditionalCheckFailed' }, { Code: 'None' }],
        }),
      )
      .resolves({});
    const list = intents(3);
    const results = await Promise.all(
      list.map((intent) =>
        repository.commit({ ...intent, version: 4 }, { ...intent, version: 3 }, [viewed(intent)]),
      ),
    );
    expect(results).toEqual([true, true, true]);
    const tokens = dynamo
      .commandCalls(TransactWriteCommand)
      .map((call) => call.args[0].input.ClientRequestToken);
    expect(tokens).toHaveLength(4);
    expect(tokens.every((token) => typeof token === 'string' && token.length > 0)).toBe(true);
    expect(new Set(tokens).size).toBe(4);
  });

  it('a write that lost to another transaction (TransactionConflict) is a refusal its caller retries', async () => {
    dynamo.on(TransactWriteCommand).rejects(
      new TransactionCanceledException({
        message: 'Transaction cancelled',
        $metadata: {},
        CancellationReasons: [{ Code: 'TransactionConflict' }, { Code: 'None' }],
      }),
    );
    const [intent] = intents(1);
    if (!intent) throw new Error('no intent');
    expect(
      await repository.commit({ ...intent, version: 4 }, { ...intent, version: 3 }, [
        viewed(intent),
      ]),
    ).toBe(false);
  });
});
