/**
 * Every Lambda function of Countersign: the one manifest that the CDK construct, the local stack
 * and the configuration read. Per function it says the HTTP routes it serves, what it may do to
 * the table (by item prefix), and what else it needs (`NEEDS`): each need names the settings the
 * function reads (`shared/config.ts`) and, in AWS, brings the IAM grants the construct gives for
 * it. Adding a function is one entry here and its handler module.
 */
import { SETTINGS, type SettingKey } from './shared/config';

/** Metadata key that names the handler module of a synthesized function (read by the local stack). */
export const FUNCTION_METADATA_KEY = 'countersign:function';

/** Item partitions by key prefix (`adapters/table-schema.ts`), as IAM checks them. */
export type TablePrefix =
  | 'INTENT#'
  | 'LIST#'
  | 'IDEMPOTENCY#'
  | 'USAGE#'
  | 'APIKEY#'
  | 'TEAM#'
  | 'POLICY#'
  | 'REVIEWER#'
  | 'SIGNIN#'
  | 'SESSION#'
  | 'WAIT#';

/** `describe`: the table's status only (readiness); `read`: its items; `write`: also these. */
export type TableAccess = 'describe' | 'read' | { readonly write: readonly TablePrefix[] };

/** What a function may need beyond the table, and the settings each need reads. */
export const NEEDS = {
  /** Authenticates API keys: the bootstrap admin key too, while the deployment has one. */
  authenticates: ['bootstrapAdminKey'],
  /** Resolves operator policies (creates, the admin API). */
  resolvesPolicies: ['defaultPolicies', 'allowedReviewerDomains', 'policyBase'],
  /** Creates intents: their channels and callback URLs. */
  createsIntents: ['channels', 'allowLoopbackCallbacks'],
  /** Counts hourly usage (`USAGE#`): agent key quotas, sign-in emails. */
  countsUsage: ['quotaWindowSeconds'],
  /** Checks reviewers against the deployment's domains (profiles' delegates, reviewer keys). */
  checksReviewerDomains: ['allowedReviewerDomains'],
  startsExecutions: ['stateMachineArn'],
  /** Answers task tokens (decisions wake the execution; a late stage closes itself). */
  answersTasks: [],
  describesExecutions: ['stateMachineArn'],
  sendsEmail: ['emailFrom', 'emailConfigurationSet', 'emailRegion', 'publicBaseUrl'],
  signsReviewLinks: ['linkSigningSecret'],
  postsToSlack: ['slackBotToken', 'slackApiUrl'],
  verifiesSlack: ['slackSigningSecret', 'slackBotToken', 'slackApiUrl'],
  /** Signs receipts and callbacks (KMS in AWS, a key file locally). */
  signs: ['signingKeyArn', 'signingKeyFile'],
  publishesPublicKey: ['signingKeyArn', 'signingKeyFile'],
  deliversCallbacks: ['webhookSigningSecret', 'allowLoopbackCallbacks', 'webhookOutboxUrl'],
  /** Names the wait channel to clients (`Countersign-Wait-Url`). */
  announcesWaitChannel: ['waitSocketUrl'],
  pushesWaitChannel: ['waitSocketEndpoint'],
  longPolls: ['waitPollMs'],
  checksReadiness: ['readinessStateMachineArn'],
  /** Tuning the reconciler reads when set. */
  reconciles: ['reconcilerBackfillPerRun', 'reconcilerMaxRestarts'],
} as const satisfies Record<string, readonly SettingKey[]>;

export type Need = keyof typeof NEEDS;

export interface FunctionSpec {
  /** Stable id: construct id, local mapping key. Renaming one replaces the deployed function. */
  readonly id: string;
  /** Handler module, relative to the repository root; it exports `handler`. */
  readonly entry: string;
  readonly description: string;
  readonly routes: readonly {
    readonly method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE';
    readonly path: string;
  }[];
  /** Long polls need more than the default; API Gateway itself stops at 29 s. */
  readonly timeoutSeconds: number;
  /** What it may do to the table; none: it never touches it. */
  readonly table?: TableAccess;
  readonly needs: readonly Need[];
  /** Values of its settings fixed for this function in AWS (locally one value serves all). */
  readonly settings?: Partial<Record<SettingKey, string>>;
}

