import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { slackSignature, verifySlackSignature } from '../../lambdas/domain/slack-signature';

const SECRET = '8f742231b10e8888abcd99yyyzzz85a5';
const NOW = 1_780_000_000;
const BODY = `payload=${encodeURIComponent(JSON.stringify({ type: 'block_actions', user: { id: 'U1' } }))}`;

/** Slack's own recipe, written out independently of the code under test. */
function signedBySlack(body: string, timestamp: number, secret = SECRET) {
  const hex = createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex');
  return { timestamp: String(timestamp), signature: `v0=${hex}` };
}

const verify = (overrides: Partial<Parameters<typeof verifySlackSignature>[0]>) =>
  verifySlackSignature({
    signingSecret: SECRET,
    rawBody: BODY,
    nowSeconds: NOW,
    ...signedBySlack(BODY, NOW),
    ...overrides,
  });

describe('verifySlackSignature', () => {
  it('accepts a request Slack signed a moment ago, as text or as raw bytes', () => {
    expect(verify({})).toEqual({ ok: true });
    expect(verify({ rawBody: Buffer.from(BODY, 'utf8'), nowSeconds: NOW + 299 })).toEqual({
      ok: true,
    });
  });

  it('refuses a signature made with another secret', () => {
    expect(verify(signedBySlack(BODY, NOW, 'another-secret'))).toEqual({
      ok: false,
      reason: 'bad_signature',
    });
  });

  it('refuses a tampered body (one character changed)', () => {
    expect(verify({ rawBody: BODY.replace('U1', 'U2') })).toEqual({
      ok: false,
      reason: 'bad_signature',
    });
  });

  it('refuses a timestamp that was changed after signing', () => {
    expect(verify({ timestamp: String(NOW - 1) })).toEqual({ ok: false, reason: 'bad_signature' });
  });

  it('refuses a stale request, even correctly signed: older or newer than five minutes', () => {
    expect(verify({ ...signedBySlack(BODY, NOW - 301) })).toEqual({ ok: false, reason: 'stale' });
    expect(verify({ ...signedBySlack(BODY, NOW + 301) })).toEqual({ ok: false, reason: 'stale' });
  });

  it('refuses missing and malformed headers', () => {
    expect(verify({ signature: undefined })).toEqual({ ok: false, reason: 'missing' });
    expect(verify({ timestamp: '' })).toEqual({ ok: false, reason: 'missing' });
    expect(verify({ timestamp: 'yesterday' })).toEqual({ ok: false, reason: 'malformed' });
    expect(verify({ signature: 'v1=abc' })).toEqual({ ok: false, reason: 'malformed' });
    const truncated = signedBySlack(BODY, NOW).signature.slice(0, -2);
    expect(verify({ signature: truncated })).toEqual({ ok: false, reason: 'malformed' });
  });

  it('computes the same signature as the recipe', () => {
    expect(slackSignature(SECRET, String(NOW), BODY)).toBe(signedBySlack(BODY, NOW).signature);
  });
});
