/**
 * The route table of the OpenAPI document: one entry per HTTP route, naming the zod schemas its
 * handler validates the request with (imported from where the handler uses them) and the
 * schemas of its answers (`./schemas.ts`). Adding a route is one entry here beside its route in
 * `lambdas/functions.ts`; `test/contract/openapi.test.ts` fails while the two lists differ.
 */
import { z } from 'zod';
import { createKeySchema, teamSchema } from '../core/admin';
import { bulkSchema } from '../core/bulk-decisions';
import { cancelSchema, decisionSchema, listQuerySchema } from '../core/intents';
import { dryRunSchema } from '../core/policies';
import { blockActionsSchema, viewSubmissionSchema } from '../core/slack-interactions';
import { profileInputSchema, WEEKDAYS } from '../domain/availability';
import { createIntentSchema } from '../domain/create';
import type { FunctionSpec } from '../functions';
import {
  apiKeySchema,
  bulkResultSchema,
  contractSchemas,
  createdKeySchema,
  errorBodySchema,
  eventListSchema,
  healthSchema,
  intentListSchema,
  intentSchema,
  jsonRpcRequestSchema,
  jsonRpcResponseSchema,
  jwksSchema,
  keyListSchema,
  operatorPolicyDocumentSchema,
  policyDryRunResultSchema,
  policyListSchema,
  reviewerProfileListSchema,
  reviewerProfileSchema,
  storedPolicySchema,
  teamListSchema,
  teamViewSchema,
} from './schemas';

type HttpMethod = FunctionSpec['routes'][number]['method'];

/** One documented answer: a JSON body, an HTML page, or nothing. */
export interface ResponseSpec {
  description: string;
  json?: z.ZodType;
  html?: true;
  /** The body may also be empty (Slack's plain 200). */
  mayBeEmpty?: true;
}

export interface Operation {
  method: HttpMethod;
  /** As in `lambdas/functions.ts`, path parameters in braces. */
  path: string;
  operationId: string;
  summary: string;
  tag:
    | 'intents'
    | 'teams'
    | 'keys'
    | 'policies'
    | 'signatures'
    | 'health'
    | 'reviewers'
    | 'inbox'
    | 'mcp';
  /**
   * Who may call: a Bearer key of these roles; `none` for public routes; `link` where the path's
   * token is the credential (review pages); `slack` for Slack's signed requests; `session` for
   * the inbox's pages (its cookie, or a sign-in form without one).
   */
  auth: readonly ('agent' | 'reviewer' | 'admin')[] | 'none' | 'link' | 'slack' | 'session';
  query?: z.ZodObject;
  /** Request headers the operation reads, beyond authentication. */
  headers?: { name: string; description: string }[];
  body?: { id: string; schema: z.ZodType; form?: true };
  responses: Record<number, ResponseSpec>;
}

const ERROR_TEXT: Record<number, string> = {
  400: 'The request is malformed or a field is invalid (`details` names each).',
  401: 'No key, or an unknown or revoked one.',
  403: 'The key’s role or principal may not do this.',
  404: 'No such thing, or one the caller may not see.',
  409: 'The intent’s state does not allow it (`error.intent` carries it where the caller may read it).',
  413: 'The payload is over 128 KiB.',
  429: 'Over a quota or throttled (`Retry-After`).',
  503: 'A part the API needs does not answer (`Retry-After`).',
};

function errors(...statuses: number[]): Record<number, ResponseSpec> {
  return Object.fromEntries(
    statuses.map((status) => [
      status,
      { description: ERROR_TEXT[status] ?? 'An error.', json: errorBodySchema },
    ]),
  );
}

function ok(description: string, schema: z.ZodType): ResponseSpec {
  return { description, json: schema };
}

function page(description: string): ResponseSpec {
  return { description, html: true };
}

function body(id: string, schema: z.ZodType): { id: string; schema: z.ZodType } {
  contractSchemas.add(schema, { id });
  return { id, schema };
}

