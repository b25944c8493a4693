import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  callbackUrlIssue,
  classifyAddress,
  classifyDelivery,
  recordCallbackAttempt,
  signWebhook,
  verifyWebhookSignature,
} from '../../lambdas/domain/webhook';
import { pendingIntent, T0 } from './fixtures';

const SECRET = 'whsec-test';
const BODY = '{"id":"int_1","status":"approved"}';
const NOW = Date.parse('2026-11-24T09:00:00.000Z');
const T = Math.floor(NOW / 1000);

describe('signWebhook', () => {
  it('is t=<seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>"> as the contract says', () => {
    const expected = createHmac('sha256', SECRET).update(`${T}.${BODY}`).digest('hex');
    expect(signWebhook(BODY, SECRET, T)).toBe(`t=${T},v1=${expected}`);
  });
});

describe('verifyWebhookSignature', () => {
  const header = signWebhook(BODY, SECRET, T);

  it('accepts the signature over the exact body', () => {
    expect(verifyWebhookSignature(header, BODY, SECRET, { now: NOW })).toEqual({
      ok: true,
      timestamp: T,
    });
  });

  it.each([
    ['an altered body', header, BODY.replace('approved', 'rejected'), SECRET, NOW],
    ['another secret', header, BODY, 'other-secret', NOW],
    ['a replay after the tolerance', header, BODY, SECRET, NOW + 301_000],
    ['a changed timestamp', header.replace(`t=${T}`, `t=${T + 1}`), BODY, SECRET, NOW],
    ['no header', undefined, BODY, SECRET, NOW],
    ['a header without v1', `t=${T}`, BODY, SECRET, NOW],
  ])('refuses %s', (_name, given, body, secret, now) => {
    expect(verifyWebhookSignature(given, body, secret, { now }).ok).toBe(false);
  });
});

describe('classifyDelivery', () => {
  it.each([
    [{ kind: 'response', status: 200 }, 'delivered'],
    [{ kind: 'response', status: 204 }, 'delivered'],
    [{ kind: 'response', status: 500 }, 'retry'],
    [{ kind: 'response', status: 503 }, 'retry'],
    [{ kind: 'response', status: 429 }, 'retry'],
    [{ kind: 'response', status: 408 }, 'retry'],
    [{ kind: 'network_error', error: 'ECONNREFUSED' }, 'retry'],
    [{ kind: 'response', status: 301 }, 'give_up'],
    [{ kind: 'response', status: 400 }, 'give_up'],
    [{ kind: 'response', status: 404 }, 'give_up'],
    [{ kind: 'refused', reason: 'private address' }, 'give_up'],
  ] as const)('%o → %s', (result, verdict) => {
    expect(classifyDelivery(result)).toBe(verdict);
  });
});

describe('recordCallbackAttempt', () => {
  it('records a failed attempt as callback_sent with its status and whether another follows, leaving the intent as it was', () => {
    const intent = { ...pendingIntent(), status: 'approved' as const };
    const { intent: after, events } = recordCallbackAttempt(intent, {
      number: 2,
      result: { kind: 'response', status: 503 },
      willRetry: true,
      at: T0.toISOString(),
    });
    expect(after).toBe(intent);
    expect(events).toEqual([
      {
        type: 'callback_sent',
        at: T0.toISOString(),
        actor: 'countersign',
        channel: 'webhook',
        data: { attempt: 2, ok: false, status: '5xx', error: 'HTTP 5xx', will_retry: true },
      },
    ]);
  });

  it('never says another attempt follows a delivered one', () => {
    const { events } = recordCallbackAttempt(pendingIntent(), {
      number: 1,
      result: { kind: 'response', status: 200 },
      willRetry: true,
      at: T0.toISOString(),
    });
    expect(events[0]?.data).toEqual({ attempt: 1, ok: true, status: '2xx', will_retry: false });
  });
});

describe('classifyAddress (SSRF)', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.9.9.9', 'loopback'],
    ['::1', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['10.1.2.3', 'blocked'],
    ['172.16.0.1', 'blocked'],
    ['172.31.255.255', 'blocked'],
    ['192.168.1.1', 'blocked'],
    ['169.254.169.254', 'blocked'],
    ['100.100.100.200', 'blocked'],
    ['0.0.0.0', 'blocked'],
    ['fe80::1', 'blocked'],
    ['fd00:ec2::254', 'blocked'],
    ['fc00::1', 'blocked'],
    ['::ffff:10.0.0.1', 'blocked'],
    ['::ffff:a9fe:a9fe', 'blocked'],
    ['64:ff9b::a9fe:a9fe', 'blocked'],
    ['::', 'blocked'],
    ['ff02::1', 'blocked'],
    ['224.0.0.1', 'blocked'],
    ['not-an-ip', 'blocked'],
    ['8.8.8.8', 'public'],
    ['172.32.0.1', 'public'],
    ['2606:4700:4700::1111', 'public'],
    ['64:ff9b::808:808', 'public'],
  ])('%s is %s', (address, kind) => {
    expect(classifyAddress(address)).toBe(kind);
  });
});

describe('callbackUrlIssue', () => {
  it.each([
    'https://agent.example.com/hooks/countersign',
    'https://8.8.8.8/hook',
    'https://[2606:4700:4700::1111]/hook',
  ])('accepts %s everywhere', (url) => {
    expect(callbackUrlIssue(url, false)).toBeNull();
    expect(callbackUrlIssue(url, true)).toBeNull();
  });

  it.each([
    'http://agent.example.com/hook',
    'ftp://agent.example.com/hook',
    'not a url',
    'https://user:pass@agent.example.com/hook',
    'https://127.0.0.1/hook',
    'https://localhost/hook',
    'https://api.localhost/hook',
    'https://10.0.0.5/hook',
    'https://169.254.169.254/latest/meta-data/',
    'https://[fe80::1]/hook',
    'https://[fd00:ec2::254]/hook',
    'https://[::ffff:169.254.169.254]/hook',
    'https://0x7f.1/hook',
    'https://2130706433/hook',
  ])('refuses %s outside local mode', (url) => {
    expect(callbackUrlIssue(url, false)).toEqual(expect.any(String));
  });

  it('local mode allows http and https to loopback, and nothing private', () => {
    expect(callbackUrlIssue('http://127.0.0.1:8080/hook', true)).toBeNull();
    expect(callbackUrlIssue('http://localhost:8080/hook', true)).toBeNull();
    expect(callbackUrlIssue('http://[::1]:8080/hook', true)).toBeNull();
    expect(callbackUrlIssue('http://192.168.1.10/hook', true)).toEqual(expect.any(String));
    expect(callbackUrlIssue('http://agent.example.com/hook', true)).toEqual(expect.any(String));
    expect(callbackUrlIssue('https://169.254.169.254/', true)).toEqual(expect.any(String));
  });
});
