/**
 * The deprecated HMAC signature of callbacks, sent for one more release. Its secret is shared by
 * every agent of a deployment, so any agent can sign a callback another agent's receiver would
 * accept: verify the `Countersign-JWS` header with `verifyCallback` (`signatures.ts`) instead.
 *
 * When an intent leaves `pending` and has a
 * `callback_url`, Countersign POSTs the final intent there with the header
 * `Countersign-Signature: t=<unix seconds>,v1=<hex>`, where `<hex>` is the HMAC-SHA256 of
 * `"<t>.<raw body>"` under the deployment's webhook signing secret. The server signs with
 * {@link signWebhook} from this module, so the two cannot disagree.
 *
 * @packageDocumentation
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** The name of the header that carries the signature. */
export const SIGNATURE_HEADER = 'Countersign-Signature';

/** The header value for `rawBody` sent at `timestamp` (unix seconds). */
export function signWebhook(rawBody: string, secret: string, timestamp: number): string {
  return `t=${timestamp},v1=${webhookMac(rawBody, secret, timestamp)}`;
}

function webhookMac(rawBody: string, secret: string, timestamp: number): string {
  return createHmac('sha256', secret).update(`${timestamp}.${rawBody}`, 'utf8').digest('hex');
}

export type WebhookVerification = { ok: true; timestamp: number } | { ok: false; reason: string };

export interface VerifyWebhookOptions {
  /** The receiver's clock, in milliseconds. Default `Date.now()`. */
  now?: number;
  /** How far `t` may be from `now` before the request counts as a replay. Default 300 s. */
  toleranceSeconds?: number;
}

/**
 * @deprecated The HMAC secret is shared by every agent of a deployment; use `verifyCallback`.
 *
 * Checks a callback's `Countersign-Signature` header against the raw body, as received and
 * before any JSON parsing, with a constant-time comparison, and refuses a timestamp outside the
 * tolerance (a replay). Several `v1=` values are accepted (any may match), for secret rotation.
 *
 * @example
 * ```ts
 * const verdict = verifyWebhookSignature(req.headers['countersign-signature'], rawBody, secret);
 * if (!verdict.ok) return res.writeHead(401).end();
 * const intent = JSON.parse(rawBody) as Intent; // final: approved, rejected, timed_out or cancelled
 * ```
 */
export function verifyWebhookSignature(
  header: string | undefined,
  rawBody: string,
  secret: string,
  options: VerifyWebhookOptions = {},
): WebhookVerification {
  if (!header) return { ok: false, reason: `missing ${SIGNATURE_HEADER} header` };
  let timestamp: number | undefined;
  const signatures: string[] = [];
  for (const part of header.split(',')) {
    const [key, value] = part.trim().split('=', 2);
    if (key === 't' && value && /^\d{1,12}$/.test(value)) timestamp = Number(value);
    if (key === 'v1' && value && /^[0-9a-f]{64}$/i.test(value)) signatures.push(value);
  }
  if (timestamp === undefined || signatures.length === 0) {
    return { ok: false, reason: 'the header needs t=<unix seconds> and v1=<hex>' };
  }
  const now = Math.floor((options.now ?? Date.now()) / 1000);
  if (Math.abs(now - timestamp) > (options.toleranceSeconds ?? 300)) {
    return { ok: false, reason: 'the timestamp is outside the tolerance' };
  }
  const expected = Buffer.from(webhookMac(rawBody, secret, timestamp), 'hex');
  const matches = signatures.some((candidate) =>
    timingSafeEqual(Buffer.from(candidate, 'hex'), expected),
  );
  return matches ? { ok: true, timestamp } : { ok: false, reason: 'the signature does not match' };
}
