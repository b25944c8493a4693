import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newDataDir, removeDataDir, type StackProcess, startStack } from './harness';

/**
 * Every role against every endpoint on the running service. A missing or unknown (or revoked)
 * key is 401; a known key without the right is 403; an agent never learns that another agent's
 * intent exists (404); a reviewer not asked gets 404 on reads and 403 `not_a_reviewer` on a
 * decision, whether the intent is pending or decided (a 409 would show it). An agent key scoped
 * to other intent types (`scopedAgent`, `intent.refund.*`) may create only those (403 `forbidden`
 * otherwise) and is otherwise an agent like any other. Cells that succeed use a fresh intent, so
 * one cell never depends on another.
 */
type Who =
  | 'none'
  | 'revoked'
  | 'agent'
  | 'otherAgent'
  | 'scopedAgent'
  | 'reviewer'
  | 'otherReviewer'
  | 'admin';
const WHO: Who[] = [
  'none',
  'revoked',
  'agent',
  'otherAgent',
  'scopedAgent',
  'reviewer',
  'otherReviewer',
  'admin',
];

let stack: StackProcess;
let dataDir: string;
const keys = new Map<Who, string | undefined>();

async function call(who: Who, method: string, path: string, body?: unknown) {
  const key = keys.get(who);
  const response = await fetch(`${stack.url}${path}`, {
    method,
    headers: {
      ...(key ? { authorization: `Bearer ${key}` } : {}),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return {
    status: response.status,
    body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
  };
}

async function adminCreateKey(
  role: string,
  principal: string,
  limits: Record<string, unknown> = {},
): Promise<{ id: string; key: string }> {
  const { status, body } = await call('admin', 'POST', '/v1/keys', { role, principal, ...limits });
  expect(status).toBe(201);
  return body as { id: string; key: string };
}

async function freshIntent(): Promise<string> {
  const { status, body } = await call('agent', 'POST', '/v1/intents', intentBody());
  expect(status).toBe(201);
  return String(body.id);
}

/** A fresh intent that its reviewer approved, with a comment only readers may see. */
async function decidedIntent(): Promise<string> {
  const id = await freshIntent();
  const decided = await call('reviewer', 'POST', `/v1/intents/${id}/decision`, {
    outcome: 'approve',
    comment: 'wire it today',
  });
  expect(decided.status).toBe(200);
  return id;
}

const intentBody = () => ({
  intent_type: 'intent.authz.v1',
  to_agent: 'agent://myorg/authz',
  payload: { reviewer: 'cfo@company.com' },
  policy: { timeout: { after: '1h' } },
});

beforeAll(async () => {
  dataDir = newDataDir();
  stack = await startStack(dataDir);
  keys.set('none', undefined);
  keys.set('agent', stack.settings.api_keys.agent);
  keys.set('admin', stack.settings.api_keys.admin);
  keys.set('otherAgent', (await adminCreateKey('agent', 'agent://myorg/someone-else')).key);
  const scoped = await adminCreateKey('agent', 'agent://myorg/refunds', {
    intent_types: ['intent.refund.*'],
  });
  keys.set('scopedAgent', scoped.key);
  keys.set('reviewer', (await adminCreateKey('reviewer', 'cfo@company.com')).key);
  keys.set('otherReviewer', (await adminCreateKey('reviewer', 'intruder@company.com')).key);
  const revoked = await adminCreateKey('admin', 'former-operator');
  expect((await call('admin', 'DELETE', `/v1/keys/${revoked.id}`)).status).toBe(200);
  keys.set('revoked', revoked.key);
});

afterAll(async () => {
  await stack?.stop();
  removeDataDir(dataDir);
});

interface Row {
  name: string;
  request: () => Promise<{ method: string; path: string; body?: unknown }>;
  expect: Record<Who, number | [number, string]>;
}

const onIntent =
  (method: string, suffix: string, body?: unknown) =>
  async (): Promise<{ method: string; path: string; body?: unknown }> => ({
    method,
    path: `/v1/intents/${await freshIntent()}${suffix}`,
    body,
  });
const fixed =
  (method: string, path: string, body?: unknown) =>
  async (): Promise<{ method: string; path: string; body?: unknown }> => ({ method, path, body });

/** Operator policies: a pattern of its own for each cell, so that cells never share one. */
const MATRIX_POLICY = {
  reviewers: ['cfo@company.com'],
  rules: [{ name: 'small', effect: 'approve', when: [{ pointer: '/amount', op: 'lt', value: 1 }] }],
};
let patterns = 0;
const newPattern = () => `intent.matrix${++patterns}.*`;
async function storedPattern(): Promise<string> {
  const pattern = newPattern();
  expect((await call('admin', 'PUT', `/v1/policies/${pattern}`, MATRIX_POLICY)).status).toBe(201);
  return pattern;
}

const unauthenticated = { none: 401, revoked: 401 } as const;
const adminOnly = (success: number): Row['expect'] => ({
  ...unauthenticated,
  agent: [403, 'forbidden'],
  otherAgent: [403, 'forbidden'],
  scopedAgent: [403, 'forbidden'],
  reviewer: [403, 'forbidden'],
  otherReviewer: [403, 'forbidden'],
  admin: success,
});
const readable: Row['expect'] = {
  ...unauthenticated,
  agent: 200,
  otherAgent: [404, 'not_found'],
  scopedAgent: [404, 'not_found'],
  reviewer: 200,
  otherReviewer: [404, 'not_found'],
  admin: 200,
};

const ROWS: Row[] = [
  {
    name: 'POST /v1/intents',
    request: fixed('POST', '/v1/intents', intentBody()),
    expect: {
      ...unauthenticated,
      agent: 201,
      otherAgent: 201,
      scopedAgent: [403, 'forbidden'],
      reviewer: [403, 'forbidden'],
      otherReviewer: [403, 'forbidden'],
      admin: 201,
    },
  },
  {
    name: 'POST /v1/intents (intent.refund.v1)',
    request: fixed('POST', '/v1/intents', { ...intentBody(), intent_type: 'intent.refund.v1' }),
    expect: {
      ...unauthenticated,
      agent: 201,
      otherAgent: 201,
      scopedAgent: 201,
      reviewer: [403, 'forbidden'],
      otherReviewer: [403, 'forbidden'],
      admin: 201,
    },
  },
  { name: 'GET /v1/intents/{id}', request: onIntent('GET', ''), expect: readable },
  {
    name: 'GET /v1/intents/{id}/wait',
    request: onIntent('GET', '/wait?timeout=1'),
    expect: readable,
  },
  { name: 'GET /v1/intents/{id}/events', request: onIntent('GET', '/events'), expect: readable },
  {
    name: 'GET /v1/intents',
    request: fixed('GET', '/v1/intents'),
    expect: {
      ...unauthenticated,
      agent: 200,
      otherAgent: 200,
      scopedAgent: 200,
      reviewer: 200,
      otherReviewer: 200,
      admin: 200,
    },
  },
  {
    name: 'POST /v1/intents/{id}/decision',
    request: onIntent('POST', '/decision', { outcome: 'approve' }),
    expect: {
      ...unauthenticated,
      agent: [403, 'forbidden'],
      otherAgent: [403, 'forbidden'],
      scopedAgent: [403, 'forbidden'],
      reviewer: 200,
      otherReviewer: [403, 'not_a_reviewer'],
      admin: 200,
    },
  },
  {
    // A decided intent answers by who may read it, never by its state: an outsider is refused
    // as on a pending one, and only who may read it gets the 409 with the intent.
    name: 'POST /v1/intents/{id}/decision on a decided intent',
    request: async () => ({
      method: 'POST',
      path: `/v1/intents/${await decidedIntent()}/decision`,
      body: { outcome: 'approve' },
    }),
    expect: {
      ...unauthenticated,
      agent: [403, 'forbidden'],
      otherAgent: [403, 'forbidden'],
      scopedAgent: [403, 'forbidden'],
      reviewer: [409, 'already_decided'],
      otherReviewer: [403, 'not_a_reviewer'],
      admin: [409, 'already_decided'],
    },
  },
  {
    name: 'GET /v1/intents/{id} (decided)',
    request: async () => ({ method: 'GET', path: `/v1/intents/${await decidedIntent()}` }),
    expect: readable,
  },
  {
    name: 'POST /v1/intents/{id}/cancel',
    request: onIntent('POST', '/cancel', { reason: 'no longer needed' }),
    expect: {
      ...unauthenticated,
      agent: 200,
      otherAgent: [404, 'not_found'],
      scopedAgent: [404, 'not_found'],
      reviewer: [403, 'forbidden'],
      otherReviewer: [403, 'forbidden'],
      admin: 200,
    },
  },
  {
    name: 'POST /v1/keys',
    request: fixed('POST', '/v1/keys', { role: 'reviewer', principal: 'new@company.com' }),
    expect: adminOnly(201),
  },
  {
    name: 'POST /v1/keys (scoped, with a quota)',
    request: fixed('POST', '/v1/keys', {
      role: 'agent',
      principal: 'agent://myorg/new',
      intent_types: ['intent.refund.*'],
      quota: { intents_per_hour: 10, notifications_per_hour: 100 },
    }),
    expect: adminOnly(201),
  },
  { name: 'GET /v1/keys', request: fixed('GET', '/v1/keys'), expect: adminOnly(200) },
  {
    name: 'DELETE /v1/keys/{id}',
    request: async () => ({
      method: 'DELETE',
      path: `/v1/keys/${(await adminCreateKey('agent', 'agent://myorg/temporary')).id}`,
    }),
    expect: adminOnly(200),
  },
  {
    name: 'POST /v1/teams',
    request: fixed('POST', '/v1/teams', { name: 'finance', members: ['a@company.com'] }),
    expect: adminOnly(200),
  },
  { name: 'GET /v1/teams', request: fixed('GET', '/v1/teams'), expect: adminOnly(200) },
  {
    name: 'DELETE /v1/teams/{name}',
    request: async () => {
      await call('admin', 'POST', '/v1/teams', { name: 'temporary', members: ['t@company.com'] });
      return { method: 'DELETE', path: '/v1/teams/temporary' };
    },
    expect: adminOnly(200),
  },
  {
    name: 'PUT /v1/policies/{intent_type}',
    request: async () => fixed('PUT', `/v1/policies/${newPattern()}`, MATRIX_POLICY)(),
    expect: adminOnly(201),
  },
  { name: 'GET /v1/policies', request: fixed('GET', '/v1/policies'), expect: adminOnly(200) },
  {
    name: 'GET /v1/policies/{intent_type}',
    request: async () => ({ method: 'GET', path: `/v1/policies/${await storedPattern()}` }),
    expect: adminOnly(200),
  },
  {
    name: 'DELETE /v1/policies/{intent_type}',
    request: async () => ({ method: 'DELETE', path: `/v1/policies/${await storedPattern()}` }),
    expect: adminOnly(200),
  },
  {
    name: 'POST /v1/policies/dry-run (what rules would decide)',
    request: fixed('POST', '/v1/policies/dry-run', {
      intent_type: 'intent.report.review_approval.v1',
      policy: MATRIX_POLICY,
      limit: 5,
    }),
    expect: adminOnly(200),
  },
  { name: 'GET /_local/outbox', request: fixed('GET', '/_local/outbox'), expect: adminOnly(200) },
];

describe('authorization matrix', () => {
  for (const row of ROWS) {
    it.each(WHO)(`${row.name} as %s`, async (who) => {
      const request = await row.request();
      const expected = row.expect[who];
      const [status, code] = Array.isArray(expected) ? expected : [expected, undefined];
      const result = await call(who, request.method, request.path, request.body);
      // POST /v1/teams answers 201 the first time a team is made and 200 when it is replaced.
      const okStatus = row.name === 'POST /v1/teams' && result.status === 201 ? 200 : result.status;
      expect(okStatus, JSON.stringify(result.body)).toBe(status);
      if (status >= 400) {
        const error = result.body.error as { code: string; message: string };
        expect(error.code).toBe(code ?? 'unauthenticated');
        expect(error.message.length).toBeGreaterThan(0);
      }
    });
  }

  it('lists only what each principal may see', async () => {
    const id = await freshIntent();
    const idsFor = async (who: Who) =>
      ((await call(who, 'GET', '/v1/intents?limit=100')).body.items as { id: string }[]).map(
        (item) => item.id,
      );
    expect(await idsFor('agent')).toContain(id);
    expect(await idsFor('admin')).toContain(id);
    expect(await idsFor('reviewer')).toContain(id);
    expect(await idsFor('otherAgent')).not.toContain(id);
    expect(await idsFor('scopedAgent')).not.toContain(id);
    expect(await idsFor('otherReviewer')).not.toContain(id);
  });

  it('a decided intent reaches a decision error only for those who may read it', async () => {
    const id = await decidedIntent();
    for (const who of WHO) {
      const read = await call(who, 'GET', `/v1/intents/${id}`);
      const decision = await call(who, 'POST', `/v1/intents/${id}/decision`, {
        outcome: 'reject',
        comment: 'no',
      });
      const error = decision.body.error as Record<string, unknown>;
      const shown = JSON.stringify(decision.body);
      if (decision.status === 409) {
        expect(read.status, who).toBe(200);
        expect((error.intent as { id: string }).id, who).toBe(id);
      }
      if (read.status !== 200) {
        expect(error.intent, who).toBeUndefined();
        expect(shown, who).not.toContain('wire it today');
        expect(shown, who).not.toContain('cfo@company.com');
      }
    }
  });

  it('a refused decision or cancel changes nothing', async () => {
    const id = await freshIntent();
    const before = await call('admin', 'GET', `/v1/intents/${id}/events`);
    await call('otherReviewer', 'POST', `/v1/intents/${id}/decision`, { outcome: 'approve' });
    await call('otherAgent', 'POST', `/v1/intents/${id}/cancel`, {});
    await call('reviewer', 'POST', `/v1/intents/${id}/cancel`, {});
    await call('agent', 'POST', `/v1/intents/${id}/decision`, { outcome: 'approve' });
    const after = await call('admin', 'GET', `/v1/intents/${id}/events`);
    const decisive = (body: Record<string, unknown>) =>
      (body.items as { type: string }[]).filter((event) =>
        ['approval', 'rejection', 'approved', 'rejected', 'cancelled'].includes(event.type),
      );
    expect(decisive(after.body)).toEqual(decisive(before.body));
    expect((await call('admin', 'GET', `/v1/intents/${id}`)).body.status).toBe('pending');
  });
});