/** Writing intents: their items, trails and listing items. */
const INTENTS: TablePrefix[] = ['INTENT#', 'LIST#'];
/** What every function that decides or cancels intents needs (API, MCP, review page, inbox, Slack). */
const DECIDES: Need[] = ['startsExecutions', 'answersTasks', 'signs'];

export const FUNCTIONS = {
  health: {
    id: 'health',
    entry: 'lambdas/handlers/health.ts',
    description: 'GET /healthz',
    routes: [{ method: 'GET', path: '/healthz' }],
    timeoutSeconds: 5,
    table: 'describe',
    needs: ['checksReadiness'],
  },
  jwks: {
    id: 'jwks',
    entry: 'lambdas/handlers/jwks.ts',
    description: 'GET /.well-known/jwks.json: the public keys of receipts and callbacks',
    routes: [{ method: 'GET', path: '/.well-known/jwks.json' }],
    timeoutSeconds: 10,
    needs: ['publishesPublicKey'],
  },
  openapi: {
    id: 'openapi',
    entry: 'lambdas/handlers/openapi.ts',
    description: 'GET /v1/openapi.json: the OpenAPI 3.1 document of the API',
    routes: [{ method: 'GET', path: '/v1/openapi.json' }],
    timeoutSeconds: 10,
    needs: [],
  },
  intentsWrite: {
    id: 'intents-write',
    entry: 'lambdas/handlers/intents-write.ts',
    description: 'Creates intents and starts their approval executions',
    routes: [{ method: 'POST', path: '/v1/intents' }],
    timeoutSeconds: 15,
    table: { write: [...INTENTS, 'IDEMPOTENCY#', 'USAGE#'] },
    needs: [
      'authenticates',
      'resolvesPolicies',
      'createsIntents',
      'countsUsage',
      'startsExecutions',
      'signs',
    ],
  },
  intentsRead: {
    id: 'intents-read',
    entry: 'lambdas/handlers/intents-read.ts',
    description: 'Reads intents and their trails',
    routes: [
      { method: 'GET', path: '/v1/intents' },
      { method: 'GET', path: '/v1/intents/{id}' },
      { method: 'GET', path: '/v1/intents/{id}/events' },
    ],
    timeoutSeconds: 29,
    table: 'read',
    needs: ['authenticates', 'announcesWaitChannel'],
  },
  // A function of its own, with reserved concurrency, so that long polls cannot starve the rest.
  intentsWait: {
    id: 'intents-wait',
    entry: 'lambdas/handlers/intents-read.ts',
    description: 'The long poll (the fallback of the wait channel)',
    routes: [{ method: 'GET', path: '/v1/intents/{id}/wait' }],
    timeoutSeconds: 29,
    table: 'read',
    needs: ['authenticates', 'longPolls'],
    settings: { waitPollMs: '250' },
  },
  intentsDecide: {
    id: 'intents-decide',
    entry: 'lambdas/handlers/intents-decide.ts',
    description: 'Records decisions (one or in bulk) and cancellations and wakes the executions',
    routes: [
      { method: 'POST', path: '/v1/intents/{id}/decision' },
      { method: 'POST', path: '/v1/decisions' },
      { method: 'POST', path: '/v1/intents/{id}/cancel' },
    ],
    // A bulk request decides up to 100 intents, 10 at a time, within API Gateway's 29 s.
    timeoutSeconds: 29,
    table: { write: INTENTS },
    needs: ['authenticates', ...DECIDES],
  },
  mcp: {
    id: 'mcp',
    entry: 'lambdas/handlers/mcp.ts',
    description:
      'The MCP server (Streamable HTTP, stateless): approval tools for agents and reviewers',
    routes: [
      { method: 'POST', path: '/mcp' },
      { method: 'GET', path: '/mcp' },
      { method: 'DELETE', path: '/mcp' },
    ],
    // A tool call waits at most 20 s for a decision (wait_seconds), within API Gateway's 29 s.
    timeoutSeconds: 29,
    table: { write: [...INTENTS, 'IDEMPOTENCY#', 'USAGE#'] },
    needs: [
      'authenticates',
      'resolvesPolicies',
      'createsIntents',
      'countsUsage',
      'longPolls',
      ...DECIDES,
    ],
    settings: { waitPollMs: '250' },
  },
  admin: {
    id: 'admin',
    entry: 'lambdas/handlers/admin.ts',
    description: 'API keys, teams, operator policies and reviewer profiles',
    routes: [
      { method: 'GET', path: '/v1/reviewers' },
      { method: 'PUT', path: '/v1/reviewers/{email}' },
      { method: 'GET', path: '/v1/reviewers/{email}' },
      { method: 'GET', path: '/v1/policies' },
      { method: 'POST', path: '/v1/policies/dry-run' },
      { method: 'PUT', path: '/v1/policies/{intent_type}' },
      { method: 'GET', path: '/v1/policies/{intent_type}' },
      { method: 'DELETE', path: '/v1/policies/{intent_type}' },
      { method: 'POST', path: '/v1/keys' },
      { method: 'GET', path: '/v1/keys' },
      { method: 'DELETE', path: '/v1/keys/{id}' },
      { method: 'POST', path: '/v1/teams' },
      { method: 'GET', path: '/v1/teams' },
      { method: 'DELETE', path: '/v1/teams/{name}' },
    ],
    timeoutSeconds: 15,
    table: { write: ['APIKEY#', 'TEAM#', 'POLICY#', 'SESSION#', 'REVIEWER#'] },
    needs: ['authenticates', 'resolvesPolicies'],
  },
  review: {
    id: 'review',
    entry: 'lambdas/handlers/review.ts',
    description: 'The review page behind email links (GET shows, POST decides)',
    routes: [
      { method: 'GET', path: '/review/{token}' },
      { method: 'HEAD', path: '/review/{token}' },
      { method: 'POST', path: '/review/{token}' },
    ],
    timeoutSeconds: 15,
    table: { write: INTENTS },
    needs: ['signsReviewLinks', ...DECIDES],
  },
  inbox: {
    id: 'inbox',
    entry: 'lambdas/handlers/inbox.ts',
    description:
      "The reviewer inbox: sign-in by email link, the reviewer's list, decisions, availability",
    routes: [
      { method: 'GET', path: '/inbox' },
      { method: 'HEAD', path: '/inbox' },
      { method: 'POST', path: '/inbox/sign-in' },
      { method: 'GET', path: '/inbox/sign-in/{token}' },
      { method: 'HEAD', path: '/inbox/sign-in/{token}' },
      { method: 'POST', path: '/inbox/sign-in/{token}' },
      { method: 'POST', path: '/inbox/sign-out' },
      { method: 'GET', path: '/inbox/intents/{id}' },
      { method: 'HEAD', path: '/inbox/intents/{id}' },
      { method: 'POST', path: '/inbox/intents/{id}' },
      { method: 'POST', path: '/inbox/bulk' },
      { method: 'POST', path: '/inbox/bulk/decide' },
      { method: 'GET', path: '/inbox/me' },
      { method: 'HEAD', path: '/inbox/me' },
      { method: 'POST', path: '/inbox/me' },
    ],
    // A bulk decision decides up to 100 intents, 10 at a time, within API Gateway's 29 s.
    timeoutSeconds: 29,
    // REVIEWER#: "Your availability", the signed-in reviewer's own profile.
    table: { write: [...INTENTS, 'SIGNIN#', 'SESSION#', 'USAGE#', 'REVIEWER#'] },
    needs: ['sendsEmail', 'checksReviewerDomains', 'countsUsage', ...DECIDES],
  },
  slackInteractions: {
    id: 'slack-interactions',
    entry: 'lambdas/handlers/slack-interactions.ts',
    description: "Slack's interactivity URL: signed button clicks and the Reject reason modal",
    routes: [{ method: 'POST', path: '/slack/interactions' }],
    // Slack gives up after 3 s; the work is a few small calls, so anything longer is a fault.
    timeoutSeconds: 10,
    table: { write: INTENTS },
    needs: ['verifiesSlack', ...DECIDES],
  },
  planStage: {
    id: 'plan-stage',
    entry: 'lambdas/handlers/plan-stage.ts',
    description: 'State machine: decides the next stage, or records the timeout',
    routes: [],
    timeoutSeconds: 15,
    table: { write: INTENTS },
    needs: ['signs'],
  },
  stageTask: {
    id: 'stage-task',
    entry: 'lambdas/handlers/stage-task.ts',
    description: 'State machine: stores the stage task token and notifies reviewers',
    routes: [],
    timeoutSeconds: 60,
    table: { write: [...INTENTS, 'USAGE#'] },
    needs: ['answersTasks', 'sendsEmail', 'signsReviewLinks', 'postsToSlack', 'countsUsage'],
  },
  notifyDecided: {
    id: 'notify-decided',
    entry: 'lambdas/handlers/notify-decided.ts',
    description: 'State machine: tells everyone asked that the intent is decided',
    routes: [],
    timeoutSeconds: 60,
    table: { write: INTENTS },
    needs: ['sendsEmail', 'signsReviewLinks', 'postsToSlack'],
  },
  deliverCallback: {
    id: 'deliver-callback',
    entry: 'lambdas/handlers/deliver-callback.ts',
    description: 'State machine: POSTs the signed final intent to its callback_url',
    routes: [],
    timeoutSeconds: 30,
    table: { write: INTENTS },
    needs: ['deliversCallbacks', 'signs'],
  },
  waitSocket: {
    id: 'wait-socket',
    entry: 'lambdas/handlers/wait-socket.ts',
    description: 'The wait channel (WebSocket API): subscribes waiting agents to their intents',
    routes: [],
    timeoutSeconds: 10,
    // The wait channel's subscriptions (`WAIT#<intent>` / `CONN#<connection>`), and nothing else.
    table: { write: ['WAIT#'] },
    needs: ['authenticates'],
  },
  waitPush: {
    id: 'wait-push',
    entry: 'lambdas/handlers/wait-push.ts',
    description: "The table's stream: pushes intents that left pending to their subscribers",
    routes: [],
    timeoutSeconds: 30,
    table: { write: ['WAIT#'] },
    needs: ['authenticates', 'pushesWaitChannel'],
  },
  reconciler: {
    id: 'reconciler',
    entry: 'lambdas/handlers/reconcile.ts',
    description: 'Scheduled: restarts or times out pending intents whose execution ended',
    routes: [],
    timeoutSeconds: 300,
    table: { write: INTENTS },
    needs: ['startsExecutions', 'describesExecutions', 'signs', 'reconciles'],
  },
} as const satisfies Record<string, FunctionSpec>;

