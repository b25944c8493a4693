import type { APIGatewayProxyEvent } from 'aws-lambda';
import { authenticate } from '../core/auth';
import { decideMany } from '../core/bulk-decisions';
import { cancelIntent, decideIntent } from '../core/intents';
import { intentServiceDeps, keyRepository } from '../shared/deps';
import {
  errorAnswer,
  header,
  json,
  parseJsonBody,
  parseOptionalJsonBody,
  pathParameter,
  requestLogger,
  routeHandler,
} from '../shared/http';

const principalOf = (event: APIGatewayProxyEvent) =>
  authenticate(header(event, 'authorization'), keyRepository());

/** Decisions (one, or many at once) and cancellations: the writes that end intents and wake them. */
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
  'POST /v1/decisions': async (event) => {
    const principal = await principalOf(event);
    const settled = await decideMany(intentServiceDeps(), principal, parseJsonBody(event));
    // Each item as the single decision would have answered it (`errorAnswer`: the one mapping).
    const results = settled.map((item) => {
      if (item.ok) return { intent_id: item.intent_id, status: 200, intent: item.intent };
      const { status, body } = errorAnswer(item.error, requestLogger(event));
      return { intent_id: item.intent_id, status, error: body.error };
    });
    return json(200, { results });
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
