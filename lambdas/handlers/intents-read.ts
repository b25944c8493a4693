import type { APIGatewayProxyEvent } from 'aws-lambda';
import { authenticate } from '../core/auth';
import {
  getIntent,
  intentEvents,
  listIntents,
  parseWaitTimeout,
  waitForIntent,
} from '../core/intents';
import { WAIT_CHANNEL_HEADER } from '../core/wait-channel';
import { ENV, getOptionalStringFromEnv } from '../shared/config';
import { intentServiceDeps, keyRepository } from '../shared/deps';
import { header, json, pathParameter, routeHandler } from '../shared/http';

const principalOf = (event: APIGatewayProxyEvent) =>
  authenticate(header(event, 'authorization'), keyRepository());

/** Reads: one intent, the long poll, the list, the audit trail. */
export const handler = routeHandler({
  'GET /v1/intents': async (event) =>
    json(
      200,
      await listIntents(intentServiceDeps(), await principalOf(event), {
        ...(event.queryStringParameters ?? {}),
      }),
    ),
  // Names the wait channel, where the deployment has one: the SDKs wait there, not by long poll.
  'GET /v1/intents/{id}': async (event) => {
    const result = json(
      200,
      await getIntent(intentServiceDeps(), await principalOf(event), pathParameter(event, 'id')),
    );
    const waitUrl = getOptionalStringFromEnv(ENV.waitSocketUrl);
    return waitUrl
      ? { ...result, headers: { ...result.headers, [WAIT_CHANNEL_HEADER]: waitUrl } }
      : result;
  },
  'GET /v1/intents/{id}/wait': async (event) => {
    const principal = await principalOf(event);
    const timeout = parseWaitTimeout(event.queryStringParameters?.timeout);
    return json(
      200,
      await waitForIntent(intentServiceDeps(), principal, pathParameter(event, 'id'), timeout),
    );
  },
  'GET /v1/intents/{id}/events': async (event) =>
    json(
      200,
      await intentEvents(intentServiceDeps(), await principalOf(event), pathParameter(event, 'id')),
    ),
});
