import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newDataDir, removeDataDir, type StackProcess, startStack } from './harness';

/**
 * Every malformed request gets a 4xx in the contract's error shape, never a 5xx, and changes
 * nothing. Driven over HTTP against the local stack, so the API Gateway adapter is included.
 */
let stack: StackProcess;
let dataDir: string;

beforeAll(async () => {
  dataDir = newDataDir();
  stack = await startStack(dataDir);
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  removeDataDir(dataDir);
});

const valid = {
  intent_type: 'intent.report.review_approval.v1',
  to_agent: 'agent://myorg/production/report-generator',
  payload: { report: 'Q1', reviewer: 'cfo@company.com' },
};

type Case = {
  name: string;
  method: string;
  path: string;
  key?: 'agent' | 'admin' | 'none' | 'bogus';
  body?: string;
  contentType?: string;
  status: number;
  code: string;
};

const cases: Case[] = [
  {
    name: 'no key',
    method: 'POST',
    path: '/v1/intents',
    key: 'none',
    body: JSON.stringify(valid),
    status: 401,
    code: 'unauthenticated',
  },
  {
    name: 'unknown key',
    method: 'GET',
    path: '/v1/intents',
    key: 'bogus',
    status: 401,
    code: 'unauthenticated',
  },
  {
    name: 'empty body',
    method: 'POST',
    path: '/v1/intents',
    body: '',
    status: 400,
    code: 'invalid_request',
  },
  {
    name: 'not JSON',
    method: 'POST',
    path: '/v1/intents',
    body: '{"intent_type":',
    status: 400,
    code: 'invalid_request',
  },
  {
    name: 'JSON array',
    method: 'POST',
    path: '/v1/intents',
    body: '[1,2]',
    status: 400,
    code: 'invalid_request',
  },
  {
    name: 'wrong content type',
    method: 'POST',
    path: '/v1/intents',
    body: JSON.stringify(valid),
    contentType: 'text/plain',
    status: 400,
    code: 'invalid_request',
  },
  {
    name: 'missing intent_type',
    method: 'POST',
    path: '/v1/intents',
    body: JSON.stringify({ ...valid, intent_type: undefined }),
    status: 400,
    code: 'validation_failed',
  },
  {
    name: 'intent_type too long',
    method: 'POST',
    path: '/v1/intents',
    body: JSON.stringify({ ...valid, intent_type: `a.${'b'.repeat(300)}` }),
    status: 400,
    code: 'validation_failed',
  },
  {
    name: 'payload not an object',
    method: 'POST',
    path: '/v1/intents',
    body: JSON.stringify({ ...valid, payload: 'x' }),
    status: 400,
    code: 'validation_failed',
  },
  {
    name: 'no reviewer at all',
    method: 'POST',
    path: '/v1/intents',
    body: JSON.stringify({ ...valid, payload: { report: 'Q1' } }),
    status: 400,
    code: 'validation_failed',
  },
  {
    name: 'reviewer not an email',
    method: 'POST',
    path: '/v1/intents',
    body: JSON.stringify({ ...valid, reviewers: ['not-an-email'] }),
    status: 400,
    code: 'validation_failed',
  },
  {
    name: 'bad duration',
    method: 'POST',
    path: '/v1/intents',
    body: JSON.stringify({ ...valid, policy: { remind_after: ['soon'] } }),
    status: 400,
    code: 'validation_failed',
  },
  {
    name: 'duration over 364 days',
    method: 'POST',
    path: '/v1/intents',
    body: JSON.stringify({ ...valid, policy: { timeout: { after: '400d' } } }),
    status: 400,
    code: 'validation_failed',
  },
  {
    name: 'unknown timeout action',
    method: 'POST',
    path: '/v1/intents',
    body: JSON.stringify({ ...valid, policy: { timeout: { action: 'ignore' } } }),
    status: 400,
    code: 'validation_failed',
  },
  {
    name: 'ftp callback',
    method: 'POST',
    path: '/v1/intents',
    body: JSON.stringify({ ...valid, callback_url: 'ftp://x' }),
    status: 400,
    code: 'validation_failed',
  },
  {
    name: 'payload over 128 KiB',
    method: 'POST',
    path: '/v1/intents',
    body: JSON.stringify({ ...valid, payload: { reviewer: 'a@b.co', blob: 'x'.repeat(140_000) } }),
    status: 413,
    code: 'payload_too_large',
  },
  {
    name: 'unknown intent',
    method: 'GET',
    path: '/v1/intents/int_nope',
    status: 404,
    code: 'not_found',
  },
  { name: 'unknown route', method: 'GET', path: '/v1/nothing', status: 404, code: 'not_found' },
  {
    name: 'bad list status',
    method: 'GET',
    path: '/v1/intents?status=maybe',
    status: 400,
    code: 'validation_failed',
  },
  {
    name: 'bad cursor',
    method: 'GET',
    path: '/v1/intents?cursor=garbage',
    status: 400,
    code: 'invalid_request',
  },
  {
    name: 'bad wait timeout',
    method: 'GET',
    path: '/v1/intents/int_x/wait?timeout=soon',
    status: 400,
    code: 'invalid_request',
  },
  {
    name: 'agent deciding',
    method: 'POST',
    path: '/v1/intents/int_x/decision',
    body: '{"outcome":"approve"}',
    status: 403,
    code: 'forbidden',
  },
  {
    name: 'agent creating keys',
    method: 'POST',
    path: '/v1/keys',
    body: '{"role":"admin","principal":"me"}',
    status: 403,
    code: 'forbidden',
  },
  {
    name: 'bad key role',
    method: 'POST',
    path: '/v1/keys',
    key: 'admin',
    body: '{"role":"root","principal":"me"}',
    status: 400,
    code: 'validation_failed',
  },
  {
    name: 'reviewer key without email',
    method: 'POST',
    path: '/v1/keys',
    key: 'admin',
    body: '{"role":"reviewer","principal":"bob"}',
    status: 400,
    code: 'validation_failed',
  },
  {
    name: 'bad team name',
    method: 'POST',
    path: '/v1/teams',
    key: 'admin',
    body: '{"name":"Fin Ance","members":["a@b.co"]}',
    status: 400,
    code: 'validation_failed',
  },
];

