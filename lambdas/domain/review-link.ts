import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Review links carry a signed token bound to one intent and one reviewer, expiring with the
 * intent. The signature proves who the link was sent to; single use is enforced by the intent's
 * own state (a reviewer votes once), not by the token. The task token never appears in a URL.
 */
export interface ReviewLinkClaims {
  intentId: string;
  reviewer: string;
  /** Expiry, seconds since the epoch. */
  expiresAt: number;
}

export function signReviewLink(claims: ReviewLinkClaims, secret: string): string {
  const body = Buffer.from(
    JSON.stringify({ i: claims.intentId, r: claims.reviewer, e: claims.expiresAt }),
    'utf8',
  ).toString('base64url');
  return `${body}.${mac(body, secret)}`;
}

export type LinkVerdict =
  | { ok: true; claims: ReviewLinkClaims }
  | { ok: false; reason: 'malformed' | 'bad_signature' | 'expired' };

export function verifyReviewLink(token: string, secret: string, nowSeconds: number): LinkVerdict {
  const [body, signature, extra] = token.split('.');
  if (!body || !signature || extra !== undefined || token.length > 2000) {
    return { ok: false, reason: 'malformed' };
  }
  const expected = Buffer.from(mac(body, secret), 'utf8');
  const given = Buffer.from(signature, 'utf8');
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
    return { ok: false, reason: 'bad_signature' };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  if (
    !parsed ||
    typeof parsed !== 'object' ||
    !('i' in parsed && typeof parsed.i === 'string') ||
    !('r' in parsed && typeof parsed.r === 'string') ||
    !('e' in parsed && typeof parsed.e === 'number')
  ) {
    return { ok: false, reason: 'malformed' };
  }
  if (parsed.e <= nowSeconds) return { ok: false, reason: 'expired' };
  return { ok: true, claims: { intentId: parsed.i, reviewer: parsed.r, expiresAt: parsed.e } };
}

function mac(body: string, secret: string): string {
  return createHmac('sha256', secret).update(`review-link.v1.${body}`).digest('base64url');
}
