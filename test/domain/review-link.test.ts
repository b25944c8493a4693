import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type ReviewLinkClaims,
  signReviewLink,
  verifyReviewLink,
} from '../../lambdas/domain/review-link';

const SECRET = 'link-secret-of-this-deployment';
const NOW = 1_780_000_000;
const EXPIRES = NOW + 8 * 3600;
const ALICE_ON_X: ReviewLinkClaims = {
  intentId: 'int_01JDXAAAAAAAAAAAAAAAAAAAAA',
  reviewer: 'alice@company.com',
  expiresAt: EXPIRES,
};
const BOB_ON_Y: ReviewLinkClaims = {
  intentId: 'int_01JDYBBBBBBBBBBBBBBBBBBBBB',
  reviewer: 'bob@company.com',
  expiresAt: EXPIRES,
};
const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

const parts = (token: string): [string, string] => {
  const [body = '', signature = ''] = token.split('.');
  return [body, signature];
};

/** The body of a token, decoded, changed and encoded again: what an attacker can do without the secret. */
function rewriteBody(token: string, change: (claims: Record<string, unknown>) => void): string {
  const [body, signature] = parts(token);
  const claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Record<
    string,
    unknown
  >;
  change(claims);
  return `${Buffer.from(JSON.stringify(claims), 'utf8').toString('base64url')}.${signature}`;
}

const claimsArbitrary = fc.record({
  intentId: fc.string({ minLength: 1, maxLength: 40 }),
  reviewer: fc.oneof(fc.emailAddress(), fc.string({ minLength: 1, maxLength: 60 })),
  expiresAt: fc.integer({ min: NOW + 1, max: NOW + 364 * 86_400 }),
});

/** One character replaced, removed or added, anywhere in the token. */
const oneCharacterChange = (token: string) =>
  fc.oneof(
    fc
      .tuple(
        fc.nat({ max: token.length - 1 }),
        fc.oneof(
          fc.constantFrom(...`${BASE64URL}.=+/`),
          fc.string({ minLength: 1, maxLength: 1, unit: 'binary' }),
        ),
      )
      .filter(([at, by]) => token[at] !== by)
      .map(([at, by]) => `${token.slice(0, at)}${by}${token.slice(at + 1)}`),
    fc.nat({ max: token.length - 1 }).map((at) => `${token.slice(0, at)}${token.slice(at + 1)}`),
    fc
      .tuple(fc.nat({ max: token.length }), fc.constantFrom(...`${BASE64URL}.`))
      .map(([at, by]) => `${token.slice(0, at)}${by}${token.slice(at)}`),
  );

