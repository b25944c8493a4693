/**
 * The contract's response bodies as zod schemas, for the OpenAPI document (requests are
 * described by the schemas the handlers validate with, next to them in `core/` and `domain/`).
 * Each named schema is registered in `contractSchemas` under its component name;
 * `test/contract/types.test.ts` checks that each describes exactly its type in
 * `sdk/src/types.ts`, so the document, the server and the SDK cannot drift apart.
 */
import { z } from 'zod';
import type { KnownAuditEventType, KnownErrorCode } from '../../sdk/src/types';
import { INTENT_STATUSES, NOTIFICATION_CHANNELS } from '../domain/intent';
import { operatorPolicySchema } from '../domain/operator-policy';

/** Component name of every schema the document names (`#/components/schemas/<id>`). */
export const contractSchemas = z.registry<{ id: string; description?: string }>();

function named<T extends z.ZodType>(id: string, schema: T, description?: string): T {
  contractSchemas.add(schema, description === undefined ? { id } : { id, description });
  return schema;
}

const time = z.iso.datetime();
const jsonObject = z.record(z.string(), z.unknown());
/** Values reviewers changed, by JSON Pointer into the payload as asked. */
const edits = z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]));

export const KNOWN_AUDIT_EVENT_TYPES = [
  'created',
  'notified',
  'reminded',
  'reminder_held',
  'delegated',
  'escalated',
  'viewed',
  'approval',
  'rejection',
  'step_completed',
  'step_restarted',
  'approved',
  'rejected',
  'timed_out',
  'cancelled',
  'callback_sent',
  'notification_failed',
] as const satisfies readonly KnownAuditEventType[];

export const KNOWN_ERROR_CODES = [
  'invalid_request',
  'validation_failed',
  'unauthenticated',
  'forbidden',
  'not_a_reviewer',
  'not_found',
  'already_decided',
  'already_voted',
  'idempotency_conflict',
  'not_pending',
  'step_over',
  'policy_violation',
  'payload_too_large',
  'rate_limited',
  'unavailable',
  'internal',
] as const satisfies readonly KnownErrorCode[];

const decisionChannel = z.enum(['email', 'slack', 'cli', 'api', 'web', 'timeout', 'rule']);

const resolvedPolicySchema = named(
  'ResolvedPolicy',
  z.object({
    remind_after: z.array(z.number()),
    escalate: z.array(z.object({ after: z.number(), to: z.array(z.string()) })),
    timeout: z.object({ after: z.number(), action: z.enum(['reject', 'approve']) }),
    required_approvals: z.number(),
    steps: z
      .array(z.object({ reviewers: z.array(z.string()), required_approvals: z.number() }))
      .nullable(),
    channels: z.array(z.enum(NOTIFICATION_CHANNELS)),
    remind_in_working_hours: z.boolean().optional(),
  }),
  'The policy as stored on the intent: defaults filled in, durations in whole seconds.',
);

export const intentSchema = named(
  'Intent',
  z.object({
    id: z.string(),
    intent_type: z.string(),
    to_agent: z.string(),
    from_agent: z.string(),
    summary: z.string(),
    payload: jsonObject,
    status: z.enum(INTENT_STATUSES),
    policy: resolvedPolicySchema,
    recipients: z.array(z.string()),
    approvals: z.array(
      z.object({
        by: z.string(),
        at: time,
        comment: z.string().nullable(),
        channel: decisionChannel,
        step: z.number(),
        payload_version: z.number().optional(),
        on_behalf_of: z.string().optional(),
      }),
    ),
    decision: z
      .object({
        outcome: z.enum(['approved', 'rejected', 'cancelled']),
        by: z.string(),
        at: time,
        comment: z.string().nullable(),
        channel: decisionChannel,
        edits: edits.optional(),
        on_behalf_of: z.string().optional(),
      })
      .nullable(),
    callback_url: z.string().nullable(),
    step: z.number(),
    created_at: time,
    updated_at: time,
    deadline_at: time,
    next_action_at: time.nullable(),
    event_count: z.number(),
    last_event_hash: z.string(),
    approved_payload: jsonObject.nullable().optional(),
    editable: z.array(z.string()).optional(),
    edits: edits.optional(),
    payload_version: z.number().optional(),
    receipt: z.string().optional(),
    added_by_request: z.array(z.string()).optional(),
  }),
  'An agent’s action that waits for human approval.',
);

export const intentListSchema = named(
  'IntentList',
  z.object({ items: z.array(intentSchema), next_cursor: z.string().nullable() }),
);

export const auditEventSchema = named(
  'AuditEvent',
  z.object({
    seq: z.number(),
    type: z.enum(KNOWN_AUDIT_EVENT_TYPES),
    at: time,
    actor: z.string(),
    channel: z.string(),
    data: jsonObject,
    prev_hash: z.string(),
    hash: z.string(),
  }),
  'One entry of the hash-chained audit trail.',
);

export const eventListSchema = named('EventList', z.object({ items: z.array(auditEventSchema) }));

