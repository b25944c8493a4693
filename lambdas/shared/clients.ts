import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { WebClient } from '@slack/web-api';
import { slackFetch } from '../adapters/slack-web';
import { ENV, getOptionalStringFromEnv } from './config';

/**
 * AWS clients, created once per Lambda container and shared by every invocation. Endpoints come
 * from the standard AWS configuration (`AWS_ENDPOINT_URL_DYNAMODB`, `AWS_ENDPOINT_URL_SFN`,
 * `AWS_ENDPOINT_URL_SESV2`), which is how the local stack points them at its engines; the code
 * is the same in AWS. SES may live in another region than the functions (`SES_REGION`).
 */
/**
 * A store call that hangs fails after 20 s (DynamoDB answers in milliseconds; DynamoDB Local,
 * loaded, in under a second) instead of holding its caller, and with it every request grouped
 * behind it (`adapters/coalescer.ts`), until the function's own timeout.
 */
export const dynamoClient = new DynamoDBClient({
  requestHandler: {
    connectionTimeout: 3000,
    requestTimeout: 20_000,
    throwOnRequestTimeout: true,
  },
});
export const dynamoDocumentClient = DynamoDBDocumentClient.from(dynamoClient, {
  marshallOptions: { removeUndefinedValues: true },
});
export const sfnClient = new SFNClient({});
/** Signs receipts and callbacks (`kms:Sign`) and serves the public key (`kms:GetPublicKey`). */
export const kmsClient = new KMSClient({
  requestHandler: { connectionTimeout: 3000, requestTimeout: 10_000, throwOnRequestTimeout: true },
});
const sesRegion = getOptionalStringFromEnv(ENV.emailRegion);
/**
 * Attempts per SendEmail, the first included; throttling (429) and 5xx are retried with the
 * SDK's jittered backoff (up to 1 s, then 2 s, when SES throttles). Three keeps a batch of
 * notices well inside the 60 s of the stage task and of NotifyDecided: a task that times out is
 * retried whole and re-sends the notices that had gone through. A send that still fails becomes
 * `notification_failed` in the trail (NotifyDecided first tries throttled ones again later),
 * and the flow goes on.
 */
export const SES_MAX_ATTEMPTS = 3;
/**
 * Without a limit, a connection that hangs holds its stage task until the task's own timeout
 * (then the whole task is retried and re-sends what went through); with one, the attempt fails
 * and the SDK's retry takes over. SES answers SendEmail within a second or two.
 */
const SES_REQUEST_TIMEOUT_MS = 8000;
export const sesClient = new SESv2Client({
  maxAttempts: SES_MAX_ATTEMPTS,
  requestHandler: {
    connectionTimeout: 3000,
    requestTimeout: SES_REQUEST_TIMEOUT_MS,
    throwOnRequestTimeout: true,
  },
  ...(sesRegion ? { region: sesRegion } : {}),
});

/**
 * The Slack Web API client, built once per container (the token comes from Secrets Manager, so
 * `shared/deps.ts` builds it on first use). `slackApiUrl` points it at the local stand-in in local
 * mode. The retry policy depends on who waits: notifications (the stage task, 60 s) retry a few
 * times and wait out Slack's `Retry-After` (up to 5 s, see `slackFetch`); interactions must
 * answer Slack within 3 seconds, so they try twice, briefly, and never sleep on a rate limit.
 * Even so two attempts can outlast Slack's patience: each interaction call also carries the
 * signal of its share of the answer's time (`core/slack-interactions.ts`), which `slackFetch`
 * applies to the requests.
 */
export async function slackWebClient(
  token: string,
  purpose: 'notifications' | 'interactions',
  slackApiUrl?: string,
): Promise<WebClient> {
  // Loaded on first use: the functions that never talk to Slack do not pay for it at cold start.
  const { LogLevel, WebClient } = await import('@slack/web-api');
  const fast = purpose === 'interactions';
  return new WebClient(token, {
    ...(slackApiUrl ? { slackApiUrl } : {}),
    allowAbsoluteUrls: false,
    fetch: slackFetch,
    logLevel: LogLevel.WARN,
    timeout: fast ? 1500 : 4000,
    rejectRateLimitedCalls: fast,
    retryConfig: fast
      ? { retries: 1, minTimeout: 100, maxTimeout: 200 }
      : { retries: 2, factor: 2, minTimeout: 500, maxTimeout: 2000, randomize: true },
  });
}
