import {
  DynamoIntentRepository,
  DynamoKeyRepository,
  DynamoTeamRepository,
} from '../adapters/dynamo-store';
import { SesEmailSender } from '../adapters/ses-email';
import { StepFunctionsWorkflow } from '../adapters/sfn-workflow';
import type { IntentServiceDeps } from '../core/intents';
import type { Clock, KeyRepository, TeamRepository } from '../core/ports';
import type { StageRunnerDeps } from '../core/stage-runner';
import { NOTIFICATION_CHANNELS, type NotificationChannel } from '../domain/intent';
import { type PolicyInput, policyInputSchema } from '../domain/policy';
import { dynamoDocumentClient, sesClient, sfnClient } from './clients';
import {
  ENV,
  getBooleanFromEnv,
  getNumberFromEnv,
  getOptionalStringFromEnv,
  getStringFromEnv,
} from './config';
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
export const keyRepository = memo<KeyRepository>(
  () => new DynamoKeyRepository(dynamoDocumentClient, tableName()),
);
export const teamRepository = memo<TeamRepository>(
  () => new DynamoTeamRepository(dynamoDocumentClient, tableName()),
);
const workflow = memo(
  () => new StepFunctionsWorkflow(sfnClient, () => getStringFromEnv(ENV.stateMachineArn)),
);

export const intentServiceDeps = memo<IntentServiceDeps>(() => {
  const defaults = parseDefaultPolicies(getOptionalStringFromEnv(ENV.defaultPolicies));
  return {
    intents: intentRepository(),
    workflow: workflow(),
    clock: systemClock,
    configuredChannels: configuredChannels(),
    defaultsFor: (intentType) => defaults.get(intentType) ?? defaults.get('*'),
    allowLoopbackCallbacks: getBooleanFromEnv(ENV.allowLoopbackCallbacks),
    waitPollMs: getNumberFromEnv(ENV.waitPollMs, 200),
  };
});

export const stageRunnerDeps = memoAsync<StageRunnerDeps>(async () => ({
  intents: intentRepository(),
  teams: teamRepository(),
  workflow: workflow(),
  clock: systemClock,
  email: new SesEmailSender(
    sesClient,
    getStringFromEnv(ENV.emailFrom),
    getOptionalStringFromEnv(ENV.emailConfigurationSet),
  ),
  publicBaseUrl: getStringFromEnv(ENV.publicBaseUrl),
  linkSigningSecret: await secretFromEnv(ENV.linkSigningSecret),
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
export function parseDefaultPolicies(raw: string | undefined): Map<string, PolicyInput> {
  const map = new Map<string, PolicyInput>();
  if (!raw) return map;
  const parsed: unknown = JSON.parse(raw);
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new Error(`${ENV.defaultPolicies} must be a JSON object keyed by intent_type`);
  }
  for (const [intentType, policy] of Object.entries(parsed)) {
    map.set(intentType, policyInputSchema.parse(policy));
  }
  return map;
}

export const reviewDeps = memoAsync(async () => ({
  intents: intentRepository(),
  workflow: workflow(),
  clock: systemClock,
  linkSigningSecret: await secretFromEnv(ENV.linkSigningSecret),
}));
