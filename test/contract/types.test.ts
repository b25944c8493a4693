/**
 * One set of contract types: the server's, the SDK's and the console's views of the intent, the
 * audit event, the error codes and the outbox item are the same types, and the schemas of the
 * OpenAPI document (requests as the handlers validate them, answers as `lambdas/openapi/schemas`
 * describe them) accept exactly those types. Checked by the type checker (`npm run typecheck`
 * covers `test/`): a field added to one side only fails it.
 */
import { describe, expectTypeOf, it } from 'vitest';
import type { z } from 'zod';
import type { createKeySchema, teamSchema } from '../../lambdas/core/admin';
import type { cancelSchema, decisionSchema, listQuerySchema } from '../../lambdas/core/intents';
import type { dryRunSchema } from '../../lambdas/core/policies';
import type { KeyQuota as ServerKeyQuota, Team as ServerTeam } from '../../lambdas/core/ports';
import type { AuditEvent as ServerAuditEvent } from '../../lambdas/domain/audit';
import type { createIntentSchema } from '../../lambdas/domain/create';
import type { DomainErrorCode, FieldIssue } from '../../lambdas/domain/errors';
import type {
  INTENT_STATUSES,
  IntentView,
  NOTIFICATION_CHANNELS,
  PendingNotification,
} from '../../lambdas/domain/intent';
import type {
  apiKeySchema,
  auditEventSchema,
  createdKeySchema,
  errorBodySchema,
  healthSchema,
  intentListSchema,
  intentSchema,
  jwksSchema,
  KNOWN_AUDIT_EVENT_TYPES,
  KNOWN_ERROR_CODES,
  keyListSchema,
  policyDryRunResultSchema,
  policyListSchema,
  reviewerProfileSchema,
  storedPolicySchema,
  teamListSchema,
  teamViewSchema,
} from '../../lambdas/openapi/schemas';
import type {
  AuditEvent as ConsoleAuditEvent,
  Intent as ConsoleIntent,
  OutboxItem as ConsoleOutboxItem,
} from '../../local/console/client';
import type { OutboxItem } from '../../local/outbox';
import type { JsonWebKeySet } from '../../sdk/src/signatures';
import type {
  ApiKey,
  AuditEvent,
  CancelRequest,
  CreatedKey,
  CreateIntentRequest,
  CreateKeyRequest,
  DecisionRequest,
  ErrorBody,
  ErrorDetail,
  HealthResponse,
  Intent,
  IntentStatus,
  KeyQuota,
  KnownAuditEventType,
  KnownErrorCode,
  ListIntentsQuery,
  ListIntentsResponse,
  ListKeysResponse,
  ListPoliciesResponse,
  ListTeamsResponse,
  NotificationChannel,
  NotificationKind,
  PolicyDryRunRequest,
  PolicyDryRunResponse,
  PutTeamRequest,
  ReviewerProfile,
  StoredPolicy,
  Team,
} from '../../sdk/src/types';

/** What a schema accepts (the document describes the input side). */
type Accepts<T extends z.ZodType> = z.input<T>;

describe('the server, the SDK and the console share the contract types', () => {
  it('the intent', () => {
    expectTypeOf<IntentView>().toEqualTypeOf<Intent>();
    expectTypeOf<ConsoleIntent>().toEqualTypeOf<Intent>();
    expectTypeOf<(typeof INTENT_STATUSES)[number]>().toEqualTypeOf<IntentStatus>();
    expectTypeOf<(typeof NOTIFICATION_CHANNELS)[number]>().toEqualTypeOf<NotificationChannel>();
    expectTypeOf<PendingNotification['kind']>().toEqualTypeOf<
      Exclude<NotificationKind, 'sign_in'>
    >();
  });

  it('the audit event', () => {
    expectTypeOf<ServerAuditEvent>().toEqualTypeOf<AuditEvent<KnownAuditEventType>>();
    expectTypeOf<ConsoleAuditEvent>().toEqualTypeOf<AuditEvent>();
    // The SDK's open union accepts every type the server writes.
    expectTypeOf<ServerAuditEvent>().toExtend<AuditEvent>();
  });

  it('the error codes', () => {
    expectTypeOf<DomainErrorCode | 'internal' | 'unavailable'>().toEqualTypeOf<KnownErrorCode>();
    expectTypeOf<FieldIssue>().toEqualTypeOf<ErrorDetail>();
  });

  it('keys and teams', () => {
    expectTypeOf<ServerTeam>().toEqualTypeOf<Team>();
    expectTypeOf<ServerKeyQuota>().toEqualTypeOf<KeyQuota>();
  });

  it('the outbox item', () => {
    // The console reads it as served, with the Slack block shape it renders.
    expectTypeOf<Omit<ConsoleOutboxItem, 'slack'>>().toEqualTypeOf<Omit<OutboxItem, 'slack'>>();
    expectTypeOf<ConsoleOutboxItem>().toExtend<OutboxItem>();
  });
});

