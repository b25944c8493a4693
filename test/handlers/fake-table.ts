import {
  type DynamoDBDocumentClient,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import type { AwsClientStub } from 'aws-sdk-client-mock';

/**
 * One intent's items as the table holds them, for handler tests on a mocked document client:
 * reads see the latest META written, and every audit event written lands in `trail`, which the
 * events query returns. Conditions are not checked; each test drives one writer.
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
  dynamo.on(TransactWriteCommand).callsFake((input) => {
    for (const entry of input.TransactItems ?? []) take(entry.Put?.Item);
    return {};
  });
  dynamo.on(PutCommand).callsFake((input) => {
    take(input.Item);
    return {};
  });
}