export type FunctionKey = keyof typeof FUNCTIONS;

/** The functions with their keys, in the manifest's order. */
export const FUNCTION_ENTRIES = Object.entries(FUNCTIONS) as [FunctionKey, FunctionSpec][];

/** The settings a function reads: the table's name if it uses the table, and its needs'. */
export function settingsOf(spec: FunctionSpec): SettingKey[] {
  const keys = new Set<SettingKey>(spec.table ? ['tableName'] : []);
  for (const need of spec.needs) for (const key of NEEDS[need]) keys.add(key);
  for (const key of Object.keys(spec.settings ?? {}) as SettingKey[]) keys.add(key);
  return [...keys];
}

/**
 * The required settings of `functions` that `given` lacks where they run (`aws` or `local`), as
 * `function: SETTING` lines: the construct refuses to synthesize, and `npm start` to start, with
 * any, so that a setting added to a need cannot be forgotten in one place.
 */
export function missingSettings(
  functions: readonly FunctionSpec[],
  given: (spec: FunctionSpec, key: SettingKey) => boolean,
  where: 'aws' | 'local',
): string[] {
  return functions.flatMap((spec) =>
    settingsOf(spec)
      .filter((key) => {
        const setting: { where: string; optional?: true } = SETTINGS[key];
        return (
          (setting.where === where || setting.where === 'both') &&
          !setting.optional &&
          !given(spec, key)
        );
      })
      .map((key) => `${spec.id}: ${SETTINGS[key].name}`),
  );
}
