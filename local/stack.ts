import { generateKeyPairSync, randomBytes } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  writeFileSync,
} from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { DynamoIntentRepository, DynamoKeyRepository } from '../lambdas/adapters/dynamo-store';
import { TABLE_KEYS } from '../lambdas/adapters/table-schema';
import { authenticate, hashApiKey, newApiKey } from '../lambdas/core/auth';
import type { Role } from '../lambdas/core/ports';
import { DomainError } from '../lambdas/domain/errors';
import { parsePolicyDefaults } from '../lambdas/domain/operator-policy';
import { FUNCTIONS, type FunctionSpec, missingSettings } from '../lambdas/functions';
import { SETTINGS, type SettingKey } from '../lambdas/shared/config';
import { errorResult, json } from '../lambdas/shared/http';
import { logger } from '../lambdas/shared/logger';
import { createApiGatewayServer } from './api-gateway';
import {
  LOCAL_ACCOUNT,
  LOCAL_REGION,
  loadLocalDefinition,
  synthesizedTemplate,
} from './cdk-definition';
import { createConsoleRoutes } from './console/routes';
import { ensureTable, startDynamoDbLocal } from './dynamodb-local';
import { notificationRouting } from './notification-routing';
import { Outbox } from './outbox';
import { startSesStandIn } from './standins/ses';
import { type SlackStandIn, startSlackStandIn } from './standins/slack';
import { startWebhookStandIn } from './standins/webhook';
import { LocalStepFunctions } from './stepfunctions';
import { Availability, Supervisor } from './supervisor';
import { attachWaitSocket, WAIT_SOCKET_PATH } from './wait-socket';

/**
 * The whole service on one machine: DynamoDB Local on disk, the local Step Functions engine
 * running the synthesized definition, the same Lambda handlers behind an API Gateway-shaped
 * HTTP server, and stand-ins for SES and Slack that record into the outbox. Handlers are
 * configured only through the environment, exactly as in AWS.
 */
export interface LocalStackOptions {
  dataDir: string;
  port: number;
  host?: string;
  log?: (line: string) => void;
  /**
   * A part died and could not be brought back (see supervisor.ts): the stack can no longer
   * serve. `npm start` stops with the reason and a non-zero exit.
   */
  onFatal?: (reason: string) => void;
}

export interface LocalSettings {
  url: string;
  api_keys: { admin: string; agent: string };
  slack_signing_secret: string;
  webhook_signing_secret: string;
  /** Not in the contract's list, but local: the HMAC key of review links. */
  link_signing_secret: string;
  /**
   * Local too: the credentials the stack gives its handlers for the SES and Slack stand-ins and
   * the engine, which answer no other (made per data dir, like the keys).
   */
  stand_in_credentials: StandInCredentials;
}

export interface StandInCredentials {
  aws_access_key_id: string;
  aws_secret_access_key: string;
  slack_bot_token: string;
}

export interface RunningStack {
  url: string;
  settings: LocalSettings;
  outbox: Outbox;
  close(): Promise<void>;
}

export const LOCAL_TABLE_NAME = 'countersign';
const REPOSITORY_ROOT = path.resolve(import.meta.dirname, '..');
const LOCAL_AGENT = 'agent://local/default';
const LOCAL_ADMIN = 'local-admin';

type LambdaHandler = (event: unknown, context: unknown) => Promise<unknown>;

