/**
 * A revoked key must stop at once: every lookup of a key, alone or batched with others, reads
 * consistently, so that it never answers from before a revocation (mocked client: DynamoDB
 * Local is always consistent, AWS is not unless asked).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { DynamoKeyRepository } from '../../lambdas/adapters/dynamo-store';

const dynamo = mockClient(DynamoDBDocumentClient);
const keys = new DynamoKeyRepository(
  DynamoDBDocumentClient.from(
    new DynamoDBClient({
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    }),
  ),
  'countersign-test',
);
afterEach(() => dynamo.reset());

describe('key lookups', () => {
  it('read a key consistently when looked up alone', async () => {
    dynamo.on(GetCommand).resolves({});
    expect(await keys.findByHash('a'.repeat(64))).toBeNull();
    const [call] = dynamo.commandCalls(GetCommand);
    expect(call?.args[0].input.ConsistentRead).toBe(true);
  });

  it('read keys consistently when many requests look theirs up at once', async () => {
    dynamo.on(BatchGetCommand).resolves({ Responses: { 'countersign-test': [] } });
    await Promise.all(['a', 'b', 'c'].map((c) => keys.findByHash(c.repeat(64))));
    const [call] = dynamo.commandCalls(BatchGetCommand);
    expect(call?.args[0].input.RequestItems?.['countersign-test']?.ConsistentRead).toBe(true);
  });
});
