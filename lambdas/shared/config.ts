/**
 * Configuration comes from the environment only. A missing required variable is a deployment
 * mistake, so it fails loudly at first use instead of running with a silent default.
 */
export function getStringFromEnv(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') {
    throw new Error(`Missing required environment variable ${name}`);
  }
  return value;
}

export function getOptionalStringFromEnv(name: string): string | undefined {
  const value = process.env[name];
  return value === undefined || value === '' ? undefined : value;
}

export function getNumberFromEnv(name: string, fallback: number): number {
  const value = getOptionalStringFromEnv(name);
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isFinite(parsed)) throw new Error(`Environment variable ${name} must be a number`);
  return parsed;
}

export function getBooleanFromEnv(name: string): boolean {
  return getOptionalStringFromEnv(name) === 'true';
}

/** The names of the variables the CDK construct and the local stack set. */
export const ENV = {
  tableName: 'TABLE_NAME',
  stateMachineArn: 'STATE_MACHINE_ARN',
  /** The state machine readiness checks (the local stack's engine); unset in AWS. */
  readinessStateMachineArn: 'READINESS_STATE_MACHINE_ARN',
  publicBaseUrl: 'PUBLIC_BASE_URL',
  emailFrom: 'EMAIL_FROM',
  emailConfigurationSet: 'EMAIL_CONFIGURATION_SET',
  /** The SES region. @default - the function's own region */
  emailRegion: 'SES_REGION',
  linkSigningSecret: 'LINK_SIGNING_SECRET',
  channels: 'NOTIFICATION_CHANNELS',
  defaultPolicies: 'DEFAULT_POLICIES',
  /** `permissive` in local mode; unset (strict) in AWS. */
  policyBase: 'POLICY_BASE',
  allowLoopbackCallbacks: 'ALLOW_LOOPBACK_CALLBACKS',
  waitPollMs: 'WAIT_POLL_MS',
  /** The wait channel's WebSocket URL, named to clients in `Countersign-Wait-Url`; unset: none. */
  waitSocketUrl: 'WAIT_SOCKET_URL',
  /** AWS: the WebSocket API's management endpoint, where decisions are pushed (PostToConnection). */
  waitSocketEndpoint: 'WAIT_SOCKET_ENDPOINT',
  /** Test only: the length of a quota window in seconds (the local stack's e2e tests). @default 3600 */
  quotaWindowSeconds: 'QUOTA_WINDOW_SECONDS',
  /** Slack: the bot token (`_ARN` in AWS) enables the channel; the signing secret verifies clicks. */
  slackBotToken: 'SLACK_BOT_TOKEN',
  slackSigningSecret: 'SLACK_SIGNING_SECRET',
  /** The Slack Web API base URL. @default - https://slack.com/api/ (local mode: the stand-in) */
  slackApiUrl: 'SLACK_API_URL',
  /** Deprecated (the HMAC callback header, kept for one release): the shared webhook secret. */
  webhookSigningSecret: 'WEBHOOK_SIGNING_SECRET',
  /** AWS: the ARN of the KMS key (Ed25519) that signs receipts and callbacks. */
  signingKeyArn: 'SIGNING_KEY_ARN',
  /** Local mode: the PEM file of the Ed25519 key that signs receipts and callbacks (mode 0600). */
  signingKeyFile: 'SIGNING_KEY_FILE',
  /** Local mode only: the stand-in that records each callback attempt in the outbox. */
  webhookOutboxUrl: 'WEBHOOK_OUTBOX_URL',
} as const;
