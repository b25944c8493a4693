import { DynamoInboxStore } from '../adapters/dynamo-inbox';
import { DynamoPolicyRepository } from '../adapters/dynamo-policies';
import {
  DynamoIntentRepository,
  DynamoKeyRepository,
  DynamoReviewerProfileRepository,
  DynamoTeamRepository,
} from '../adapters/dynamo-store';
import { DynamoUsageMeter } from '../adapters/dynamo-usage';
import { HttpCallbackLog, HttpCallbackSender } from '../adapters/http-callback';
import { SesEmailSender } from '../adapters/ses-email';
import { StepFunctionsWorkflow } from '../adapters/sfn-workflow';
import { KeyFileSigner, KmsSigner } from '../adapters/signers';
import { SlackWebGateway } from '../adapters/slack-web';
import { withBootstrapAdminKey } from '../core/auth';
import type { CallbackDeps } from '../core/callbacks';
import type { InboxDeps } from '../core/inbox';
import type { IntentServiceDeps } from '../core/intents';
import type { PolicyServiceDeps } from '../core/policies';
import type {
  Clock,
  KeyRepository,
  ReviewerProfileRepository,
  Signer,
  TeamRepository,
} from '../core/ports';
import type { ReconcilerDeps } from '../core/reconciler';
import type { SlackInteractionDeps } from '../core/slack-interactions';
import { SlackNotifier } from '../core/slack-notify';
import type { PlanStageDeps, StageRunnerDeps } from '../core/stage-runner';
import { NOTIFICATION_CHANNELS, type NotificationChannel } from '../domain/intent';
import {
  deploymentBase,
  LOCAL_BASE,
  LOCAL_DEFAULT_POLICY,
  type OperatorPolicy,
  type PolicyBase,
  parsePolicyDefaults,
} from '../domain/operator-policy';
import { parseAllowedDomains } from '../domain/reviewer-domains';
import { dynamoDocumentClient, kmsClient, sesClient, sfnClient, slackWebClient } from './clients';
import {
  ENV,
  getBooleanFromEnv,
  getNumberFromEnv,
  getOptionalStringFromEnv,
  getStringFromEnv,
} from './config';
import { describeError, logger } from './logger';
import { secretFromEnv } from './secrets';

/**
 * Wires the core to the adapters from configuration. Built on first use (not at import), so a
 * module can be imported by tests and tools without the Lambda environment.
 */
const systemClock: Clock = { now: () => new Date() };

function memo<T>(build: () => T): () => T {
  let value: T | undefined;
  return () => {
    value ??= build();
    return value;
  };
}
/** Like memo, but a failed build (say, Secrets Manager unreachable) is retried on the next call. */
function memoAsync<T>(build: () => Promise<T>): () => Promise<T> {
  let value: Promise<T> | undefined;
  return () => {
    if (!value) {
      value = build();
      value.catch(() => {
        value = undefined;
      });
    }
    return value;
  };
}

const tableName = () => getStringFromEnv(ENV.tableName);

export const intentRepository = memo(
  () => new DynamoIntentRepository(dynamoDocumentClient, tableName()),
);
/**
 * API keys: the table's, plus the bootstrap admin key when the deployment configures one
 * (`BOOTSTRAP_ADMIN_KEY_ARN`, read from Secrets Manager only when a presented key is not in
 * the table). See docs/deploy.md, "First run".
 */
export const keyRepository = memo<KeyRepository>(() => {
  const table = new DynamoKeyRepository(dynamoDocumentClient, tableName());
  const configured =
    getOptionalStringFromEnv(`${ENV.bootstrapAdminKey}_ARN`) ??
    getOptionalStringFromEnv(ENV.bootstrapAdminKey);
  if (!configured) return table;
  return withBootstrapAdminKey(
    table,
    () => secretFromEnv(ENV.bootstrapAdminKey),
    (error) => logger.warn('bootstrap admin key unavailable', { error }),
  );
});
export const teamRepository = memo<TeamRepository>(
  () => new DynamoTeamRepository(dynamoDocumentClient, tableName()),
);
export const reviewerProfileRepository = memo<ReviewerProfileRepository>(
  () => new DynamoReviewerProfileRepository(dynamoDocumentClient, tableName()),
);
/** Quota counters: an hour per window (a test may shorten it, see `ENV.quotaWindowSeconds`). */
const usageMeter = memo(
  () =>
    new DynamoUsageMeter(
      dynamoDocumentClient,
      tableName(),
      getNumberFromEnv(ENV.quotaWindowSeconds, 3600),
    ),
);
const workflow = memo(
  () => new StepFunctionsWorkflow(sfnClient, () => getStringFromEnv(ENV.stateMachineArn)),
);

