import type { APIGatewayProxyEvent } from 'aws-lambda';
import { authenticate } from '../core/auth';
import { createIntent } from '../core/intents';
import { intentServiceDeps, keyRepository } from '../shared/deps';
import { header, json, parseJsonBody, routeHandler } from '../shared/http';

/** POST /v1/intents: an agent asks for approval. */
export const handler = routeHandler({
  'POST /v1/intents': async (event: APIGatewayProxyEvent) => {
    const principal = await authenticate(header(event, 'authorization'), keyRepository());
    const body = parseJsonBody(event);
    const { status, intent } = await createIntent(
      intentServiceDeps(),
      principal,
      body,
      header(event, 'idempotency-key'),
    );
    return json(status, intent);
  },
});
