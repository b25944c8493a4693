/**
 * `@countersign/sdk`: the TypeScript client for the Countersign human-approval API.
 *
 * @example
 * ```ts
 * import { CountersignClient } from '@countersign/sdk';
 *
 * const client = new CountersignClient({ baseUrl, apiKey });
 * const id = await client.sendIntent({ intent_type: 'intent.report.review_approval.v1',
 *   to_agent: 'agent://myorg/production/report-generator',
 *   payload: { report: 'Q1 Financial Summary', pii_detected: false, reviewer: 'cfo@company.com' } });
 * const result = await client.waitFor(id);
 * ```
 *
 * @packageDocumentation
 */
export {
  ApprovalRejectedError,
  type RejectedStatus,
  type WithApprovalOptions,
  withApproval,
} from './approval.js';
export {
  canonicalize,
  GENESIS_HASH,
  hashAuditEvent,
  type IntentForTrail,
  payloadSha256,
  type TrailBroken,
  type TrailHead,
  type TrailIntact,
  type TrailProblem,
  type TrailVerification,
  verifyIntentTrail,
  verifyTrail,
} from './audit.js';
export {
  CountersignClient,
  type CountersignClientOptions,
  type CreateIntentOptions,
  type RequestOptions,
  type WaitForOptions,
} from './client.js';
export {
  CountersignError,
  type CountersignErrorOptions,
  CountersignNetworkError,
  type ErrorCode,
  isCountersignError,
  WaitTimeoutError,
} from './errors.js';
export type { FetchFunction, SleepFunction } from './http.js';
export {
  CALLBACK_JWS_HEADER,
  type CallbackClaims,
  type CallbackVerification,
  encodeJws,
  fetchJwks,
  type IntentForReceipt,
  type JsonWebKeySet,
  JWKS_PATH,
  JWS_TYPES,
  type JwsVerification,
  type KeySource,
  type KeySourceOptions,
  type PublicJwk,
  type ReceiptClaims,
  type ReceiptVerification,
  type VerifyCallbackOptions,
  type VerifyReceiptOptions,
  verifyCallback,
  verifyJws,
  verifyReceipt,
} from './signatures.js';
export type * from './types.js';
export { SDK_VERSION } from './version.js';
export type { WaitSocket, WaitSocketConstructor } from './wait-channel.js';
export {
  SIGNATURE_HEADER,
  signWebhook,
  type VerifyWebhookOptions,
  verifyWebhookSignature,
  type WebhookVerification,
} from './webhooks.js';
