import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { DynamoInboxStore } from '../../lambdas/adapters/dynamo-inbox';

/**
 * Who may get a sign-in link is asked by anyone, unauthenticated: an address nobody asked must
 * cost one small read of its own pending list, however many intents the table holds.
 */
const dynamo = mockClient(DynamoDBDocumentClient);
const store = new DynamoInboxStore(
  DynamoDBDocumentClient.from(
    new DynamoDBClient({
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    }),
  ),
  'countersign-test',
);

beforeEach(() => dynamo.reset());

describe('DynamoInboxStore.hasPending', () => {
  it('reads one item of the address’s own inbox partition, however large the table', async () => {
    dynamo.on(QueryCommand).resolves({ Items: [], LastEvaluatedKey: { pk: 'more' } });
    expect(await store.hasPending('stranger@elsewhere.example')).toBe(false);
    const queries = dynamo.commandCalls(QueryCommand).map((call) => call.args[0].input);
    expect(queries).toHaveLength(1);
    expect(queries[0]?.Limit).toBe(1);
    expect(queries[0]?.IndexName).toBeUndefined();
    expect(queries[0]?.ExpressionAttributeValues?.[':pk']).toBe(
      'LIST#INBOX#stranger@elsewhere.example',
    );
  });

  it('finds an address an intent waits for', async () => {
    dynamo.on(QueryCommand).resolves({ Items: [{ pk: 'LIST#INBOX#cfo@company.com' }] });
    expect(await store.hasPending('cfo@company.com')).toBe(true);
  });
});

describe('DynamoInboxStore.putSession', () => {
  it('stores a session by its hash, listed under its reviewer, expiring by the TTL attribute', async () => {
    dynamo.on(PutCommand).resolves({});
    const hash = 'f'.repeat(64);
    await store.putSession(hash, {
      reviewer: 'cfo@company.com',
      csrf: 'csrf-token',
      created_at: '2026-11-24T09:00:00.000Z',
      expires_at: 1_795_000_000,
    });
    const put = dynamo.commandCalls(PutCommand)[0]?.args[0].input;
    expect(put?.Item).toMatchObject({
      pk: `SESSION#${hash}`,
      sk: 'SESSION',
      gsi1pk: 'SESSIONS#cfo@company.com',
      reviewer: 'cfo@company.com',
      expires_at: 1_795_000_000,
    });
    // A second session under the same hash is refused, never overwritten.
    expect(put?.ConditionExpression).toBe('attribute_not_exists(pk)');
  });
});
