import type { APIGatewayProxyEvent } from 'aws-lambda';
import { authenticate } from '../core/auth';
import { cancelIntent, decideIntent } from '../core/intents';
import { intentServiceDeps, keyRepository } from '../shared/deps';
import {
  header,
  json,
  parseJsonBody,
  parseOptionalJsonBody,
  pathParameter,
  routeHandler,
} from '../shared/http';

const principalOf = (event: APIGatewayProxyEvent) =>
  authenticate(header(event, 'authorization'), keyRepository());

/** Decisions and cancellations: the writes that end an intent and wake its execution. */
export const handler = routeHandler({
  'POST /v1/intents/{id}/decision': async (event) => {
    const principal = await principalOf(event);
    return json(
      200,
      await decideIntent(
        intentServiceDeps(),
        principal,
        pathParameter(event, 'id'),
        parseJsonBody(event),
      ),
    );
  },
  'POST /v1/intents/{id}/cancel': async (event) => {
    const principal = await principalOf(event);
    return json(
      200,
      await cancelIntent(
        intentServiceDeps(),
        principal,
        pathParameter(event, 'id'),
        parseOptionalJsonBody(event),
      ),
    );
  },
});
