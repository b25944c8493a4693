import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import {
  Deadline,
  handleSlackInteraction,
  parseSlackPayload,
  SLACK_ANSWER_BUDGET_MS,
} from '../core/slack-interactions';
import { DomainError } from '../domain/errors';
import { verifySlackSignature } from '../domain/slack-signature';
import {
  slackInteractionDeps,
  slackInteractionsConfigured,
  slackSigningSecret,
} from '../shared/deps';
import { errorResult, header, json, requestLogger } from '../shared/http';
import type { InvocationContext } from '../shared/logger';

/**
 * `POST /slack/interactions`, Slack's interactivity URL. The signature is checked over the raw
 * body (as API Gateway passed it, base64 or not) before anything is parsed; a request Slack did
 * not sign is 401 in the contract's error shape and changes nothing. Slack's 3 seconds start
 * when it sends the request, so the deadline of the work starts as soon as it arrives here.
 */
export const handler = async (
  event: APIGatewayProxyEvent,
  context?: InvocationContext,
): Promise<APIGatewayProxyResult> => {
  const deadline = Deadline.after(SLACK_ANSWER_BUDGET_MS);
  const log = requestLogger(event, context);
  try {
    if (!slackInteractionsConfigured()) {
      throw new DomainError('not_found', 'Slack is not configured on this deployment.');
    }
    const raw = event.isBase64Encoded
      ? Buffer.from(event.body ?? '', 'base64')
      : Buffer.from(event.body ?? '', 'utf8');
    const verdict = verifySlackSignature({
      signingSecret: await slackSigningSecret(),
      timestamp: header(event, 'x-slack-request-timestamp'),
      signature: header(event, 'x-slack-signature'),
      rawBody: raw,
      nowSeconds: Date.now() / 1000,
    });
    if (!verdict.ok) {
      log.warn('slack request refused', { reason: verdict.reason });
      throw new DomainError(
        'unauthenticated',
        'This request is not signed by Slack: the signature is missing, stale or wrong.',
      );
    }
    const payload = parseSlackPayload(new URLSearchParams(raw.toString('utf8')));
    const reply = await handleSlackInteraction(await slackInteractionDeps(), payload, deadline);
    for (const problem of reply.problems) log.warn('slack follow-up failed', { problem });
    if (reply.body) return json(200, reply.body);
    return { statusCode: 200, headers: { 'Cache-Control': 'no-store' }, body: '' };
  } catch (error) {
    return errorResult(error, log);
  }
};