describe('the OpenAPI schemas describe exactly the contract types', () => {
  it('answers', () => {
    expectTypeOf<Accepts<typeof intentSchema>>().toEqualTypeOf<Intent>();
    expectTypeOf<Accepts<typeof intentListSchema>>().toEqualTypeOf<ListIntentsResponse>();
    expectTypeOf<Accepts<typeof auditEventSchema>>().toEqualTypeOf<
      AuditEvent<KnownAuditEventType>
    >();
    expectTypeOf<(typeof KNOWN_AUDIT_EVENT_TYPES)[number]>().toEqualTypeOf<KnownAuditEventType>();
    expectTypeOf<Accepts<typeof errorBodySchema>>().toEqualTypeOf<ErrorBody<KnownErrorCode>>();
    expectTypeOf<(typeof KNOWN_ERROR_CODES)[number]>().toEqualTypeOf<KnownErrorCode>();
    expectTypeOf<Accepts<typeof apiKeySchema>>().toEqualTypeOf<ApiKey>();
    expectTypeOf<Accepts<typeof createdKeySchema>>().toEqualTypeOf<CreatedKey>();
    expectTypeOf<Accepts<typeof reviewerProfileSchema>>().toEqualTypeOf<ReviewerProfile>();
    expectTypeOf<Accepts<typeof keyListSchema>>().toEqualTypeOf<ListKeysResponse>();
    expectTypeOf<Accepts<typeof teamViewSchema>>().toEqualTypeOf<Team>();
    expectTypeOf<Accepts<typeof teamListSchema>>().toEqualTypeOf<ListTeamsResponse>();
    expectTypeOf<Accepts<typeof storedPolicySchema>>().toEqualTypeOf<StoredPolicy>();
    // The SDK spells an item as an intersection, which `toEqualTypeOf` tells apart: both ways.
    expectTypeOf<Accepts<typeof policyListSchema>>().toExtend<ListPoliciesResponse>();
    expectTypeOf<ListPoliciesResponse>().toExtend<Accepts<typeof policyListSchema>>();
    expectTypeOf<Accepts<typeof policyDryRunResultSchema>>().toEqualTypeOf<PolicyDryRunResponse>();
    expectTypeOf<Accepts<typeof healthSchema>>().toEqualTypeOf<HealthResponse>();
    // `kty` and `alg` name known values beside any string: the same set both ways.
    expectTypeOf<Accepts<typeof jwksSchema>>().toExtend<JsonWebKeySet>();
    expectTypeOf<JsonWebKeySet>().toExtend<Accepts<typeof jwksSchema>>();
  });

  it('requests, as the handlers validate them', () => {
    expectTypeOf<Accepts<typeof createIntentSchema>>().toEqualTypeOf<CreateIntentRequest>();
    expectTypeOf<Accepts<typeof decisionSchema>>().toEqualTypeOf<DecisionRequest>();
    expectTypeOf<Accepts<typeof cancelSchema>>().toEqualTypeOf<CancelRequest>();
    expectTypeOf<Accepts<typeof createKeySchema>>().toEqualTypeOf<CreateKeyRequest>();
    expectTypeOf<Accepts<typeof teamSchema>>().toEqualTypeOf<PutTeamRequest>();
    expectTypeOf<Accepts<typeof dryRunSchema>>().toEqualTypeOf<PolicyDryRunRequest>();
    expectTypeOf<z.output<typeof listQuerySchema>>().toEqualTypeOf<ListIntentsQuery>();
  });
});