/**
 * `POLICY_BASE=permissive` is local mode: a permissive `*` policy until an admin or
 * `policies.json` sets one, and a 1 s reminder floor. Unset (AWS): request reviewers only in
 * ALLOWED_REVIEWER_DOMAINS, no payload fallback, no approve-on-timeout, a 60 s floor.
 */
const localMode = () => getOptionalStringFromEnv(ENV.policyBase) === 'permissive';

/** Operator policies: the table's, over those the deployment configures (`DEFAULT_POLICIES`). */
export const policyServiceDeps = memo<PolicyServiceDeps>(() => ({
  policies: new DynamoPolicyRepository(dynamoDocumentClient, tableName()),
  configured: parseDefaultPolicies(getOptionalStringFromEnv(ENV.defaultPolicies)),
  clock: systemClock,
  ...(localMode() ? { fallback: LOCAL_DEFAULT_POLICY } : {}),
}));

/** What a field an operator policy leaves out means. */
export const policyBase = memo<PolicyBase>(() =>
  localMode() ? LOCAL_BASE : deploymentBase(allowedReviewerDomains()),
);

const configuredSigner = memo<Signer>(() => {
  const keyArn = getOptionalStringFromEnv(ENV.signingKeyArn);
  if (keyArn) return new KmsSigner(kmsClient, keyArn);
  return new KeyFileSigner(getStringFromEnv(ENV.signingKeyFile));
});
/**
 * The deployment's signing key: KMS in AWS (`SIGNING_KEY_ARN`), a key file locally
 * (`SIGNING_KEY_FILE`). Resolved on first use, so that the functions that share the intent
 * service but never end an intent (reads) need no key; neither variable set where
 * something is signed is a deployment mistake, reported then.
 */
export const signer: Signer = {
  sign: (typ, claims) => configuredSigner().sign(typ, claims),
  publicKeys: () => configuredSigner().publicKeys(),
};

export const intentServiceDeps = memo<IntentServiceDeps>(() => {
  return {
    intents: intentRepository(),
    workflow: workflow(),
    clock: systemClock,
    configuredChannels: configuredChannels(),
    policies: policyServiceDeps(),
    policyBase: policyBase(),
    allowLoopbackCallbacks: getBooleanFromEnv(ENV.allowLoopbackCallbacks),
    waitPollMs: getNumberFromEnv(ENV.waitPollMs, 200),
    allowedReviewerDomains: allowedReviewerDomains(),
    usage: usageMeter(),
    signer,
  };
});

/** PlanStage only reads intents and records timeouts: it needs neither SES, Slack nor links. */
export const planStageDeps = memo<PlanStageDeps>(() => ({
  intents: intentRepository(),
  profiles: reviewerProfileRepository(),
  clock: systemClock,
  signer,
}));

/** The stage task and NotifyDecided: the functions that send email and Slack messages. */
export const stageRunnerDeps = memoAsync<StageRunnerDeps>(async () => ({
  intents: intentRepository(),
  teams: teamRepository(),
  profiles: reviewerProfileRepository(),
  workflow: workflow(),
  clock: systemClock,
  email: new SesEmailSender(
    sesClient,
    getStringFromEnv(ENV.emailFrom),
    getOptionalStringFromEnv(ENV.emailConfigurationSet),
  ),
  publicBaseUrl: getStringFromEnv(ENV.publicBaseUrl),
  linkSigningSecret: await secretFromEnv(ENV.linkSigningSecret),
  usage: usageMeter(),
  ...(isConfigured(ENV.slackBotToken)
    ? {
        slack: new SlackNotifier(
          new SlackWebGateway(
            await slackWebClient(
              await secretFromEnv(ENV.slackBotToken),
              'notifications',
              getOptionalStringFromEnv(ENV.slackApiUrl),
            ),
          ),
          teamRepository(),
        ),
      }
    : {}),
}));