export async function startLocalStack(options: LocalStackOptions): Promise<RunningStack> {
  const log = options.log ?? ((line: string) => console.log(line));
  const host = options.host ?? '127.0.0.1';
  const dataDir = path.resolve(options.dataDir);
  // Review links, keys and secrets live here: the user's alone, even in a data dir made before.
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  makeDataDirPrivate(dataDir);
  const closers: (() => Promise<void>)[] = [];
  const close = async () => {
    for (const closer of closers.reverse()) {
      await closer().catch((error: unknown) => log(`while stopping: ${String(error)}`));
    }
  };

  try {
    const secrets = loadOrCreateSecrets(dataDir);
    const signingKeyFile = loadOrCreateSigningKey(dataDir);
    const defaultPolicies = loadDefaultPolicies(dataDir);

    // Synthesis (a child process, or the cached template) runs while DynamoDB Local's JVM starts.
    // The cache is keyed by the template's sources, so every data dir can share it.
    const template = synthesizedTemplate(
      path.join(REPOSITORY_ROOT, 'node_modules', '.cache', 'countersign'),
    );
    template.catch(() => undefined);
    const dynamoDir = path.join(dataDir, 'dynamodb');
    const dynamo = await startDynamoDbLocal({ dataDir: dynamoDir });
    // A JVM that dies is started again on the same data and port (so the endpoint the handlers
    // were given stays right); until then the API answers 503.
    const availability = new Availability();
    const dynamoPort = Number(new URL(dynamo.endpoint).port);
    const dynamoSupervisor = new Supervisor(dynamo, {
      name: 'DynamoDB Local',
      start: () => startDynamoDbLocal({ dataDir: dynamoDir, port: dynamoPort }),
      log,
      availability,
      onGiveUp: (reason) => (options.onFatal ?? log)(reason),
    });
    closers.push(() => dynamoSupervisor.stop());
    const dynamoClient = new DynamoDBClient({
      endpoint: dynamo.endpoint,
      region: LOCAL_REGION,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    await ensureTable(dynamoClient, localTableDefinition());
    const keys = new DynamoKeyRepository(
      DynamoDBDocumentClient.from(dynamoClient),
      LOCAL_TABLE_NAME,
    );
    await ensureKey(keys, 'admin', LOCAL_ADMIN, secrets.api_keys.admin);
    await ensureKey(keys, 'agent', LOCAL_AGENT, secrets.api_keys.agent);
    // A data dir written by an older version: its intents get their listing items once.
    await new DynamoIntentRepository(
      DynamoDBDocumentClient.from(dynamoClient),
      LOCAL_TABLE_NAME,
    ).backfillListings(Number.POSITIVE_INFINITY);

    const outbox = new Outbox(path.join(dataDir, 'outbox.jsonl'));
    const credentials = secrets.stand_in_credentials;
    const ses = await startSesStandIn({ outbox, accessKeyId: credentials.aws_access_key_id });
    closers.push(() => ses.close());
    const slack = await startSlackStandIn({
      outbox,
      directoryFile: path.join(dataDir, 'slack-users.json'),
      botToken: credentials.slack_bot_token,
    });
    closers.push(() => slack.close());
    const webhooks = await startWebhookStandIn({
      outbox,
      signingSecret: secrets.webhook_signing_secret,
    });
    closers.push(() => webhooks.close());
    const routing = notificationRouting(process.env, {
      sesEndpoint: ses.endpoint,
      slackApiUrl: `${slack.endpoint}/api/`,
      slackSigningSecret: secrets.slack_signing_secret,
      credentials,
    });

    const definition = loadLocalDefinition(await template);
    const stateMachineArn = `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:stateMachine:${definition.stateMachineName}`;

    // The API server's port must be known before the handlers read their configuration.
    const apiServer = createApiGatewayServer({
      routes: Object.values(FUNCTIONS).flatMap((spec) =>
        spec.routes.map((route) => ({ method: route.method, path: route.path, target: spec.id })),
      ),
      invoke: (target, event) =>
        whileAvailable(availability, target, () => invokeApi(target, event)),
      extra: (req, res) => {
        // The console's page and assets need no store; its data and actions wait for it.
        const down = availability.down;
        if (down !== undefined && /^\/_local\/(outbox|slack|console\/)/.test(req.url ?? '')) {
          sendResult(res, unavailable(down));
          return true;
        }
        return serveLocalRoutes(req, res, { outbox, keys, slack, serveConsole, availability });
      },
    });
    // The local console (`/_local/`): its Slack clicks are signed here and sent to this server,
    // with the secret the interactions handler verifies (the real app's when Slack is real).
    const serveConsole = createConsoleRoutes({
      keys,
      outbox,
      slack,
      slackSigningSecret: routing.slackSigningSecret,
      apiUrl: () => url,
    });
    const url = await listen(apiServer, options.port, host);
    closers.push(() => closeServer(apiServer));
    // The wait channel (WebSocket) on the same port, answered by the same function as in AWS.
    // Its handler module is loaded on first use, like the others: after the environment is set.
    const waitHandler = () => import('../lambdas/handlers/wait-socket');
    const waitSocket = attachWaitSocket(apiServer, {
      answer: async (raw, subscriptions) => {
        const { answerWaitMessage, waitChannelDeps } = await waitHandler();
        return answerWaitMessage(raw, subscriptions, waitChannelDeps(), logger);
      },
      deps: async () => (await waitHandler()).waitChannelDeps(),
      log: logger,
    });
    closers.push(async () => waitSocket.close());

    let sfnEndpoint = '';
    const handlers = new Map<string, Promise<LambdaHandler>>();
    const handlerFor = (spec: FunctionSpec) => {
      let loaded = handlers.get(spec.id);
      if (!loaded) {
        loaded = import(pathToFileURL(path.join(REPOSITORY_ROOT, spec.entry)).href).then(
          (module: { handler: LambdaHandler }) => module.handler,
        );
        handlers.set(spec.id, loaded);
      }
      return loaded;
    };
    let engineReady: () => void = () => undefined;
    const engineListening = new Promise<void>((resolve) => {
      engineReady = resolve;
    });
    const engineDir = path.join(dataDir, 'stepfunctions');
    const engine = await LocalStepFunctions.open({
      dataDir: engineDir,
      // The engine refuses every change once a journal write failed (disk full, I/O error): that
      // is fatal, like a JVM that cannot be brought back. 503s until `npm start` has stopped.
      onJournalFailure: (error) => {
        availability.markDown('the Step Functions journal could not be written');
        (options.onFatal ?? log)(journalFailureReason(error, engineDir));
      },
      stateMachines: [{ name: definition.stateMachineName, definition: definition.definition }],
      region: LOCAL_REGION,
      accountId: LOCAL_ACCOUNT,
      invokeLambda: async (functionName, payload) => {
        const spec = definition.functionsByArn.get(functionName);
        if (!spec) throw new Error(`no local function for ${functionName}`);
        // Executions resumed from the journal wait until the handlers can reach the engine.
        await engineListening;
        const handler = await handlerFor(spec);
        // A task whose store went away under it runs again once it is back, as Lambda's own
        // retries would: the outage is the local stack's, not one the flow should count.
        for (;;) {
          await availability.whenUp();
          const epoch = availability.epoch;
          try {
            return await handler(payload, lambdaContext(spec));
          } catch (error) {
            if (availability.down === undefined && availability.epoch === epoch) throw error;
          }
        }
      },
    });
    closers.push(() => engine.close());
    sfnEndpoint = await engine.listen(0, '127.0.0.1', {
      accessKeyId: await handlerAccessKeyId(routing.env),
    });

    for (const name of routing.unset) delete process.env[name];
    // One process serves every function, so one environment holds every function's settings
    // (`lambdas/functions.ts`); a setting a function needs that is missing here stops the start.
    const handlerSettings: Partial<Record<SettingKey, string>> = {
      tableName: LOCAL_TABLE_NAME,
      stateMachineArn,
      // Locally the engine is a part that can be down, so readiness checks it too.
      readinessStateMachineArn: stateMachineArn,
      publicBaseUrl: url,
      linkSigningSecret: secrets.link_signing_secret,
      channels: 'email,slack',
      allowLoopbackCallbacks: 'true',
      webhookSigningSecret: secrets.webhook_signing_secret,
      signingKeyFile,
      webhookOutboxUrl: webhooks.endpoint,
      defaultPolicies,
      // Local mode's base under every operator policy: any reviewer a request names, until an
      // admin sets a policy that says otherwise (docs/api.md, Operator policies).
      policyBase: 'permissive',
      // A backstop only: decisions wake long polls in this process at once (intent-changes.ts).
      waitPollMs: '1000',
      waitSocketUrl: `${url.replace(/^http/, 'ws')}${WAIT_SOCKET_PATH}`,
      // Test only: shorter quota windows than an hour, so that e2e tests see one end.
      quotaWindowSeconds: process.env.COUNTERSIGN_TEST_QUOTA_WINDOW_SECONDS,
    };
    const environment: Record<string, string> = {
      AWS_REGION: LOCAL_REGION,
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      AWS_ENDPOINT_URL_SFN: sfnEndpoint,
      ...Object.fromEntries(
        Object.entries(handlerSettings)
          .filter((entry): entry is [SettingKey, string] => entry[1] !== undefined)
          .map(([key, value]) => [SETTINGS[key].name, value]),
      ),
      // SES and Slack: the stand-ins, or the real services where the user configured them.
      ...routing.env,
    };
    const missing = missingSettings(
      Object.values(FUNCTIONS),
      (_spec, key) => (environment[SETTINGS[key].name] ?? '') !== '',
      'local',
    );
    if (missing.length > 0) throw new Error(`settings without a value: ${missing.join(', ')}`);
    Object.assign(process.env, environment);
    engineReady();
    // Load every handler now, not on its first call: a first import takes seconds on a busy
    // machine, which would make the first notice (and so its reminders) late.
    await Promise.all(Object.values(FUNCTIONS).map((spec) => handlerFor(spec)));

    async function invokeApi(
      target: string,
      event: APIGatewayProxyEvent,
    ): Promise<APIGatewayProxyResult> {
      const spec = Object.values(FUNCTIONS).find((candidate) => candidate.id === target);
      if (!spec) throw new Error(`no function ${target}`);
      return (await (
        await handlerFor(spec)
      )(event, lambdaContext(spec))) as APIGatewayProxyResult;
    }

    const settings: LocalSettings = { ...secrets, url };
    writeJsonAtomically(path.join(dataDir, 'local.json'), settings);
    // One write, so that whoever watches the output for the first line sees the whole banner.
    log(
      [
        `Countersign is running at ${url}`,
        `  admin key: ${settings.api_keys.admin}`,
        `  agent key: ${settings.api_keys.agent}  (principal ${LOCAL_AGENT})`,
        `  outbox:    ${url}/_local/outbox   console: ${url}/_local/`,
        ...(routing.email === 'ses'
          ? [`  email:     real SES, from ${process.env.EMAIL_FROM}`]
          : []),
        ...(routing.slack === 'slack'
          ? ['  slack:     the real Slack workspace of your bot token']
          : []),
        `  settings:  ${path.join(dataDir, 'local.json')}`,
        '  policies:  permissive until an admin sets one (PUT /v1/policies/*): requests may name any reviewer',
      ].join('\n'),
    );
    return { url, settings, outbox, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/**
 * Deployment default policies by intent type, as `CountersignProps.defaultPolicies` sets them in
 * AWS: `COUNTERSIGN_DEFAULT_POLICIES` (JSON), else `<data dir>/policies.json`, else none. Checked
 * here, so that a bad file stops `npm start` with the field at fault.
 */
function loadDefaultPolicies(dataDir: string): string {
  const fromEnv = process.env.COUNTERSIGN_DEFAULT_POLICIES;
  const file = path.join(dataDir, 'policies.json');
  const [source, raw] = fromEnv
    ? ['COUNTERSIGN_DEFAULT_POLICIES', fromEnv]
    : existsSync(file)
      ? [file, readFileSync(file, 'utf8')]
      : [undefined, undefined];
  if (source === undefined || raw === undefined) return '';
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (error) {
    throw new Error(`${source} is not valid JSON: ${(error as Error).message}`);
  }
  parsePolicyDefaults(parsed, source);
  return JSON.stringify(parsed);
}

export function localTableDefinition() {
  const { partitionKey, sortKey, gsi1, gsi2 } = TABLE_KEYS;
  const attributes = [
    partitionKey,
    sortKey,
    gsi1.partitionKey,
    gsi1.sortKey,
    gsi2.partitionKey,
    gsi2.sortKey,
  ];
  return {
    TableName: LOCAL_TABLE_NAME,
    BillingMode: 'PAY_PER_REQUEST' as const,
    AttributeDefinitions: attributes.map((name) => ({
      AttributeName: name,
      AttributeType: 'S' as const,
    })),
    KeySchema: [
      { AttributeName: partitionKey, KeyType: 'HASH' as const },
      { AttributeName: sortKey, KeyType: 'RANGE' as const },
    ],
    GlobalSecondaryIndexes: [gsi1, gsi2].map((index) => ({
      IndexName: index.name,
      KeySchema: [
        { AttributeName: index.partitionKey, KeyType: 'HASH' as const },
        { AttributeName: index.sortKey, KeyType: 'RANGE' as const },
      ],
      Projection: { ProjectionType: 'ALL' as const },
    })),
  };
}

/**
 * Keys and secrets are made once per data dir and kept, so a restart serves the same keys. They
 * are written to `local.json` only once the stack serves them (with its URL): a start that fails
 * before makes new ones next time, and the keys it stored unknown to anyone are harmless.
 */
function loadOrCreateSecrets(dataDir: string): Omit<LocalSettings, 'url'> {
  const file = path.join(dataDir, 'local.json');
  const existing = existsSync(file)
    ? (JSON.parse(readFileSync(file, 'utf8')) as Partial<LocalSettings>)
    : {};
  const secret = () => randomBytes(32).toString('hex');
  return {
    api_keys: existing.api_keys ?? {
      admin: newApiKey('admin', LOCAL_ADMIN, new Date()).key,
      agent: newApiKey('agent', LOCAL_AGENT, new Date()).key,
    },
    slack_signing_secret: existing.slack_signing_secret ?? secret(),
    webhook_signing_secret: existing.webhook_signing_secret ?? secret(),
    link_signing_secret: existing.link_signing_secret ?? secret(),
    stand_in_credentials: existing.stand_in_credentials ?? {
      aws_access_key_id: `LOCAL${randomBytes(16).toString('hex').toUpperCase()}`,
      aws_secret_access_key: secret(),
      slack_bot_token: `xoxb-local-${secret()}`,
    },
  };
}

/**
 * The access key id the handlers' AWS clients sign with: the stand-ins' where the stack set
 * credentials, else the user's own (real SES), resolved as the handlers resolve them.
 */
async function handlerAccessKeyId(routingEnv: Record<string, string>): Promise<string> {
  if (routingEnv.AWS_ACCESS_KEY_ID) return routingEnv.AWS_ACCESS_KEY_ID;
  const client = new SFNClient({ region: LOCAL_REGION });
  try {
    return (await client.config.credentials()).accessKeyId;
  } finally {
    client.destroy();
  }
}

/** What the stack keeps in its data dir; nothing else there is touched (it may be any dir). */
const DATA_DIR_ENTRIES = [
  'local.json',
  'outbox.jsonl',
  'slack-users.json',
  'policies.json',
  'dynamodb',
  'stepfunctions',
];

/** The data dir 0700 and what the stack keeps in it 0700 (dirs) and 0600 (files). */
function makeDataDirPrivate(dataDir: string): void {
  chmodSync(dataDir, 0o700);
  for (const name of DATA_DIR_ENTRIES) makePrivate(path.join(dataDir, name));
}

function makePrivate(entryPath: string): void {
  if (!existsSync(entryPath)) return;
  const stat = lstatSync(entryPath);
  if (stat.isDirectory()) {
    chmodSync(entryPath, 0o700);
    for (const name of readdirSync(entryPath)) makePrivate(path.join(entryPath, name));
  } else if (stat.isFile() && (stat.mode & 0o077) !== 0) {
    chmodSync(entryPath, 0o600);
  }
}

/**
 * The Ed25519 key that signs receipts and callbacks, as KMS holds it in AWS: made once per data
 * dir (PKCS #8 PEM, readable by this user only) and kept, so that receipts signed before a
 * restart still verify against `/.well-known/jwks.json`.
 */
function loadOrCreateSigningKey(dataDir: string): string {
  const file = path.join(dataDir, 'signing-key.pem');
  if (existsSync(file)) {
    chmodSync(file, 0o600);
    return file;
  }
  const { privateKey } = generateKeyPairSync('ed25519');
  const temporary = `${file}.tmp`;
  writeFileSync(temporary, privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
  renameSync(temporary, file);
  return file;
}

async function ensureKey(
  keys: DynamoKeyRepository,
  role: Role,
  principal: string,
  key: string,
): Promise<void> {
  if (await keys.findByHash(hashApiKey(key))) return;
  const { record } = newApiKey(role, principal, new Date());
  await keys.put({ ...record, key_hash: hashApiKey(key), prefix: key.slice(0, 10) });
}

/** Readers see the old file or the new one, never a part; the new one is the user's alone. */
function writeJsonAtomically(file: string, value: unknown): void {
  const temporary = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  renameSync(temporary, file);
}

/** Every answer of the engine waited for its journal's fsync, so a failed write lost none. */
function journalFailureReason(error: Error, engineDir: string): string {
  const cause = error.cause instanceof Error ? error.cause.message : error.message;
  return `the Step Functions journal could not be written (${cause}) in ${engineDir}; nothing acknowledged is lost: run npm start again once the disk is fixed.`;
}

/** Seconds a client is asked to wait (`Retry-After`) while a part of the stack restarts. */
const RETRY_AFTER_SECONDS = 2;

function unavailable(reason: string): APIGatewayProxyResult {
  const result = json(503, {
    error: {
      code: 'unavailable',
      message: `The local stack is restarting a part (${reason}); retry shortly.`,
      details: [],
    },
  });
  return { ...result, headers: { ...result.headers, 'Retry-After': String(RETRY_AFTER_SECONDS) } };
}

function unavailableDuring(availability: Availability): APIGatewayProxyResult {
  return unavailable(availability.down ?? 'a part restarted during the request');
}

/**
 * Whether a call that failed began before an outage that is on now or was since. A JVM killed
 * under a call may fail it before its exit is seen, so a failure first waits a moment for it.
 */
async function cutShortByOutage(availability: Availability, epoch: number): Promise<boolean> {
  const hit = () => availability.down !== undefined || availability.epoch !== epoch;
  if (!hit()) await new Promise((resolve) => setTimeout(resolve, OUTAGE_NOTICE_MS));
  return hit();
}

/** How long a failed call waits to see whether a part died under it (exits are seen in ms). */
const OUTAGE_NOTICE_MS = 250;

/**
 * An API call while a part of the stack is down, or one that failed because a part went down
 * under it, is 503 `unavailable` with `Retry-After` (the SDKs retry it), never a 500. `GET
 * /healthz` is not held back: liveness stays cheap, and readiness says what is down itself.
 */
async function whileAvailable(
  availability: Availability,
  target: string,
  invoke: () => Promise<APIGatewayProxyResult>,
): Promise<APIGatewayProxyResult> {
  if (target === FUNCTIONS.health.id) return invoke();
  const down = availability.down;
  if (down !== undefined) return unavailable(down);
  const epoch = availability.epoch;
  let result: APIGatewayProxyResult;
  try {
    result = await invoke();
  } catch (error) {
    if (await cutShortByOutage(availability, epoch)) return unavailableDuring(availability);
    throw error;
  }
  return result.statusCode >= 500 && (await cutShortByOutage(availability, epoch))
    ? unavailableDuring(availability)
    : result;
}

function lambdaContext(spec: FunctionSpec) {
  return {
    functionName: `countersign-${spec.id}`,
    awsRequestId: randomBytes(16).toString('hex'),
    getRemainingTimeInMillis: () => spec.timeoutSeconds * 1000,
  };
}

async function serveLocalRoutes(
  req: import('node:http').IncomingMessage,
  res: import('node:http').ServerResponse,
  context: {
    outbox: Outbox;
    keys: DynamoKeyRepository;
    slack: SlackStandIn;
    serveConsole: ReturnType<typeof createConsoleRoutes>;
    availability: Availability;
  },
): Promise<boolean> {
  const { availability } = context;
  const epoch = availability.epoch;
  if (await context.serveConsole(req, res)) return true;
  const url = new URL(req.url ?? '/', 'http://local');
  if (!url.pathname.startsWith('/_local/')) return false;
  const send = (result: APIGatewayProxyResult) => sendResult(res, result);
  try {
    if (url.pathname === '/_local/outbox' && req.method === 'GET') {
      const principal = await authenticate(req.headers.authorization, context.keys);
      if (principal.role !== 'admin')
        throw new DomainError('forbidden', 'The outbox needs the admin key.');
      send(json(200, { items: context.outbox.list() }));
      return true;
    }
    // What the Slack stand-in shows people outside the messages: modals and ephemeral replies.
    if (url.pathname === '/_local/slack' && req.method === 'GET') {
      const principal = await authenticate(req.headers.authorization, context.keys);
      if (principal.role !== 'admin')
        throw new DomainError('forbidden', 'The Slack stand-in needs the admin key.');
      send(json(200, context.slack.interactions()));
      return true;
    }
    throw new DomainError('not_found', `No local route ${url.pathname}.`);
  } catch (error) {
    // As on the API: a call that a part's death cut short is 503, not 500.
    const result = errorResult(error);
    const cutShort = result.statusCode >= 500 && (await cutShortByOutage(availability, epoch));
    send(cutShort ? unavailableDuring(availability) : result);
    return true;
  }
}

function sendResult(res: import('node:http').ServerResponse, result: APIGatewayProxyResult): void {
  res.writeHead(result.statusCode, result.headers as Record<string, string>);
  res.end(result.body);
}

function listen(server: Server, port: number, host: string): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const address = server.address() as AddressInfo;
      resolve(`http://${host}:${address.port}`);
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections?.();
  });
}
