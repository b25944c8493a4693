/**
 * What the deployment signs: the receipt of a final intent, and the claims of a callback. The
 * receipt names the decision, the agents, the payload asked about (its RFC 8785 SHA-256) and the
 * trail up to the final event, so that anyone holding the deployment's public key can check a
 * decision without trusting the database it came from. Claims and JWS encoding are the SDK's
 * (`sdk/src/signatures.ts`), so that what is signed and what clients verify are one code.
 */
import { createHash } from 'node:crypto';
import { payloadSha256 } from '../../sdk/src/audit';
import type { CallbackClaims, ReceiptClaims } from '../../sdk/src/signatures';
import { currentPayload, type IntentState } from './intent';

export {
  CALLBACK_JWS_HEADER,
  type CallbackClaims,
  encodeJws,
  type JsonWebKeySet,
  JWS_TYPES,
  type PublicJwk,
  type ReceiptClaims,
} from '../../sdk/src/signatures';

/**
 * The receipt's claims for an intent that has just left `pending`, with its final event sealed
 * (`event_count` and `last_event_hash` are the trail's at that event). `payload_sha256` is the
 * hash of the payload as asked; `approved_payload_sha256` that of the payload as approved (the
 * reviewers' edits applied, `approved_payload`; the payload's own hash where nobody edited) when
 * the outcome is `approved` (a timeout whose action is approve included), else null.
 */
export function receiptClaims(intent: IntentState): ReceiptClaims {
  const { decision } = intent;
  if (intent.status === 'pending' || decision === null) {
    throw new Error(`intent ${intent.id} is not final: it has no receipt`);
  }
  const payloadHash = payloadSha256(intent.payload);
  return {
    intent_id: intent.id,
    status: intent.status,
    outcome: decision.outcome,
    by: decision.by,
    at: decision.at,
    from_agent: intent.from_agent,
    to_agent: intent.to_agent,
    intent_type: intent.intent_type,
    payload_sha256: payloadHash,
    approved_payload_sha256:
      decision.outcome === 'approved' ? payloadSha256(currentPayload(intent)) : null,
    event_count: intent.event_count,
    last_event_hash: intent.last_event_hash,
  };
}

/** The claims of one callback request: the body sent to `url` at `timestamp` (unix seconds). */
export function callbackClaims(
  intentId: string,
  url: string,
  rawBody: string,
  timestamp: number,
): CallbackClaims {
  return {
    intent_id: intentId,
    iat: timestamp,
    url,
    body_sha256: createHash('sha256').update(rawBody, 'utf8').digest('hex'),
  };
}
