import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Slack signs every request to the interactivity URL: `X-Slack-Signature: v0=<hex>` is
 * HMAC-SHA256 under the app's signing secret over `v0:<X-Slack-Request-Timestamp>:<raw body>`.
 * The body must be the bytes Slack sent (before any form parsing), the comparison is constant
 * time, and a timestamp more than five minutes away from now is refused, so that a captured
 * request cannot be replayed later. Within the window a replay changes nothing either: a vote
 * is recorded once (see docs/api.md).
 */
const SLACK_SIGNATURE_TOLERANCE_SECONDS = 5 * 60;

export type SlackSignatureVerdict =
  | { ok: true }
  | { ok: false; reason: 'missing' | 'malformed' | 'stale' | 'bad_signature' };

export function verifySlackSignature(input: {
  signingSecret: string;
  timestamp: string | undefined;
  signature: string | undefined;
  rawBody: Uint8Array | string;
  nowSeconds: number;
  toleranceSeconds?: number;
}): SlackSignatureVerdict {
  const { timestamp, signature } = input;
  if (!timestamp || !signature) return { ok: false, reason: 'missing' };
  if (!/^\d{1,12}$/.test(timestamp) || !/^v0=[0-9a-f]{64}$/i.test(signature)) {
    return { ok: false, reason: 'malformed' };
  }
  const tolerance = input.toleranceSeconds ?? SLACK_SIGNATURE_TOLERANCE_SECONDS;
  if (Math.abs(input.nowSeconds - Number(timestamp)) > tolerance) {
    return { ok: false, reason: 'stale' };
  }
  const expected = Buffer.from(
    slackSignature(input.signingSecret, timestamp, input.rawBody).slice(3),
    'hex',
  );
  const given = Buffer.from(signature.slice(3), 'hex');
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
    return { ok: false, reason: 'bad_signature' };
  }
  return { ok: true };
}

/** `v0=<hex>` for a timestamp and raw body, as Slack computes it. */
export function slackSignature(
  signingSecret: string,
  timestamp: string,
  rawBody: Uint8Array | string,
): string {
  const hmac = createHmac('sha256', signingSecret).update(`v0:${timestamp}:`, 'utf8');
  hmac.update(typeof rawBody === 'string' ? Buffer.from(rawBody, 'utf8') : rawBody);
  return `v0=${hmac.digest('hex')}`;
}