describe('review link tokens', () => {
  it('round trip: a token verifies to exactly the intent, reviewer and expiry it was signed for', () => {
    expect(verifyReviewLink(signReviewLink(ALICE_ON_X, SECRET), SECRET, NOW)).toEqual({
      ok: true,
      claims: ALICE_ON_X,
    });
    fc.assert(
      fc.property(claimsArbitrary, (claims) => {
        expect(verifyReviewLink(signReviewLink(claims, SECRET), SECRET, NOW)).toEqual({
          ok: true,
          claims,
        });
      }),
    );
  });

  it('is safe in a URL path: only base64url characters and one dot', () => {
    fc.assert(
      fc.property(claimsArbitrary, (claims) => {
        expect(signReviewLink(claims, SECRET)).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
      }),
    );
  });

  it('refuses every single-character change of a token (any claims, any position, any character)', () => {
    fc.assert(
      fc.property(
        claimsArbitrary.chain((claims) => {
          const token = signReviewLink(claims, SECRET);
          return fc.tuple(fc.constant(token), oneCharacterChange(token));
        }),
        ([token, changed]) => {
          expect(changed).not.toBe(token);
          expect(verifyReviewLink(changed, SECRET, NOW).ok).toBe(false);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('refuses every substitution by a URL-safe character at every position of one token', () => {
    const token = signReviewLink(ALICE_ON_X, SECRET);
    let tried = 0;
    for (let at = 0; at < token.length; at += 1) {
      for (const by of `${BASE64URL}.`) {
        if (token[at] === by) continue;
        const changed = `${token.slice(0, at)}${by}${token.slice(at + 1)}`;
        const verdict = verifyReviewLink(changed, SECRET, NOW);
        if (verdict.ok) throw new Error(`accepted with "${by}" at ${at}: ${changed}`);
        tried += 1;
      }
    }
    expect(tried).toBe(token.length * 64);
  });

  it('refuses a payload rewritten to another reviewer, intent or a later expiry, as tampered', () => {
    const token = signReviewLink(ALICE_ON_X, SECRET);
    const rewrites = [
      rewriteBody(token, (claims) => {
        claims.r = 'bob@company.com';
      }),
      rewriteBody(token, (claims) => {
        claims.i = BOB_ON_Y.intentId;
      }),
      rewriteBody(token, (claims) => {
        claims.e = EXPIRES + 365 * 86_400;
      }),
    ];
    expect(rewrites.map((t) => verifyReviewLink(t, SECRET, NOW))).toEqual([
      { ok: false, reason: 'bad_signature' },
      { ok: false, reason: 'bad_signature' },
      { ok: false, reason: 'bad_signature' },
    ]);
    // The rewriting itself is faithful: re-encoding the same claims gives back the signed token.
    expect(rewriteBody(token, () => {})).toBe(token);
  });

  it('is bound to one intent and one reviewer: a token for Alice on X says nothing about Bob or Y', () => {
    const alice = signReviewLink(ALICE_ON_X, SECRET);
    const bob = signReviewLink(BOB_ON_Y, SECRET);
    const aliceOnY = signReviewLink({ ...ALICE_ON_X, intentId: BOB_ON_Y.intentId }, SECRET);
    const bobOnX = signReviewLink({ ...BOB_ON_Y, intentId: ALICE_ON_X.intentId }, SECRET);
    expect(new Set([alice, bob, aliceOnY, bobOnX]).size).toBe(4);

    const verdict = verifyReviewLink(alice, SECRET, NOW);
    expect(verdict).toEqual({ ok: true, claims: ALICE_ON_X });

    // Splices: one link's claims with another link's signature.
    const [aliceBody, aliceSignature] = parts(alice);
    for (const other of [bob, aliceOnY, bobOnX]) {
      const [otherBody, otherSignature] = parts(other);
      expect(verifyReviewLink(`${aliceBody}.${otherSignature}`, SECRET, NOW)).toEqual({
        ok: false,
        reason: 'bad_signature',
      });
      expect(verifyReviewLink(`${otherBody}.${aliceSignature}`, SECRET, NOW)).toEqual({
        ok: false,
        reason: 'bad_signature',
      });
    }
  });

  it('expires with the intent: valid until the last second, refused from the expiry on', () => {
    const token = signReviewLink(ALICE_ON_X, SECRET);
    expect(verifyReviewLink(token, SECRET, EXPIRES - 1).ok).toBe(true);
    expect(verifyReviewLink(token, SECRET, EXPIRES - 0.001).ok).toBe(true);
    expect(verifyReviewLink(token, SECRET, EXPIRES)).toEqual({ ok: false, reason: 'expired' });
    expect(verifyReviewLink(token, SECRET, EXPIRES + 86_400)).toEqual({
      ok: false,
      reason: 'expired',
    });
    // An expired token stays refused whatever is done to it.
    const stretched = rewriteBody(token, (claims) => {
      claims.e = EXPIRES + 86_400 * 2;
    });
    expect(verifyReviewLink(stretched, SECRET, EXPIRES + 86_400)).toEqual({
      ok: false,
      reason: 'bad_signature',
    });
  });

  it('refuses a token signed with another secret (another deployment, or a guess)', () => {
    const foreign = signReviewLink(ALICE_ON_X, 'another-deployment-secret');
    expect(verifyReviewLink(foreign, SECRET, NOW)).toEqual({ ok: false, reason: 'bad_signature' });
    fc.assert(
      fc.property(
        claimsArbitrary,
        fc.string({ minLength: 1 }).filter((secret) => secret !== SECRET),
        (claims, secret) => {
          expect(verifyReviewLink(signReviewLink(claims, secret), SECRET, NOW)).toEqual({
            ok: false,
            reason: 'bad_signature',
          });
        },
      ),
    );
  });

  it('refuses malformed tokens without throwing', () => {
    const token = signReviewLink(ALICE_ON_X, SECRET);
    const [body, signature] = parts(token);
    for (const malformed of [
      '',
      '.',
      body,
      `${body}.`,
      `.${signature}`,
      `${token}.${signature}`,
      `${body}.${signature}${'A'.repeat(2000)}`,
    ]) {
      expect(verifyReviewLink(malformed, SECRET, NOW)).toEqual({ ok: false, reason: 'malformed' });
    }
  });

  it('refuses a correctly signed body that is not a complete claim set', () => {
    // HMAC-SHA256 over "review-link.v1.<body>", base64url: the token's recipe, written out here.
    const signed = (claims: unknown) => {
      const encoded = Buffer.from(JSON.stringify(claims), 'utf8').toString('base64url');
      const mac = createHmac('sha256', SECRET)
        .update(`review-link.v1.${encoded}`)
        .digest('base64url');
      return `${encoded}.${mac}`;
    };
    expect(
      verifyReviewLink(signed({ i: 'int_1', r: 'alice@company.com', e: EXPIRES }), SECRET, NOW),
    ).toEqual({
      ok: true,
      claims: { intentId: 'int_1', reviewer: 'alice@company.com', expiresAt: EXPIRES },
    });
    for (const incomplete of [
      { i: 'int_1', r: 'alice@company.com' },
      { i: 'int_1', e: EXPIRES },
      { r: 'alice@company.com', e: EXPIRES },
      { i: 'int_1', r: 'alice@company.com', e: String(EXPIRES) },
      { i: 1, r: 'alice@company.com', e: EXPIRES },
      null,
      'int_1',
    ]) {
      expect(verifyReviewLink(signed(incomplete), SECRET, NOW)).toEqual({
        ok: false,
        reason: 'malformed',
      });
    }
  });
});
