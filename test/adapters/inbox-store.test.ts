import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { DynamoInboxStore, RECENT_INTENTS_READ } from '../../lambdas/adapters/dynamo-inbox';
import { INTENT_STATUSES } from '../../lambdas/domain/intent';

/**
 * Who may get a sign-in link is asked by anyone, unauthenticated: an address nobody asked must
 * cost a bounded read of the table, however many intents it holds.
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

describe('DynamoInboxStore.askedRecently', () => {
  it('reads at most RECENT_INTENTS_READ of each status for an address nobody asked', async () => {
    // Every page is full of other people's intents, and there is always a next page.
    dynamo.on(QueryCommand).resolves({ Items: [], LastEvaluatedKey: { pk: 'more' } });
    expect(await store.askedRecently('stranger@elsewhere.example')).toBe(false);
    const queries = dynamo.commandCalls(QueryCommand).map((call) => call.args[0].input);
    expect(queries).toHaveLength(INTENT_STATUSES.length * (RECENT_INTENTS_READ / 100));
    expect(queries.every((input) => input.Limit === 100 && input.ScanIndexForward === false)).toBe(
      true,
    );
  });

  it('finds a recipient of a decided intent, newest first, and stops there', async () => {
    dynamo
      .on(QueryCommand)
      .callsFake((input: { ExpressionAttributeValues: { ':pk': string } }) =>
        input.ExpressionAttributeValues[':pk'] === 'STATUS#approved'
          ? { Items: [{ pk: 'INTENT#int_1' }] }
          : { Items: [] },
      );
    expect(await store.askedRecently('cfo@company.com')).toBe(true);
    const approved = dynamo
      .commandCalls(QueryCommand)
      .filter(
        (call) => call.args[0].input.ExpressionAttributeValues?.[':pk'] === 'STATUS#approved',
      );
    expect(approved).toHaveLength(1);
    expect(approved[0]?.args[0].input.ExpressionAttributeValues?.[':email']).toBe(
      'cfo@company.com',
    );
  });
});
