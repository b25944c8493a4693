/**
 * Every Lambda function of Countersign and the HTTP routes each one serves: the one source of
 * truth for the CDK construct (which deploys them and wires API Gateway) and for the local
 * stack (which serves the same routes with the same handler modules, and maps the function
 * ARNs in the synthesized state machine back to these modules).
 */
/** Metadata key that names the handler module of a synthesized function (read by the local stack). */
export const FUNCTION_METADATA_KEY = 'countersign:function';

export interface FunctionSpec {
  /** Stable id: construct id, local mapping key. Renaming one replaces the deployed function. */
  id: string;
  /** Handler module, relative to the repository root; it exports `handler`. */
  entry: string;
  description: string;
  routes: { method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE'; path: string }[];
  /** Long polls need more than the default; API Gateway itself stops at 29 s. */
  timeoutSeconds: number;
}

export const FUNCTIONS = {
  health: {
    id: 'health',
    entry: 'lambdas/handlers/health.ts',
    description: 'GET /healthz',
    routes: [{ method: 'GET', path: '/healthz' }],
    timeoutSeconds: 5,
  },
  jwks: {
    id: 'jwks',
    entry: 'lambdas/handlers/jwks.ts',
    description: 'GET /.well-known/jwks.json: the public keys of receipts and callbacks',
    routes: [{ method: 'GET', path: '/.well-known/jwks.json' }],
    timeoutSeconds: 10,
  },
  openapi: {
    id: 'openapi',
    entry: 'lambdas/handlers/openapi.ts',
    description: 'GET /v1/openapi.json: the OpenAPI 3.1 document of the API',
    routes: [{ method: 'GET', path: '/v1/openapi.json' }],
    timeoutSeconds: 10,
  },
  intentsWrite: {
    id: 'intents-write',
    entry: 'lambdas/handlers/intents-write.ts',
    description: 'Creates intents and starts their approval executions',
    routes: [{ method: 'POST', path: '/v1/intents' }],
    timeoutSeconds: 15,
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
  },
  // A function of its own, with reserved concurrency, so that long polls cannot starve the rest.
  intentsWait: {
    id: 'intents-wait',
    entry: 'lambdas/handlers/intents-read.ts',
    description: 'The long poll (the fallback of the wait channel)',
    routes: [{ method: 'GET', path: '/v1/intents/{id}/wait' }],
    timeoutSeconds: 29,
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
  },
  slackInteractions: {
    id: 'slack-interactions',
    entry: 'lambdas/handlers/slack-interactions.ts',
    description: "Slack's interactivity URL: signed button clicks and the Reject reason modal",
    routes: [{ method: 'POST', path: '/slack/interactions' }],
    // Slack gives up after 3 s; the work is a few small calls, so anything longer is a fault.
    timeoutSeconds: 10,
  },
  planStage: {
    id: 'plan-stage',
    entry: 'lambdas/handlers/plan-stage.ts',
    description: 'State machine: decides the next stage, or records the timeout',
    routes: [],
    timeoutSeconds: 15,
  },
  stageTask: {
    id: 'stage-task',
    entry: 'lambdas/handlers/stage-task.ts',
    description: 'State machine: stores the stage task token and notifies reviewers',
    routes: [],
    timeoutSeconds: 60,
  },
  notifyDecided: {
    id: 'notify-decided',
    entry: 'lambdas/handlers/notify-decided.ts',
    description: 'State machine: tells everyone asked that the intent is decided',
    routes: [],
    timeoutSeconds: 60,
  },
  deliverCallback: {
    id: 'deliver-callback',
    entry: 'lambdas/handlers/deliver-callback.ts',
    description: 'State machine: POSTs the signed final intent to its callback_url',
    routes: [],
    timeoutSeconds: 30,
  },
  waitSocket: {
    id: 'wait-socket',
    entry: 'lambdas/handlers/wait-socket.ts',
    description: 'The wait channel (WebSocket API): subscribes waiting agents to their intents',
    routes: [],
    timeoutSeconds: 10,
  },
  waitPush: {
    id: 'wait-push',
    entry: 'lambdas/handlers/wait-push.ts',
    description: "The table's stream: pushes intents that left pending to their subscribers",
    routes: [],
    timeoutSeconds: 30,
  },
  reconciler: {
    id: 'reconciler',
    entry: 'lambdas/handlers/reconcile.ts',
    description: 'Scheduled: restarts or times out pending intents whose execution ended',
    routes: [],
    timeoutSeconds: 300,
  },
} as const satisfies Record<string, FunctionSpec>;

export type FunctionKey = keyof typeof FUNCTIONS;
