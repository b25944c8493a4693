import type { APIGatewayProxyEvent } from 'aws-lambda';
import { readinessProblems } from '../adapters/readiness';
import { dynamoClient, sfnClient } from '../shared/clients';
import { ENV, getOptionalStringFromEnv, getStringFromEnv } from '../shared/config';
import { json, routeHandler } from '../shared/http';

/**
 * GET /healthz, without authentication: liveness (`{"ok": true}`, touching nothing). With
 * `?ready=1` it is readiness: 200 when the table answers (and, where the function is given the
 * state machine, the engine), else 503 `unavailable` with `Retry-After`, each problem in
 * `details`. It names what is down, never why in more detail than the error's kind.
 */
export const handler = routeHandler({
  'GET /healthz': async (event: APIGatewayProxyEvent) => {
    if (event.queryStringParameters?.ready === undefined) return json(200, { ok: true });
    const problems = await readinessProblems({
      dynamo: dynamoClient,
      tableName: getStringFromEnv(ENV.tableName),
      sfn: sfnClient,
      stateMachineArn: getOptionalStringFromEnv(ENV.readinessStateMachineArn),
    });
    if (problems.length === 0) return json(200, { ok: true, ready: true });
    const unavailable = json(503, {
      error: {
        code: 'unavailable',
        message: 'Not ready: a part the API needs does not answer.',
        details: problems,
      },
    });
    return { ...unavailable, headers: { ...unavailable.headers, 'Retry-After': '2' } };
  },
});
