import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
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
