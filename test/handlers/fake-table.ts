import {
  ConditionalCheckFailedException,
  TransactionCanceledException,
} from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  type DynamoDBDocumentClient,
  PutCommand,
  type PutCommandInput,
  QueryCommand,
  TransactWriteCommand,
  type TransactWriteCommandInput,
} from '@aws-sdk/lib-dynamodb';
import type { AwsClientStub } from 'aws-sdk-client-mock';

/**
 * One intent's items as the table holds them, for handler tests on a mocked document client:
 * reads see the latest META written, and every audit event written lands in `trail`, which the
 * events query returns. The version condition of an intent write is checked as DynamoDB would,
 * so a test that changes `meta` while a handler works sees the handler retry on a fresh read.
 */
export interface FakeIntentTable {
  meta: Record<string, unknown>;
  trail: Record<string, unknown>[];
}

export function serveIntentTable(
  dynamo: AwsClientStub<DynamoDBDocumentClient>,
  table: FakeIntentTable,
  payload: Record<string, unknown>,
): void {
  dynamo
    .on(QueryCommand)
    .callsFake((input: { ExpressionAttributeValues?: object }) =>
      input.ExpressionAttributeValues && ':event' in input.ExpressionAttributeValues
        ? { Items: table.trail }
        : { Items: [table.meta, { sk: 'PAYLOAD', payload_json: JSON.stringify(payload) }] },
    );
  const take = (item: Record<string, unknown> | undefined) => {
    if (item?.sk === 'META') table.meta = item;
    else if (item && typeof item.type === 'string') table.trail.push(item);
  };
  /** The `#version = :expected` condition of an intent write, where it has one. */
  const staleVersion = (
    put:
      | { Item?: Record<string, unknown>; ExpressionAttributeValues?: Record<string, unknown> }
      | undefined,
  ) => {
    const expected = put?.ExpressionAttributeValues?.[':expected'];
    return put?.Item?.sk === 'META' && expected !== undefined && table.meta.version !== expected;
  };
  dynamo.on(TransactWriteCommand).callsFake((input: TransactWriteCommandInput) => {
    const puts = (input.TransactItems ?? []).map((entry) => entry.Put);
    if (puts.some(staleVersion)) {
      throw new TransactionCanceledException({
        message: 'Transaction cancelled',
        $metadata: {},
        CancellationReasons: puts.map((put) => ({
          Code: staleVersion(put) ? 'ConditionalCheckFailed' : 'None',
        })),
      });
    }
    for (const put of puts) take(put?.Item);
    return {};
  });
  // No reviewer has a profile (`REVIEWER#…`): always available, never away.
  dynamo.on(BatchGetCommand).resolves({ Responses: {} });
  dynamo.on(PutCommand).callsFake((input: PutCommandInput) => {
    if (staleVersion(input)) {
      throw new ConditionalCheckFailedException({ message: 'stale version', $metadata: {} });
    }
    take(input.Item);
    return {};
  });
}
