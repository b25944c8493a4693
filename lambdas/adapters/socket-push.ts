import {
  type ApiGatewayManagementApiClient,
  GoneException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import type { SendToConnection } from '../core/wait-channel';

/**
 * Pushes a wait-channel message to a WebSocket client through API Gateway's management API
 * (`PostToConnection`). A connection that has closed answers 410 Gone: the client went away, and
 * it will find the decision when it reconnects and subscribes again.
 */
export function apiGatewayPush(client: ApiGatewayManagementApiClient): SendToConnection {
  return async (connectionId, reply) => {
    try {
      await client.send(
        new PostToConnectionCommand({
          ConnectionId: connectionId,
          Data: new TextEncoder().encode(JSON.stringify(reply)),
        }),
      );
      return 'sent';
    } catch (error) {
      if (error instanceof GoneException) return 'gone';
      throw error;
    }
  };
}