/** Read by the handler itself (`parseWaitTimeout`), not a zod schema: described here. */
const waitQuerySchema = z.object({
  timeout: z
    .number()
    .optional()
    .describe('Seconds to wait, clamped to 1..25; default 20. Not a number is 400.'),
});

const readyQuerySchema = z.object({
  ready: z.string().optional().describe('Present: readiness (the table and engine answer).'),
});

const reviewFormSchema = z.object({
  outcome: z.enum(['approve', 'reject']),
  comment: z.string().max(2000).optional(),
  nonce: z.string().describe('The form’s nonce: `<step>.<HMAC>`, bound to the link and step.'),
});

const slackFormSchema = z.object({
  payload: z
    .string()
    .describe('Slack’s interaction payload as JSON: block_actions or view_submission.')
    .meta({
      contentMediaType: 'application/json',
      contentSchema: z.toJSONSchema(z.union([blockActionsSchema, viewSubmissionSchema]), {
        target: 'draft-2020-12',
      }),
    }),
});

const agentsAndAdmins = ['agent', 'admin'] as const;
const everyRole = ['agent', 'reviewer', 'admin'] as const;
const admins = ['admin'] as const;

export const OPERATIONS: readonly Operation[] = [
  {
    method: 'GET',
    path: '/healthz',
    operationId: 'health',
    summary: 'Liveness; with `?ready=1` readiness',
    tag: 'health',
    auth: 'none',
    query: readyQuerySchema,
    responses: { 200: ok('Alive (and ready).', healthSchema), ...errors(503) },
  },
  {
    method: 'GET',
    path: '/v1/openapi.json',
    operationId: 'openApiDocument',
    summary: 'This document',
    tag: 'health',
    auth: 'none',
    responses: { 200: ok('The OpenAPI 3.1 document.', z.record(z.string(), z.unknown())) },
  },
  {
    method: 'GET',
    path: '/.well-known/jwks.json',
    operationId: 'jwks',
    summary: 'The public keys of receipts and callbacks',
    tag: 'signatures',
    auth: 'none',
    responses: { 200: ok('A JWK Set; cache it for five minutes.', jwksSchema) },
  },
  {
    method: 'POST',
    path: '/v1/intents',
    operationId: 'createIntent',
    summary: 'Ask for approval',
    tag: 'intents',
    auth: agentsAndAdmins,
    headers: [
      {
        name: 'Idempotency-Key',
        description: '1 to 255 characters: the same key and body again answers the first intent.',
      },
    ],
    body: body('CreateIntentRequest', createIntentSchema),
    responses: {
      200: ok('A replay of an `Idempotency-Key`: the first intent.', intentSchema),
      201: ok('The new intent (already final where an operator’s rule decided).', intentSchema),
      ...errors(400, 401, 403, 409, 413, 429),
    },
  },
  {
    method: 'GET',
    path: '/v1/intents',
    operationId: 'listIntents',
    summary: 'List intents, newest first',
    tag: 'intents',
    auth: everyRole,
    query: listQuerySchema,
    responses: { 200: ok('A page of intents.', intentListSchema), ...errors(400, 401) },
  },
  {
    method: 'GET',
    path: '/v1/intents/{id}',
    operationId: 'getIntent',
    summary: 'Read an intent',
    tag: 'intents',
    auth: everyRole,
    responses: {
      200: ok(
        'The intent. Where the deployment has a wait channel, the `Countersign-Wait-Url` header names its WebSocket URL (subscribe there rather than long-poll: docs/api.md, "Waiting over a WebSocket").',
        intentSchema,
      ),
      ...errors(401, 404),
    },
  },
  {
    method: 'GET',
    path: '/v1/intents/{id}/wait',
    operationId: 'waitForIntent',
    summary: 'Long poll: answers once the intent is final, or after `timeout` seconds',
    tag: 'intents',
    auth: everyRole,
    query: waitQuerySchema,
    responses: {
      200: ok('The intent: final, or still pending after the timeout.', intentSchema),
      ...errors(400, 401, 404),
    },
  },
  {
    method: 'GET',
    path: '/v1/intents/{id}/events',
    operationId: 'listIntentEvents',
    summary: 'The audit trail, oldest first',
    tag: 'intents',
    auth: everyRole,
    responses: { 200: ok('The trail.', eventListSchema), ...errors(401, 404) },
  },
  {
    method: 'POST',
    path: '/v1/intents/{id}/decision',
    operationId: 'decideIntent',
    summary: 'Approve or reject',
    tag: 'intents',
    auth: ['reviewer', 'admin'],
    body: body('DecisionRequest', decisionSchema),
    responses: {
      200: ok('The intent; still pending while a quorum or a later step needs more.', intentSchema),
      ...errors(400, 401, 403, 404, 409),
    },
  },
  {
    method: 'POST',
    path: '/v1/decisions',
    operationId: 'decideMany',
    summary: 'Decide 1 to 100 intents, each as its single decision would',
    tag: 'intents',
    auth: ['reviewer', 'admin'],
    body: body('BulkDecisionRequest', bulkSchema),
    responses: {
      200: ok(
        'One result per item, in order: `status` and `intent`, or `status` and `error`.',
        bulkResultSchema,
      ),
      ...errors(400, 401, 403),
    },
  },
  {
    method: 'POST',
    path: '/v1/intents/{id}/cancel',
    operationId: 'cancelIntent',
    summary: 'Cancel a pending intent',
    tag: 'intents',
    auth: agentsAndAdmins,
    body: body('CancelRequest', cancelSchema),
    responses: { 200: ok('The cancelled intent.', intentSchema), ...errors(400, 401, 404, 409) },
  },
  {
    method: 'POST',
    path: '/v1/teams',
    operationId: 'putTeam',
    summary: 'Create or replace a team',
    tag: 'teams',
    auth: admins,
    body: body('PutTeamRequest', teamSchema),
    responses: {
      200: ok('It replaced a team.', teamViewSchema),
      201: ok('A new team.', teamViewSchema),
      ...errors(400, 401, 403),
    },
  },
  {
    method: 'GET',
    path: '/v1/teams',
    operationId: 'listTeams',
    summary: 'List teams',
    tag: 'teams',
    auth: admins,
    responses: { 200: ok('Every team.', teamListSchema), ...errors(401, 403) },
  },
  {
    method: 'DELETE',
    path: '/v1/teams/{name}',
    operationId: 'deleteTeam',
    summary: 'Delete a team',
    tag: 'teams',
    auth: admins,
    responses: { 200: ok('The deleted team.', teamViewSchema), ...errors(401, 403, 404) },
  },
  {
    method: 'PUT',
    path: '/v1/reviewers/{email}',
    operationId: 'putReviewerProfile',
    summary: 'Set a reviewer’s time zone, working hours or out of office (`me`: the caller)',
    tag: 'reviewers',
    auth: ['reviewer', 'admin'],
    body: body('PutReviewerProfileRequest', profileInputSchema),
    responses: {
      200: ok('The profile as stored.', reviewerProfileSchema),
      201: ok('A first profile.', reviewerProfileSchema),
      ...errors(400, 401, 403),
    },
  },
  {
    method: 'GET',
    path: '/v1/reviewers/{email}',
    operationId: 'getReviewerProfile',
    summary: 'A reviewer’s profile (`me`: the caller)',
    tag: 'reviewers',
    auth: ['reviewer', 'admin'],
    responses: { 200: ok('The profile.', reviewerProfileSchema), ...errors(400, 401, 403) },
  },
  {
    method: 'GET',
    path: '/v1/reviewers',
    operationId: 'listReviewerProfiles',
    summary: 'List reviewer profiles; `out_of_office=true` lists who is away now',
    tag: 'reviewers',
    auth: admins,
    query: z.object({
      out_of_office: z
        .enum(['true', 'false'])
        .optional()
        .describe('true: only those away now; false: only those not away.'),
    }),
    responses: {
      200: ok('The profiles, by email.', reviewerProfileListSchema),
      ...errors(400, 401, 403),
    },
  },
  {
    method: 'POST',
    path: '/v1/keys',
    operationId: 'createKey',
    summary: 'Create an API key',
    tag: 'keys',
    auth: admins,
    body: body('CreateKeyRequest', createKeySchema),
    responses: {
      201: ok('The key’s metadata and the key, shown this once.', createdKeySchema),
      ...errors(400, 401, 403),
    },
  },
  {
    method: 'GET',
    path: '/v1/keys',
    operationId: 'listKeys',
    summary: 'List keys (metadata only)',
    tag: 'keys',
    auth: admins,
    responses: { 200: ok('Every key.', keyListSchema), ...errors(401, 403) },
  },
  {
    method: 'DELETE',
    path: '/v1/keys/{id}',
    operationId: 'revokeKey',
    summary: 'Revoke a key',
    tag: 'keys',
    auth: admins,
    responses: {
      200: ok('The revoked key (the same record when revoked twice).', apiKeySchema),
      ...errors(401, 403, 404),
    },
  },
  {
    method: 'GET',
    path: '/v1/policies',
    operationId: 'listPolicies',
    summary: 'List operator policies',
    tag: 'policies',
    auth: admins,
    responses: {
      200: ok('Stored and configured policies.', policyListSchema),
      ...errors(401, 403),
    },
  },
  {
    method: 'POST',
    path: '/v1/policies/dry-run',
    operationId: 'dryRunPolicy',
    summary: 'What a policy’s rules would have decided for recent intents',
    tag: 'policies',
    auth: admins,
    body: body('PolicyDryRunRequest', dryRunSchema),
    responses: {
      200: ok('One verdict per intent.', policyDryRunResultSchema),
      ...errors(400, 401, 403),
    },
  },
  {
    method: 'PUT',
    path: '/v1/policies/{intent_type}',
    operationId: 'putPolicy',
    summary: 'Create or replace the policy of an intent type pattern',
    tag: 'policies',
    auth: admins,
    body: { id: 'OperatorPolicy', schema: operatorPolicyDocumentSchema },
    responses: {
      200: ok('It replaced a policy.', storedPolicySchema),
      201: ok('A new policy.', storedPolicySchema),
      ...errors(400, 401, 403),
    },
  },
  {
    method: 'GET',
    path: '/v1/policies/{intent_type}',
    operationId: 'getPolicy',
    summary: 'Read a stored policy',
    tag: 'policies',
    auth: admins,
    responses: { 200: ok('The policy.', storedPolicySchema), ...errors(400, 401, 403, 404) },
  },
  {
    method: 'DELETE',
    path: '/v1/policies/{intent_type}',
    operationId: 'deletePolicy',
    summary: 'Delete a stored policy',
    tag: 'policies',
    auth: admins,
    responses: {
      200: ok('The deleted policy.', storedPolicySchema),
      ...errors(400, 401, 403, 404),
    },
  },
  {
    method: 'GET',
    path: '/review/{token}',
    operationId: 'showReviewPage',
    summary: 'The review page behind an email link',
    tag: 'reviewers',
    auth: 'link',
    responses: {
      200: page('The request and, while the reviewer may decide, the form.'),
      404: page('An unknown or expired link.'),
      500: page('A fault; nothing changed.'),
    },
  },
  {
    method: 'HEAD',
    path: '/review/{token}',
    operationId: 'headReviewPage',
    summary: 'As GET, without recording a view',
    tag: 'reviewers',
    auth: 'link',
    responses: { 200: page('As GET.'), 404: page('As GET.') },
  },
  {
    method: 'POST',
    path: '/review/{token}',
    operationId: 'submitReviewForm',
    summary: 'Decide with the review page’s form',
    tag: 'reviewers',
    auth: 'link',
    body: { id: 'ReviewForm', schema: reviewFormSchema, form: true },
    responses: {
      200: page('The decision is recorded; the page as it is now.'),
      400: page('No nonce, or one from another link or step.'),
      404: page('An unknown or expired link.'),
      409: page('Nothing changed: the step or the intent is over.'),
      415: page('Not a form post.'),
      500: page('A fault; nothing changed.'),
    },
  },
  {
    method: 'POST',
    path: '/slack/interactions',
    operationId: 'slackInteraction',
    summary: 'Slack’s interactivity URL: button clicks and the Reject modal',
    tag: 'reviewers',
    auth: 'slack',
    body: { id: 'SlackInteraction', schema: slackFormSchema, form: true },
    responses: {
      200: {
        description: 'Empty, or a modal’s `response_action`.',
        json: z.record(z.string(), z.unknown()),
        mayBeEmpty: true,
      },
      ...errors(400, 401, 404),
    },
  },
  ...inboxOperations(),
  ...(['POST', 'GET', 'DELETE'] as const).map(
    (method): Operation => ({
      method,
      path: '/mcp',
      operationId: `mcp${method.charAt(0)}${method.slice(1).toLowerCase()}`,
      summary:
        method === 'POST'
          ? 'The MCP server (Streamable HTTP, stateless, JSON answers)'
          : 'No stream and no session: 405',
      tag: 'mcp',
      auth: everyRole,
      ...(method === 'POST'
        ? { body: { id: 'JsonRpcRequest', schema: jsonRpcRequestSchema } }
        : {}),
      responses: {
        ...(method === 'POST'
          ? {
              200: ok('The JSON-RPC answer.', jsonRpcResponseSchema),
              202: { description: 'A notification, accepted.', mayBeEmpty: true as const },
              400: ok('Malformed JSON-RPC.', jsonRpcResponseSchema),
            }
          : { 405: ok('Not allowed: send JSON-RPC with POST.', jsonRpcResponseSchema) }),
        ...errors(401),
      },
    }),
  ),
];

