import type { APIGatewayProxyEvent } from 'aws-lambda';
import type { Role } from '../../lambdas/core/ports';
import type { IntentState, ResolvedPolicy } from '../../lambdas/domain/intent';
import { testSigningKeyFile } from './signing-key';

/** Environment the handlers read; set before the handler modules are first used. */
export function setHandlerEnvironment(): void {
  Object.assign(process.env, {
    TABLE_NAME: 'countersign-test',
    STATE_MACHINE_ARN: 'arn:aws:states:us-east-1:000000000000:stateMachine:test',
    PUBLIC_BASE_URL: 'https://approvals.example.com',
    EMAIL_FROM: 'countersign@example.com',
    LINK_SIGNING_SECRET: 'test-secret',
    SIGNING_KEY_FILE: testSigningKeyFile(),
    NOTIFICATION_CHANNELS: 'email',
    // Handler mechanics, not policy: the permissive base lets the seed's payload.reviewer through.
    POLICY_BASE: 'permissive',
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
  });
}

export const KEYS: Record<Role, { key: string; principal: string }> = {
  agent: { key: 'csk_agent-key-for-tests', principal: 'agent://myorg/production/report-generator' },
  reviewer: { key: 'csk_reviewer-key-for-tests', principal: 'cfo@company.com' },
  admin: { key: 'csk_admin-key-for-tests', principal: 'ops' },
};

export function apiEvent(options: {
  method: string;
  resource: string;
  path?: string;
  role?: Role;
  body?: unknown;
  headers?: Record<string, string>;
  pathParameters?: Record<string, string>;
  query?: Record<string, string>;
}): APIGatewayProxyEvent {
  const headers: Record<string, string> = {
    ...(options.body !== undefined ? { 'Content-Type': 'application/json' } : {}),
    ...(options.role ? { Authorization: `Bearer ${KEYS[options.role].key}` } : {}),
    ...options.headers,
  };
  return {
    httpMethod: options.method,
    resource: options.resource,
    path: options.path ?? options.resource,
    headers,
    multiValueHeaders: {},
    pathParameters: options.pathParameters ?? null,
    queryStringParameters: options.query ?? null,
    multiValueQueryStringParameters: null,
    stageVariables: null,
    body:
      options.body === undefined
        ? null
        : typeof options.body === 'string'
          ? options.body
          : JSON.stringify(options.body),
    isBase64Encoded: false,
    requestContext: {} as APIGatewayProxyEvent['requestContext'],
  };
}

/** The intent the payment-flow tests store: the payments agent asks about the ACME invoice. */
export const PAYMENT_INTENT = {
  intent_type: 'intent.payment.v1',
  to_agent: 'agent://payments',
  from_agent: 'agent://payments',
  summary: 'Pay the ACME invoice',
} as const;

/** What an intent carries once its first stage has started and stored the task token. */
export const IN_FIRST_STAGE = {
  event_count: 2,
  version: 3,
  stage_index: 0,
  task_token: 'token-of-stage-0',
} as const;

/**
 * The META item of a pending intent one reviewer is asked about by email, created `now` with an
 * hour to its deadline, before its first stage, for the tests whose subject is an AWS client
 * (SES, Slack's rate limits) and so run on the mocked document client (`fake-table.ts`); the
 * others seed `port-fakes.ts`'s `pendingIntent`. `overrides` replace whole fields; `policy`
 * replaces fields of the policy (its channels, steps, reminders).
 */
export function pendingIntentItem(
  now: number,
  overrides: Record<string, unknown> = {},
  policy: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    pk: 'INTENT#int_1',
    sk: 'META',
    ...pendingIntentFields(now, policy as Partial<ResolvedPolicy>),
    ...overrides,
  };
}

/** The pending intent every handler test starts from, as the repository and the table hold it. */
export function pendingIntentFields(
  now: number,
  policy: Partial<ResolvedPolicy> = {},
): Omit<IntentState, 'payload' | 'viewed_by'> {
  return {
    id: 'int_1',
    intent_type: 'intent.deploy.v1',
    to_agent: 'agent://a',
    from_agent: 'agent://a',
    summary: 'Deploy v2',
    status: 'pending',
    policy: {
      remind_after: [300],
      escalate: [],
      timeout: { after: 3600, action: 'reject' },
      required_approvals: 1,
      steps: null,
      channels: ['email'],
      ...policy,
    },
    recipients: ['cfo@company.com'],
    approvals: [],
    decision: null,
    callback_url: null,
    step: 0,
    created_at: new Date(now).toISOString(),
    updated_at: new Date(now).toISOString(),
    deadline_at: new Date(now + 3600_000).toISOString(),
    next_action_at: null,
    event_count: 1,
    last_event_hash: 'a'.repeat(64),
    version: 1,
    asked: ['cfo@company.com'],
    step_started_at: new Date(now).toISOString(),
    stage_index: -1,
    task_token: null,
    pending_notifications: [],
  };
}
