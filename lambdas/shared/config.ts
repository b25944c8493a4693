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

/**
 * Where a setting is given a value: in AWS by the CDK construct, locally by `npm start`, or in
 * both. `secret` settings are read through `secretFromEnv`: in AWS the construct sets
 * `<NAME>_ARN` (a Secrets Manager secret the function may read), locally the value itself.
 * `optional` settings may be left unset where they are given; the rest must have a value, which
 * the construct (at synth) and the local stack (at start) check for every function that needs
 * them (`lambdas/functions.ts`).
 */
export interface Setting {
  readonly name: string;
  readonly where: 'aws' | 'local' | 'both' | 'neither';
  readonly optional?: true;
  readonly secret?: true;
}

/** Every environment variable the handlers read, and where it is set. */
export const SETTINGS = {
  tableName: { name: 'TABLE_NAME', where: 'both' },
  stateMachineArn: { name: 'STATE_MACHINE_ARN', where: 'both' },
  /** The state machine readiness checks (the local stack's engine); unset in AWS. */
  readinessStateMachineArn: { name: 'READINESS_STATE_MACHINE_ARN', where: 'local' },
  publicBaseUrl: { name: 'PUBLIC_BASE_URL', where: 'both' },
  emailFrom: { name: 'EMAIL_FROM', where: 'both' },
  emailConfigurationSet: { name: 'EMAIL_CONFIGURATION_SET', where: 'aws', optional: true },
  /** The SES region. @default - the function's own region */
  emailRegion: { name: 'SES_REGION', where: 'local', optional: true },
  linkSigningSecret: { name: 'LINK_SIGNING_SECRET', where: 'both', secret: true },
  channels: { name: 'NOTIFICATION_CHANNELS', where: 'both' },
  /** Configured operator policies (JSON by pattern); unset or empty: none. */
  defaultPolicies: { name: 'DEFAULT_POLICIES', where: 'both', optional: true },
  /** Email domains a request may name reviewers in (AWS); unset: none but the policies' own. */
  allowedReviewerDomains: { name: 'ALLOWED_REVIEWER_DOMAINS', where: 'aws', optional: true },
  /** `permissive` in local mode; unset (strict) in AWS. */
  policyBase: { name: 'POLICY_BASE', where: 'local' },
  allowLoopbackCallbacks: { name: 'ALLOW_LOOPBACK_CALLBACKS', where: 'local' },
  waitPollMs: { name: 'WAIT_POLL_MS', where: 'both' },
  /** The wait channel's WebSocket URL, named to clients in `Countersign-Wait-Url`; unset: none. */
  waitSocketUrl: { name: 'WAIT_SOCKET_URL', where: 'both' },
  /** AWS: the WebSocket API's management endpoint, where decisions are pushed (PostToConnection). */
  waitSocketEndpoint: { name: 'WAIT_SOCKET_ENDPOINT', where: 'aws' },
  /** Test only: the length of a quota window in seconds (the local stack's e2e tests). @default 3600 */
  quotaWindowSeconds: { name: 'QUOTA_WINDOW_SECONDS', where: 'local', optional: true },
  /** The first admin key (a generated secret in AWS); off when the deployment turns it off. */
  bootstrapAdminKey: { name: 'BOOTSTRAP_ADMIN_KEY', where: 'aws', optional: true, secret: true },
  /** Slack: the bot token enables the channel; the signing secret verifies clicks. */
  slackBotToken: { name: 'SLACK_BOT_TOKEN', where: 'both', optional: true, secret: true },
  slackSigningSecret: { name: 'SLACK_SIGNING_SECRET', where: 'both', optional: true, secret: true },
  /** The Slack Web API base URL. @default - https://slack.com/api/ (local mode: the stand-in) */
  slackApiUrl: { name: 'SLACK_API_URL', where: 'local', optional: true },
  /** Deprecated (the HMAC callback header, kept for one release): the shared webhook secret. */
  webhookSigningSecret: { name: 'WEBHOOK_SIGNING_SECRET', where: 'both', secret: true },
  /** AWS: the ARN of the KMS key (Ed25519) that signs receipts and callbacks. */
  signingKeyArn: { name: 'SIGNING_KEY_ARN', where: 'aws' },
  /** Local mode: the PEM file of the Ed25519 key that signs receipts and callbacks (mode 0600). */
  signingKeyFile: { name: 'SIGNING_KEY_FILE', where: 'local' },
  /** Local mode only: the stand-in that records each callback attempt in the outbox. */
  webhookOutboxUrl: { name: 'WEBHOOK_OUTBOX_URL', where: 'local' },
  /** Tuning, unset by default: intents migrated per reconciler run, executions it restarts. */
  reconcilerBackfillPerRun: { name: 'RECONCILER_BACKFILL_PER_RUN', where: 'neither' },
  reconcilerMaxRestarts: { name: 'RECONCILER_MAX_RESTARTS', where: 'neither' },
} as const satisfies Record<string, Setting>;

export type SettingKey = keyof typeof SETTINGS;

/** The variables' names, by setting: `ENV.tableName` is `'TABLE_NAME'`. */
export const ENV = Object.fromEntries(
  Object.entries(SETTINGS).map(([key, setting]) => [key, setting.name]),
) as { readonly [K in SettingKey]: (typeof SETTINGS)[K]['name'] };
