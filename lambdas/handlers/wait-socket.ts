import type { APIGatewayProxyWebsocketEventV2 } from 'aws-lambda';
import { DynamoWaitSubscriptions } from '../adapters/dynamo-wait-subscriptions';
import {
  parseWaitMessage,
  subscribe,
  type WaitChannelDeps,
  type WaitReply,
  type WaitSubscriptions,
} from '../core/wait-channel';
import { dynamoDocumentClient } from '../shared/clients';
import { ENV, getStringFromEnv } from '../shared/config';
import { intentRepository, keyRepository } from '../shared/deps';
import { errorResult } from '../shared/http';
import { type InvocationContext, invocationLogger, type Logger } from '../shared/logger';

/**
 * The wait channel's messages (`core/wait-channel.ts`): in AWS each WebSocket message is one
 * invocation (routes `subscribe`, `ping` and `$default` of the WebSocket API), answered through
 * the route's response; the local stack's server calls `answerWaitMessage` for each message.
 * Errors are the REST API's, in its shape, with the status a REST call would have had.
 */
export async function answerWaitMessage(
  raw: string,
  subscriptions: WaitSubscriptions,
  deps: WaitChannelDeps,
  log: Logger,
): Promise<WaitReply> {
  let intentId: string | undefined;
  try {
    const message = parseWaitMessage(raw);
    if (message.action === 'ping') return { type: 'pong' };
    intentId = message.intent_id;
    return { type: 'intent', intent: await subscribe(deps, subscriptions, message) };
  } catch (error) {
    const result = errorResult(error, log);
    const { error: body } = JSON.parse(result.body) as {
      error: Extract<WaitReply, { type: 'error' }>['error'];
    };
    const retryAfter = result.headers?.['Retry-After'];
    return {
      type: 'error',
      ...(intentId !== undefined ? { intent_id: intentId } : {}),
      status: result.statusCode,
      error: body,
      ...(retryAfter !== undefined ? { retry_after: Number(retryAfter) } : {}),
    };
  }
}

let subscriptions: DynamoWaitSubscriptions | undefined;
export const waitChannelDeps = (): WaitChannelDeps => ({
  keys: keyRepository(),
  intents: intentRepository(),
});

export const handler = async (
  event: APIGatewayProxyWebsocketEventV2,
  context?: InvocationContext,
): Promise<{ statusCode: number; body: string }> => {
  const { connectionId, routeKey } = event.requestContext;
  const log = invocationLogger(context, { connection_id: connectionId, route: routeKey });
  subscriptions ??= new DynamoWaitSubscriptions(
    dynamoDocumentClient,
    getStringFromEnv(ENV.tableName),
  );
  const reply = await answerWaitMessage(
    event.body ?? '',
    subscriptions.forConnection(connectionId),
    waitChannelDeps(),
    log,
  );
  log.info('message', {
    reply: reply.type,
    ...(reply.type === 'error' ? { status: reply.status } : {}),
  });
  return { statusCode: 200, body: JSON.stringify(reply) };
};
