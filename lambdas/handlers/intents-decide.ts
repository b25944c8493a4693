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
    const deps = intentServiceDeps();
    const id = pathParameter(event, 'id');
    // The intent is read while the key is looked up. Nothing read is used unless the key is
    // valid; a failed or empty read leaves the transition to read (and report) for itself. A
    // refused key still waits for the read, so that no request outlives its invocation (a
    // Lambda container is frozen between invocations).
    const readAhead = deps.intents.get(id).then(
      (intent) => intent ?? undefined,
      () => undefined,
    );
    const principal = await principalOf(event).finally(() => readAhead);
    return json(
      200,
      await decideIntent(deps, principal, id, parseJsonBody(event), await readAhead),
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