/** The inbox's HTML pages: forms in, pages (or a 303 to the next page) out. */
function inboxOperations(): Operation[] {
  const redirect: ResponseSpec = {
    description: 'See the next page (`Location`).',
    mayBeEmpty: true,
  };
  const refusals = {
    403: page('The form did not come from the inbox, or its CSRF token is stale. Nothing changed.'),
    404: page('No such page, or an intent not waiting for this reviewer.'),
    415: page('Not a form post.'),
    500: page('A fault; nothing changed.'),
  };
  const form = (id: string, fields: z.ZodObject) => ({ id, schema: fields, form: true as const });
  const csrf = z.string().describe('The session’s CSRF token, from the page’s form.');
  const view = (path: string, operationId: string, summary: string): Operation[] =>
    (['GET', 'HEAD'] as const).map((method) => ({
      method,
      path,
      operationId: method === 'GET' ? operationId : `${operationId}Head`,
      summary: method === 'GET' ? summary : `${summary} (headers only)`,
      tag: 'inbox',
      auth: 'session',
      responses: {
        200: page('The page.'),
        303: redirect,
        404: refusals[404],
        410: page('A used or expired sign-in link.'),
        500: refusals[500],
      },
    }));
  return [
    ...view('/inbox', 'showInbox', 'What waits for the signed-in reviewer; else the sign-in form'),
    ...view(
      '/inbox/sign-in/{token}',
      'showSignInLink',
      'The emailed sign-in link: a button, never a sign-in',
    ),
    ...view('/inbox/intents/{id}', 'showInboxIntent', 'One intent, with its decision forms'),
    ...view('/inbox/me', 'showInboxAvailability', 'The reviewer’s own availability, as a form'),
    {
      method: 'POST',
      path: '/inbox/me',
      operationId: 'saveInboxAvailability',
      summary: 'Save the reviewer’s own time zone, working hours and out of office',
      tag: 'inbox',
      auth: 'session',
      body: form(
        'InboxAvailabilityForm',
        z.object({
          csrf,
          time_zone: z.string().describe('An IANA time zone (Europe/Berlin).'),
          ...Object.fromEntries(
            WEEKDAYS.map((day) => [
              `hours_${day}`,
              z
                .string()
                .optional()
                .describe('Comma-separated `HH:MM-HH:MM` ranges; empty: not working that day.'),
            ]),
          ),
          ooo_from: z.string().optional().describe('`YYYY-MM-DDTHH:MM` in the time zone.'),
          ooo_until: z.string().optional().describe('`YYYY-MM-DDTHH:MM` in the time zone.'),
          ooo_delegate: z.string().optional().describe('Who decides meanwhile (an email).'),
        }),
      ),
      responses: {
        200: page('The form, saved.'),
        303: redirect,
        400: page('The form with each invalid field marked. Nothing saved.'),
        ...refusals,
      },
    },
    {
      method: 'POST',
      path: '/inbox/sign-in',
      operationId: 'requestSignIn',
      summary: 'Email a sign-in link; the same answer for any address',
      tag: 'inbox',
      auth: 'none',
      body: form('InboxSignInForm', z.object({ email: z.string() })),
      responses: {
        200: page('“Check your email”.'),
        400: page('Not an email address.'),
        ...refusals,
      },
    },
    {
      method: 'POST',
      path: '/inbox/sign-in/{token}',
      operationId: 'completeSignIn',
      summary: 'Sign in with the emailed link’s button; sets the session cookie',
      tag: 'inbox',
      auth: 'link',
      responses: {
        200: page('Signed in.'),
        303: redirect,
        410: page('A used or expired sign-in link.'),
        ...refusals,
      },
    },
    {
      method: 'POST',
      path: '/inbox/sign-out',
      operationId: 'signOut',
      summary: 'End the session',
      tag: 'inbox',
      auth: 'session',
      body: form('InboxSignOutForm', z.object({ csrf })),
      responses: { 200: page('Signed out; the sign-in form.'), 303: redirect, ...refusals },
    },
    {
      method: 'POST',
      path: '/inbox/intents/{id}',
      operationId: 'decideInInbox',
      summary: 'Approve, reject with a reason, or edit and approve one intent',
      tag: 'inbox',
      auth: 'session',
      body: form(
        'InboxDecisionForm',
        z.object({
          csrf,
          outcome: z.enum(['approve', 'reject']),
          comment: z.string().max(2000).optional(),
          step: z.string().describe('The step the page showed.'),
          version: z.string().describe('The payload version the page showed.'),
          edit: z.literal('1').optional().describe('Present: apply the edit form’s fields.'),
        }),
      ),
      responses: {
        200: page('The intent as it is now, with what happened.'),
        303: redirect,
        400: page('No outcome, or an edit the intent does not allow. Nothing changed.'),
        409: page('The step or the intent is over, or it was edited since shown. Nothing changed.'),
        ...refusals,
      },
    },
    ...(
      [
        ['/inbox/bulk', 'confirmInboxBulk', 'The confirmation listing the chosen intents'],
        [
          '/inbox/bulk/decide',
          'decideInboxBulk',
          'Decide the confirmed intents; a result per item',
        ],
      ] as const
    ).map(
      ([path, operationId, summary]): Operation => ({
        method: 'POST',
        path,
        operationId,
        summary,
        tag: 'inbox',
        auth: 'session',
        body: form(
          operationId === 'confirmInboxBulk' ? 'InboxBulkForm' : 'InboxBulkDecideForm',
          z.object({
            csrf,
            outcome: z.enum(['approve', 'reject']),
            id: z.array(z.string()).describe('The chosen intents, one `id` field each.'),
            comment: z.string().max(2000).optional(),
          }),
        ),
        responses: {
          200: page('The confirmation, or the results.'),
          303: redirect,
          400: page('Nothing chosen, or a rejection without a reason.'),
          ...refusals,
        },
      }),
    ),
  ];
}
