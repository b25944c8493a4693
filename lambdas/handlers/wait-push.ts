import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { DynamoWaitSubscriptions } from '../adapters/dynamo-wait-subscriptions';
import { apiGatewayPush } from '../adapters/socket-push';
import { pushFinal, type WaitPushDeps } from '../core/wait-channel';
import { dynamoDocumentClient } from '../shared/clients';
import { ENV, getStringFromEnv } from '../shared/config';
import { intentRepository, keyRepository } from '../shared/deps';
import { type InvocationContext, invocationLogger } from '../shared/logger';

/**
 * The wait channel's push in AWS: the table's stream (filtered in the event source mapping to an
 * intent's META item leaving `pending`) invokes this, and every WebSocket subscriber that may
 * see the intent gets it (`pushFinal`). A failed push throws, so the stream retries the batch.
 */
const INTENT_PREFIX = 'INTENT#';

/** The intent whose META item this record moves out of `pending`, if it does. */
export function leftPending(record: DynamoDBRecord): string | undefined {
  const after = record.dynamodb?.NewImage;
  const before = record.dynamodb?.OldImage;
  const pk = after?.pk?.S;
  if (!pk?.startsWith(INTENT_PREFIX) || after?.sk?.S !== 'META') return undefined;
  if (after.status?.S === 'pending' || before?.status?.S !== 'pending') return undefined;
  return pk.slice(INTENT_PREFIX.length);
}

let deps: WaitPushDeps | undefined;
const pushDeps = (): WaitPushDeps => {
  deps ??= {
    keys: keyRepository(),
    intents: intentRepository(),
    subscriptions: new DynamoWaitSubscriptions(
      dynamoDocumentClient,
      getStringFromEnv(ENV.tableName),
    ),
    send: apiGatewayPush(
      new ApiGatewayManagementApiClient({ endpoint: getStringFromEnv(ENV.waitSocketEndpoint) }),
    ),
  };
  return deps;
};

export const handler = async (event: DynamoDBStreamEvent, context?: InvocationContext) => {
  const ids = new Set(event.Records.map(leftPending).filter((id) => id !== undefined));
  for (const intentId of ids) {
    const log = invocationLogger(context, { intent_id: intentId, task: 'WaitPush' });
    const pushed = await pushFinal(pushDeps(), intentId);
    log.info('pushed', pushed);
  }
};