export const errorBodySchema = named(
  'ErrorBody',
  z.object({
    error: z.object({
      code: z.enum(KNOWN_ERROR_CODES),
      message: z.string(),
      details: z.array(z.object({ field: z.string(), message: z.string() })),
      intent: intentSchema.optional(),
    }),
  }),
  'Every error of the API.',
);

export const bulkResultSchema = named(
  'BulkDecisionResults',
  z.object({
    results: z.array(
      z.union([
        z.object({ intent_id: z.string(), status: z.literal(200), intent: intentSchema }),
        z.object({
          intent_id: z.string(),
          status: z.number().int().min(400),
          error: errorBodySchema.shape.error,
        }),
      ]),
    ),
  }),
  'One result per item of `POST /v1/decisions`, in the order asked.',
);

const keyQuota = z.object({
  intents_per_hour: z.number().optional(),
  notifications_per_hour: z.number().optional(),
});

export const apiKeySchema = named(
  'ApiKey',
  z.object({
    id: z.string(),
    role: z.enum(['agent', 'reviewer', 'admin']),
    principal: z.string(),
    prefix: z.string(),
    created_at: time,
    revoked_at: time.nullable(),
    intent_types: z.array(z.string()).optional(),
    quota: keyQuota.nullable().optional(),
  }),
  'An API key’s metadata; never the key.',
);

export const createdKeySchema = named(
  'CreatedKey',
  apiKeySchema.extend({ key: z.string() }),
  'A new key: its metadata and the key, shown this once.',
);

export const keyListSchema = named('KeyList', z.object({ items: z.array(apiKeySchema) }));

export const teamViewSchema = named(
  'Team',
  z.object({
    name: z.string(),
    members: z.array(z.string()),
    slack_channel: z.string().nullable(),
    updated_at: time,
  }),
);

export const teamListSchema = named('TeamList', z.object({ items: z.array(teamViewSchema) }));

const workingHours = z.partialRecord(
  z.enum(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun']),
  z.array(z.string()),
);

export const reviewerProfileSchema = named(
  'ReviewerProfile',
  z.object({
    email: z.string(),
    time_zone: z.string(),
    working_hours: workingHours.nullable(),
    out_of_office: z.object({ from: time, until: time, delegate: z.string() }).nullable(),
    updated_at: time.nullable(),
    updated_by: z.string().nullable(),
  }),
  'A reviewer’s availability; `updated_at` is null for one who never set a profile.',
);

export const reviewerProfileListSchema = named(
  'ReviewerProfileList',
  z.object({ items: z.array(reviewerProfileSchema) }),
);

export const operatorPolicyDocumentSchema = named(
  'OperatorPolicy',
  operatorPolicySchema,
  'An operator policy as an admin writes it (every field optional).',
);

export const storedPolicySchema = named(
  'StoredPolicy',
  operatorPolicySchema.extend({
    intent_type: z.string(),
    version: z.number(),
    updated_at: time,
    updated_by: z.string(),
  }),
  'A stored policy: the admin’s document with its pattern and version.',
);

export const policyListSchema = named(
  'PolicyList',
  z.object({
    items: z.array(storedPolicySchema.extend({ source: z.literal('api') })),
    configured: z.array(z.object({ intent_type: z.string(), source: z.literal('config') })),
  }),
);

export const policyDryRunResultSchema = named(
  'PolicyDryRunResult',
  z.object({
    items: z.array(
      z.object({
        id: z.string(),
        created_at: time,
        would: z.enum(['approve', 'reject', 'ask']),
        rule: z.string().nullable(),
      }),
    ),
    summary: z.object({
      total: z.number(),
      approve: z.number(),
      reject: z.number(),
      ask: z.number(),
    }),
  }),
);

export const healthSchema = named(
  'Health',
  z.object({ ok: z.boolean(), ready: z.boolean().optional() }),
);

export const jwksSchema = named(
  'JsonWebKeySet',
  z.object({
    keys: z.array(
      z.object({
        kty: z.string(),
        kid: z.string(),
        alg: z.string().optional(),
        use: z.string().optional(),
        crv: z.string().optional(),
        x: z.string().optional(),
        y: z.string().optional(),
      }),
    ),
  }),
  'The public keys that verify receipts and callbacks.',
);

const jsonRpcId = z.union([z.string(), z.number(), z.null()]);

export const jsonRpcRequestSchema = named(
  'JsonRpcRequest',
  z.object({
    jsonrpc: z.literal('2.0'),
    method: z.string(),
    params: z.record(z.string(), z.unknown()).optional(),
    id: jsonRpcId.optional(),
  }),
  'An MCP message (JSON-RPC 2.0): initialize, tools/list, tools/call, notifications.',
);

const jsonRpcResponse = z.object({
  jsonrpc: z.literal('2.0'),
  id: jsonRpcId,
  result: z.record(z.string(), z.unknown()).optional(),
  error: z
    .object({ code: z.number(), message: z.string(), data: z.unknown().optional() })
    .optional(),
});

export const jsonRpcResponseSchema = named(
  'JsonRpcResponse',
  z.union([jsonRpcResponse, z.array(jsonRpcResponse)]),
  'The answer of an MCP message (one, or one per message of a batch).',
);