describe('malformed requests', () => {
  it.each(cases)('$name → $status $code', async (testCase) => {
    const keys = stack.settings.api_keys;
    const key =
      testCase.key === 'none'
        ? undefined
        : testCase.key === 'bogus'
          ? 'csk_bogus'
          : keys[testCase.key ?? 'agent'];
    const response = await fetch(`${stack.url}${testCase.path}`, {
      method: testCase.method,
      headers: {
        ...(key ? { Authorization: `Bearer ${key}` } : {}),
        ...(testCase.body !== undefined
          ? { 'Content-Type': testCase.contentType ?? 'application/json' }
          : {}),
      },
      ...(testCase.body !== undefined ? { body: testCase.body } : {}),
    });
    expect(response.status).toBe(testCase.status);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    const body = (await response.json()) as {
      error: { code: string; message: string; details: unknown[] };
    };
    expect(body.error.code).toBe(testCase.code);
    expect(typeof body.error.message).toBe('string');
    expect(Array.isArray(body.error.details)).toBe(true);
  });

  it('validation errors name each bad field', async () => {
    const response = await fetch(`${stack.url}/v1/intents`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${stack.settings.api_keys.agent}`,
        'Content-Type': 'application/json',
      },
      body: JSON.stringify({ to_agent: 7, payload: {}, surprise: true }),
    });
    const body = (await response.json()) as { error: { details: { field: string }[] } };
    expect(body.error.details.map((d) => d.field).sort()).toEqual(
      expect.arrayContaining(['intent_type', 'to_agent']),
    );
  });

  it('none of them created an intent', async () => {
    const response = await fetch(`${stack.url}/v1/intents`, {
      headers: { Authorization: `Bearer ${stack.settings.api_keys.admin}` },
    });
    expect(((await response.json()) as { items: unknown[] }).items).toEqual([]);
  });
});