/** A secret is configured when its `_ARN` (AWS) or its value (local mode) is set. */
function isConfigured(secretName: string): boolean {
  return (
    getOptionalStringFromEnv(`${secretName}_ARN`) !== undefined ||
    getOptionalStringFromEnv(secretName) !== undefined
  );
}

/** Slack's interactivity endpoint works once both the bot token and the signing secret are set. */
export function slackInteractionsConfigured(): boolean {
  return isConfigured(ENV.slackBotToken) && isConfigured(ENV.slackSigningSecret);
}

export const slackSigningSecret = () => secretFromEnv(ENV.slackSigningSecret);

export const slackInteractionDeps = memoAsync<SlackInteractionDeps>(async () => ({
  intents: intentRepository(),
  workflow: workflow(),
  clock: systemClock,
  signer,
  slack: new SlackWebGateway(
    await slackWebClient(
      await secretFromEnv(ENV.slackBotToken),
      'interactions',
      getOptionalStringFromEnv(ENV.slackApiUrl),
    ),
  ),
}));

function configuredChannels(): NotificationChannel[] {
  const raw = getOptionalStringFromEnv(ENV.channels) ?? 'email';
  const channels = raw.split(',').map((c) => c.trim());
  for (const channel of channels) {
    if (!(NOTIFICATION_CHANNELS as readonly string[]).includes(channel)) {
      throw new Error(`${ENV.channels} names an unknown channel: ${channel}`);
    }
  }
  return channels as NotificationChannel[];
}

/** `DEFAULT_POLICIES` is JSON: `{ "<intent_type>" | "*": <policy> }`. A bad value fails at start. */
function parseDefaultPolicies(raw: string | undefined): Map<string, OperatorPolicy> {
  if (!raw) return new Map();
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (error) {
    throw new Error(`${ENV.defaultPolicies} is not valid JSON: ${(error as Error).message}`);
  }
  return parsePolicyDefaults(parsed, ENV.defaultPolicies);
}

export const callbackDeps = memoAsync<CallbackDeps>(async () => {
  const outboxUrl = getOptionalStringFromEnv(ENV.webhookOutboxUrl);
  return {
    intents: intentRepository(),
    clock: systemClock,
    sender: new HttpCallbackSender({
      allowLoopback: getBooleanFromEnv(ENV.allowLoopbackCallbacks),
    }),
    signer,
    signingSecret: await secretFromEnv(ENV.webhookSigningSecret),
    ...(outboxUrl ? { log: new HttpCallbackLog(outboxUrl) } : {}),
  };
});

export const reviewDeps = memoAsync(async () => ({
  intents: intentRepository(),
  profiles: reviewerProfileRepository(),
  workflow: workflow(),
  clock: systemClock,
  signer,
  linkSigningSecret: await secretFromEnv(ENV.linkSigningSecret),
}));

/** The inbox's sign-in links and sessions (also ended by the admin function's key revocation). */
export const inboxCredentials = memo(() => new DynamoInboxStore(dynamoDocumentClient, tableName()));

/** The reviewer inbox: reads and decides intents, sends sign-in emails, keeps sessions. */
export const inboxDeps = memo<InboxDeps>(() => ({
  intents: intentRepository(),
  workflow: workflow(),
  clock: systemClock,
  signer,
  credentials: inboxCredentials(),
  keys: keyRepository(),
  email: new SesEmailSender(
    sesClient,
    getStringFromEnv(ENV.emailFrom),
    getOptionalStringFromEnv(ENV.emailConfigurationSet),
  ),
  usage: usageMeter(),
  publicBaseUrl: getStringFromEnv(ENV.publicBaseUrl),
  profiles: reviewerProfileRepository(),
  allowedReviewerDomains: allowedReviewerDomains(),
  onError: (message, error) => logger.error(message, { error: describeError(error) }),
}));

export const reconcilerDeps = memo<ReconcilerDeps>(() => ({
  intents: intentRepository(),
  executions: workflow(),
  clock: systemClock,
  signer,
}));

/** `ALLOWED_REVIEWER_DOMAINS`: comma-separated email domains; unset means any. */
export const allowedReviewerDomains = memo(() =>
  parseAllowedDomains(getOptionalStringFromEnv(ENV.allowedReviewerDomains)),
);
