import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SLACK_ACTIONS } from '../../lambdas/domain/slack-blocks';
import type { OutboxItem } from '../../local/outbox';
import {
  type BlockActionsClick,
  buildBlockActionsBody,
  buildViewSubmissionBody,
  type OpenedView,
  signSlackRequest,
  slackUserIdFor,
} from '../../local/standins/slack';
import { CountersignClient } from '../../sdk/src/index';
import {
  newDataDir,
  outboxItems,
  removeDataDir,
  type StackProcess,
  startStack,
  until,
} from './harness';

/**
 * Property-based hostile input against the running service: whatever the body, query, headers
 * or review token, the answer is a 4xx in the contract's shape (or a success for input that is
 * in fact valid), never a 5xx, and a refused request changes nothing.
 */
let stack: StackProcess;
let dataDir: string;
let agent: CountersignClient;
let admin: CountersignClient;
let reviewerKey: string;
let pendingId: string;
let reviewUrl: string;

beforeAll(async () => {
  dataDir = newDataDir();
  stack = await startStack(dataDir);
  agent = new CountersignClient({ baseUrl: stack.url, apiKey: stack.settings.api_keys.agent });
  admin = new CountersignClient({ baseUrl: stack.url, apiKey: stack.settings.api_keys.admin });
  reviewerKey = (await admin.createKey({ role: 'reviewer', principal: 'cfo@company.com' })).key;
  pendingId = await agent.sendIntent({
    intent_type: 'intent.fuzz.v1',
    to_agent: 'agent://myorg/fuzz',
    payload: { reviewer: 'cfo@company.com' },
    policy: { timeout: { after: '1h' } },
  });
  reviewUrl = await until(
    async () =>
      (await outbox()).find((item) => item.intent_id === pendingId && item.channel === 'email')
        ?.review_url ?? undefined,
    15_000,
    'the review email',
  );
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  removeDataDir(dataDir);
});

const outbox = () => outboxItems(stack);

async function send(
  method: string,
  path: string,
  options: { key?: string; body?: string; headers?: Record<string, string> } = {},
) {
  const response = await fetch(`${stack.url}${path}`, {
    method,
    headers: {
      ...(options.key ? { authorization: `Bearer ${options.key}` } : {}),
      ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...options.headers,
    },
    body: options.body,
  });
  return {
    status: response.status,
    text: await response.text(),
    type: response.headers.get('content-type'),
  };
}

/** A 4xx must be the contract's error object; nothing may be a 5xx. */
function expectContractAnswer(answer: { status: number; text: string }) {
  expect(answer.status, answer.text).toBeLessThan(500);
  if (answer.status >= 400) {
    const body = JSON.parse(answer.text) as {
      error: { code: string; message: string; details: unknown[] };
    };
    expect(body.error.code).toMatch(/^[a-z_]+$/);
    expect(typeof body.error.message).toBe('string');
    expect(Array.isArray(body.error.details)).toBe(true);
    expect(answer.text).not.toMatch(/\bat .+\.(ts|js):\d+/);
  }
}

async function stateOf(id: string) {
  const intent = await admin.getIntent(id);
  return { status: intent.status, events: (await admin.events(id)).items.length };
}

async function intentCount(): Promise<number> {
  let count = 0;
  for await (const _intent of admin.iterateIntents({ limit: 100 })) count += 1;
  return count;
}

const jsonish = fc.oneof(
  fc.json({ depthSize: 'small' }),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.jsonValue().map((value) => JSON.stringify(value)),
  fc
    .record(
      {
        intent_type: fc.oneof(fc.string(), fc.integer(), fc.constant(null)),
        to_agent: fc.oneof(fc.string(), fc.constant('')),
        payload: fc.oneof(fc.jsonValue(), fc.dictionary(fc.string(), fc.jsonValue())),
        reviewers: fc.array(fc.string({ unit: 'binary' })),
        policy: fc.dictionary(fc.string(), fc.jsonValue()),
        callback_url: fc.oneof(fc.webUrl(), fc.string()),
      },
      { requiredKeys: [] },
    )
    .map((value) => JSON.stringify(value)),
);

describe('hostile input', () => {
  it('any body to POST /v1/intents: a contract answer, and a refusal creates nothing', async () => {
    await fc.assert(
      fc.asyncProperty(jsonish, async (body) => {
        const before = await intentCount();
        const answer = await send('POST', '/v1/intents', {
          key: stack.settings.api_keys.agent,
          body,
        });
        expectContractAnswer(answer);
        if (answer.status >= 400) expect(await intentCount()).toBe(before);
      }),
      { numRuns: 60 },
    );
  }, 180_000);

  it('any decision body: a contract answer, and a refusal changes nothing', async () => {
    await fc.assert(
      fc.asyncProperty(
        jsonish.filter((body) => !/"outcome"\s*:\s*"(approve|reject)"/.test(body)),
        async (body) => {
          const before = await stateOf(pendingId);
          const answer = await send('POST', `/v1/intents/${pendingId}/decision`, {
            key: reviewerKey,
            body,
          });
          expectContractAnswer(answer);
          expect(answer.status).toBeGreaterThanOrEqual(400);
          expect(await stateOf(pendingId)).toEqual(before);
        },
      ),
      { numRuns: 40 },
    );
  }, 180_000);

  it('any query, path id and header: a contract answer', async () => {
    const text = fc.string({ unit: 'grapheme', maxLength: 60 });
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          query: fc.dictionary(
            fc.constantFrom('status', 'limit', 'cursor', 'reviewer', 'timeout', 'x'),
            text,
          ),
          id: text,
          authorization: fc.oneof(
            fc.constant(`Bearer ${stack.settings.api_keys.agent}`),
            fc.string({ maxLength: 80 }).map((value) => value.replace(/[^\x20-\x7e]/g, '')),
          ),
          idempotencyKey: fc.string({ maxLength: 300 }).map((v) => v.replace(/[^\x20-\x7e]/g, '')),
          path: fc.constantFrom('', '/wait', '/events'),
        }),
        async ({ query, id, authorization, idempotencyKey, path }) => {
          const search = new URLSearchParams(query).toString();
          const target = `/v1/intents/${encodeURIComponent(id) || 'x'}${path}?${search}`;
          expectContractAnswer(await send('GET', target, { headers: { authorization } }));
          expectContractAnswer(
            await send('GET', `/v1/intents?${search}`, { headers: { authorization } }),
          );
          expectContractAnswer(
            await send('POST', '/v1/intents', {
              headers: { authorization, 'idempotency-key': idempotencyKey },
              body: '{"intent_type":"x"}',
            }),
          );
        },
      ),
      { numRuns: 40 },
    );
  }, 180_000);

  it('forged, mutated and random review tokens: a clear page, never a decision', async () => {
    const token = reviewUrl.slice(reviewUrl.lastIndexOf('/') + 1);
    const mutated = fc
      .tuple(fc.nat({ max: token.length - 1 }), fc.constantFrom(...'AZaz09-_.'.split('')))
      .map(([index, char]) => token.slice(0, index) + char + token.slice(index + 1))
      .filter((candidate) => candidate !== token);
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(mutated, fc.string({ minLength: 1, maxLength: 300 })),
        fc.constantFrom('approve', 'reject'),
        async (candidate, outcome) => {
          const before = await stateOf(pendingId);
          const url = `/review/${encodeURIComponent(candidate)}`;
          const page = await send('GET', url);
          expect(page.status).toBeLessThan(500);
          const post = await fetch(`${stack.url}${url}`, {
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            body: new URLSearchParams({ outcome, comment: 'forged', nonce: 'x' }).toString(),
          });
          expect(post.status).toBeGreaterThanOrEqual(400);
          expect(post.status).toBeLessThan(500);
          expect(await stateOf(pendingId)).toEqual(before);
        },
      ),
      { numRuns: 40 },
    );
  }, 180_000);

  it('oversized, deeply nested and mis-typed bodies are refused with the contract shape', async () => {
    const key = stack.settings.api_keys.agent;
    const deep = `${'['.repeat(20_000)}${']'.repeat(20_000)}`;
    const cases = [
      { body: 'x'.repeat(11 * 1024 * 1024), status: 413 },
      { body: deep, status: 400 },
      { body: `{"intent_type":"a.b","to_agent":"x","payload":${deep}}`, status: 400 },
      { body: '\u0000\u0001', status: 400 },
      // A lone surrogate escaped in JSON: valid JSON, not valid Unicode.
      {
        body: '{"intent_type":"a.b","to_agent":"x","payload":{"\\ud800":"\\udfff"},"reviewers":["a@b.co"]}',
        status: 400,
      },
    ];
    for (const { body, status } of cases) {
      const answer = await send('POST', '/v1/intents', { key, body });
      expectContractAnswer(answer);
      expect([status].flat()).toContain(answer.status);
    }
  }, 60_000);

  it('accepts any JSON object within the limits and gives it back unchanged', async () => {
    let nested: Record<string, unknown> = { leaf: 'bottom' };
    for (let level = 0; level < 40; level += 1) nested = { level, nested };
    const payload = {
      reviewer: 'cfo@company.com',
      huge: 1.7976931348623157e308,
      tiny: 5e-324,
      long: 1.2345678901234568e29,
      '': 'empty key',
      emoji: '👩🏽‍💻 résumé',
      nested,
    };
    const id = await agent.sendIntent({
      intent_type: 'intent.fuzz.v1',
      to_agent: 'agent://myorg/fuzz',
      payload,
    });
    expect((await agent.getIntent(id)).payload).toEqual(payload);
  });

  it('CR/LF in a summary never reaches an email header; markup in a payload is escaped', async () => {
    const id = await agent.sendIntent({
      intent_type: 'intent.fuzz.v1',
      to_agent: 'agent://myorg/fuzz',
      summary: 'Pay invoice\r\nBcc: everyone@company.com',
      payload: {
        reviewer: 'cfo@company.com',
        note: '<script>alert(1)</script><img src=x onerror=alert(2)>',
      },
    });
    const message = await until(
      async () =>
        (await outbox()).find((item) => item.intent_id === id && item.channel === 'email'),
      15_000,
      'the email',
    );
    expect(message.subject).not.toMatch(/[\r\n]/);
    const page = await (await fetch(message.review_url ?? '')).text();
    expect(page).not.toContain('<script>alert(1)</script>');
    expect(page).not.toContain('<img src=x');
    expect(page).toContain('&lt;script&gt;');
  });
});

interface SlackButton {
  action_id: string;
  value?: string;
}
interface SlackBlock {
  type: string;
  block_id?: string;
  elements?: SlackButton[];
}
type SlackItem = Omit<OutboxItem, 'slack'> & {
  slack: { channel: string; user: string | null; ts: string; blocks: SlackBlock[] };
};

/** The first Slack message posted for an intent, as the stand-in received it. */
function slackMessageOf(intentId: string): Promise<SlackItem> {
  return until(
    async () =>
      (await outbox()).find(
        (item): item is SlackItem => item.intent_id === intentId && item.slack !== undefined,
      ),
    15_000,
    `the Slack message of ${intentId}`,
  );
}

/** The click Slack would post on `actionId` of the message, by `userId`. */
function clickOf(message: SlackItem, actionId: string, userId: string): BlockActionsClick {
  const actions = message.slack.blocks.find((block) => block.type === 'actions');
  const button = actions?.elements?.find((element) => element.action_id === actionId);
  if (!button?.value) throw new Error(`no ${actionId} button for ${message.intent_id}`);
  return {
    userId,
    channel: message.slack.channel,
    messageTs: message.slack.ts,
    actionId,
    value: button.value,
    ...(actions?.block_id ? { blockId: actions.block_id } : {}),
  };
}

async function slackInteractions(): Promise<{ views: OpenedView[]; ephemerals: unknown[] }> {
  const answer = await send('GET', '/_local/slack', { key: stack.settings.api_keys.admin });
  return JSON.parse(answer.text) as { views: OpenedView[]; ephemerals: unknown[] };
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

function postSlack(body: string, headers: Record<string, string>) {
  return send('POST', '/slack/interactions', {
    body,
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
  });
}

/** Signed as Slack signs, now: only what the body says can make it fail. */
function postSigned(body: string) {
  return postSlack(body, signSlackRequest(stack.settings.slack_signing_secret, body, nowSeconds()));
}

const formOf = (payload: unknown) => new URLSearchParams({ payload: JSON.stringify(payload) });

/**
 * Slack treats any answer but a 200 as a failure it shows the clicker, so a refusal Slack could
 * send (an outsider, a stale button) is a 200, empty for a click and a `response_action` for a
 * modal. Anything else is a 4xx in the contract's shape.
 */
function expectSlackAnswer(answer: { status: number; text: string; type: string | null }) {
  expectContractAnswer(answer);
  if (answer.status >= 400) return;
  expect(answer.status, answer.text).toBe(200);
  if (answer.text === '') return;
  expect(answer.type).toMatch(/^application\/json/);
  const body = JSON.parse(answer.text) as { response_action?: unknown };
  expect(['clear', 'errors', 'update']).toContain(body.response_action);
}

/** Printable ASCII: what fetch lets a header carry. */
const headerText = (maxLength: number) =>
  fc.string({ maxLength }).map((value) => value.replace(/[^\x20-\x7e]/g, ''));

/**
 * How a request can fail to be Slack's. None of these can be signed by the real secret for the
 * body, a fresh timestamp and version v0, so each must be refused whatever the body says.
 */
type Forgery =
  | { kind: 'headers'; timestamp: string | null; freshTimestamp: boolean; signature: string | null }
  | { kind: 'stale'; offsetSeconds: number }
  | { kind: 'wrong_secret'; secret: string }
  | { kind: 'wrong_version'; prefix: string }
  | { kind: 'other_body'; suffix: string }
  | { kind: 'flipped_digit'; index: number }
  | { kind: 'random_hex'; hex: string };

const forgery: fc.Arbitrary<Forgery> = fc.oneof(
  fc.record({
    kind: fc.constant('headers' as const),
    timestamp: fc.option(
      fc.oneof(headerText(20), fc.constantFrom('', '0', '-1', '1e9', '9999999999999')),
    ),
    freshTimestamp: fc.boolean(),
    signature: fc.option(
      fc.oneof(headerText(80), fc.constantFrom('', 'v0=', 'v0', `v0=${'0'.repeat(64)}`)),
    ),
  }),
  fc.record({
    kind: fc.constant('stale' as const),
    // Beyond the five minutes, with room for the time a run takes.
    offsetSeconds: fc
      .tuple(fc.integer({ min: 400, max: 10 * 365 * 86_400 }), fc.boolean())
      .map(([seconds, past]) => (past ? -seconds : seconds)),
  }),
  fc.record({
    kind: fc.constant('wrong_secret' as const),
    secret: fc.string({ maxLength: 64 }),
  }),
  fc.record({
    kind: fc.constant('wrong_version' as const),
    // Not `V0=`: the version is compared without case, so that is the real signature.
    prefix: fc.constantFrom('v1=', 'v00=', 'v=', '=', 'sha256=', '', ' v0 ='),
  }),
  fc.record({
    kind: fc.constant('other_body' as const),
    suffix: fc.string({ minLength: 1, maxLength: 20 }),
  }),
  fc.record({ kind: fc.constant('flipped_digit' as const), index: fc.nat({ max: 63 }) }),
  fc.record({
    kind: fc.constant('random_hex' as const),
    hex: fc.stringMatching(/^[0-9a-f]{64}$/),
  }),
);

function forgedHeaders(forged: Forgery, body: string): Record<string, string> {
  const secret = stack.settings.slack_signing_secret;
  const now = nowSeconds();
  const signature = (signedBody = body, at = now, key = secret) =>
    signSlackRequest(key, signedBody, at)['x-slack-signature'] ?? '';
  const headers = (signatureValue: string, at = now) => ({
    'x-slack-request-timestamp': String(at),
    'x-slack-signature': signatureValue,
  });
  switch (forged.kind) {
    case 'headers': {
      const timestamp = forged.freshTimestamp ? String(now) : forged.timestamp;
      return {
        ...(timestamp === null ? {} : { 'x-slack-request-timestamp': timestamp }),
        ...(forged.signature === null ? {} : { 'x-slack-signature': forged.signature }),
      };
    }
    case 'stale': {
      const at = now + forged.offsetSeconds;
      return headers(signature(body, at), at);
    }
    case 'wrong_secret':
      return headers(signature(body, now, forged.secret === secret ? `${secret}x` : forged.secret));
    case 'wrong_version':
      return headers(`${forged.prefix}${signature().slice(3)}`);
    case 'other_body':
      return headers(signature(`${body}${forged.suffix}`));
    case 'flipped_digit': {
      const real = signature();
      const at = 3 + forged.index;
      const digit = ((Number.parseInt(real[at] ?? '0', 16) + 1) % 16).toString(16);
      return headers(`${real.slice(0, at)}${digit}${real.slice(at + 1)}`);
    }
    case 'random_hex':
      return headers(`v0=${forged.hex}`);
  }
}

/**
 * The state of an intent once the workflow stopped writing to its trail (notices are recorded
 * after the intent is created or ended), so that any later change is the request's doing.
 */
async function settled(id: string) {
  let last = await stateOf(id);
  return until(
    async () => {
      await new Promise((resolve) => setTimeout(resolve, 500));
      const now = await stateOf(id);
      const same = JSON.stringify(now) === JSON.stringify(last);
      last = now;
      return same ? now : undefined;
    },
    20_000,
    `the trail of ${id} to settle`,
  );
}

/** `text` with one character replaced, never `text` itself. */
const oneCharChanged = (text: string) =>
  fc
    .tuple(fc.nat({ max: text.length - 1 }), fc.constantFrom(...'AZaz09_:-'.split('')))
    .map(([index, char]) => text.slice(0, index) + char + text.slice(index + 1))
    .filter((changed) => changed !== text);

describe('hostile Slack interactions', () => {
  const cfo = slackUserIdFor('cfo@company.com');
  /** A Slack user Countersign knows, asked only on a request that has ended. */
  const dave = slackUserIdFor('dave@company.com');
  let endedId: string;
  let cfoMessage: SlackItem;

  const watched = async () => {
    const [pending, ended] = await Promise.all([stateOf(pendingId), stateOf(endedId)]);
    return { pending, ended };
  };

  beforeAll(async () => {
    cfoMessage = await slackMessageOf(pendingId);
    endedId = await agent.sendIntent({
      intent_type: 'intent.fuzz.v1',
      to_agent: 'agent://myorg/fuzz',
      payload: { reviewer: 'dave@company.com' },
    });
    // Posting to Dave is what makes him a user the Slack stand-in knows.
    await slackMessageOf(endedId);
    await agent.cancel(endedId, 'ended before the fuzzing');
    await settled(endedId);
  }, 60_000);

  it('a request Slack did not sign is 401 in the contract shape and does nothing', async () => {
    const genuineClick = buildBlockActionsBody(clickOf(cfoMessage, SLACK_ACTIONS.approve, cfo));
    const body = fc.oneof(
      fc.constant(genuineClick),
      fc.string({ unit: 'binary', maxLength: 300 }),
      fc.jsonValue().map((value) => formOf(value).toString()),
    );
    const contentType = fc.oneof(
      fc.constantFrom(
        'application/x-www-form-urlencoded',
        'application/json',
        'text/plain',
        'multipart/form-data; boundary=x',
        '',
      ),
      headerText(60),
    );
    await fc.assert(
      fc.asyncProperty(body, contentType, forgery, async (text, type, forged) => {
        const before = await watched();
        const interactionsBefore = await slackInteractions();
        const answer = await postSlack(text, {
          'content-type': type,
          ...forgedHeaders(forged, text),
        });
        expectContractAnswer(answer);
        expect(answer.status, answer.text).toBe(401);
        expect(JSON.parse(answer.text)).toMatchObject({ error: { code: 'unauthenticated' } });
        expect(await watched()).toEqual(before);
        expect(await slackInteractions()).toEqual(interactionsBefore);
      }),
      { numRuns: 60 },
    );
  }, 180_000);

  it('a signed request with any other payload: a Slack answer or a contract 4xx, and nothing decided', async () => {
    const text = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 60 }),
      fc.string({ unit: 'grapheme', minLength: 200, maxLength: 3000 }),
    );
    const someText = fc.string({ unit: 'binary', minLength: 1, maxLength: 60 });
    const intentId = fc.oneof(
      fc.constantFrom(pendingId, endedId, `${pendingId} `, pendingId.toUpperCase(), 'int_\ud800'),
      fc.stringMatching(/^int_[0-9A-Za-z]{1,70}$/),
      someText,
    );
    const step = fc.oneof(fc.nat({ max: 1200 }), fc.integer(), text, fc.jsonValue());
    const buttonValue = fc.oneof(
      fc.tuple(intentId, step).map(([id, at]) => `${id}:${String(at)}`),
      intentId,
      text,
    );
    // Never the one recipient of a pending request (cfo), so no payload here is a real vote;
    // Dave is known to Slack, so his clicks get as far as the vote.
    const userId = fc.oneof(
      { arbitrary: fc.constant(dave), weight: 2 },
      fc.constantFrom('USLACKBOT', cfo.toLowerCase(), cfo.slice(0, -1)),
      someText,
    );
    const junk = fc.jsonValue({ maxDepth: 3 });
    const actionId = fc.oneof(fc.constantFrom(...Object.values(SLACK_ACTIONS)), text);
    const blockActions = fc.record(
      {
        type: fc.oneof(
          { arbitrary: fc.constant('block_actions'), weight: 4 },
          fc.constantFrom('block_action', 'BLOCK_ACTIONS', 'view_closed', 'shortcut'),
        ),
        user: fc.oneof(
          userId.map((id) => ({ id })),
          junk,
        ),
        trigger_id: fc.oneof(text, junk),
        container: fc.oneof(
          fc.record({ channel_id: text, message_ts: text }, { requiredKeys: [] }),
          junk,
        ),
        channel: fc.oneof(
          text.map((id) => ({ id })),
          junk,
        ),
        message: fc.oneof(
          text.map((ts) => ({ ts })),
          junk,
        ),
        actions: fc.oneof(
          fc.array(
            fc.record(
              { action_id: actionId, block_id: text, value: buttonValue, extra: junk },
              { requiredKeys: [] },
            ),
            { maxLength: 3 },
          ),
          junk,
        ),
        junk,
      },
      { requiredKeys: ['type'] },
    );
    const modalContext = fc.record(
      { intent_id: intentId, channel: text, ts: text, block_id: text, step },
      { requiredKeys: [] },
    );
    const viewSubmission = fc.record(
      {
        type: fc.constant('view_submission'),
        user: fc.oneof(
          userId.map((id) => ({ id })),
          junk,
        ),
        view: fc.record(
          {
            callback_id: fc.oneof(fc.constant('countersign.reject_reason'), text),
            private_metadata: fc.oneof(
              modalContext.map((context) => JSON.stringify(context)),
              text,
            ),
            state: fc.oneof(
              fc.record({
                values: fc.oneof(
                  text.map((reason) => ({ reason: { reason: { value: reason } } })),
                  junk,
                ),
              }),
              junk,
            ),
          },
          { requiredKeys: [] },
        ),
      },
      { requiredKeys: ['type'] },
    );
    // Shaped as Slack sends them, so that the hostile values reach the vote and not just zod.
    const wellFormedClick = fc
      .record({
        userId,
        channel: someText,
        messageTs: someText,
        actionId: fc.constantFrom(SLACK_ACTIONS.approve, SLACK_ACTIONS.reject),
        value: buttonValue,
        blockId: someText,
        triggerId: someText,
      })
      .map(buildBlockActionsBody);
    const wellFormedSubmission = fc
      .record({
        userId,
        id: someText,
        context: fc.record(
          { intent_id: intentId, channel: someText, ts: someText, step: fc.nat({ max: 999 }) },
          { requiredKeys: ['intent_id', 'channel', 'ts'] },
        ),
        reason: text,
      })
      .map(({ userId: submitter, id, context, reason }) =>
        buildViewSubmissionBody({
          userId: submitter,
          view: {
            id,
            callback_id: 'countersign.reject_reason',
            private_metadata: JSON.stringify(context),
          },
          values: { reason: { reason } },
        }),
      );
    const payload = fc
      .oneof(blockActions, viewSubmission, fc.jsonValue())
      .filter((value) => !JSON.stringify(value).includes(cfo));
    const body = fc.oneof(
      { arbitrary: payload.map((value) => formOf(value).toString()), weight: 3 },
      { arbitrary: wellFormedClick, weight: 2 },
      { arbitrary: wellFormedSubmission, weight: 2 },
      // No payload field, or one that is not JSON.
      fc
        .dictionary(text, text)
        .map((fields) => new URLSearchParams(fields))
        .filter((form) => !form.has('payload'))
        .map(String),
      text.map((value) => new URLSearchParams({ payload: value }).toString()),
      // Base64, as if some hop had encoded the form or the JSON in it.
      payload.map((value) => Buffer.from(formOf(value).toString()).toString('base64')),
      payload.map((value) => `payload=${Buffer.from(JSON.stringify(value)).toString('base64')}`),
      // Only the first field counts: a second one must not slip a payload past the checks.
      fc
        .tuple(text, payload)
        .map(([first, second]) => `${new URLSearchParams({ payload: first })}&${formOf(second)}`),
      fc.string({ unit: 'binary', maxLength: 300 }),
    );
    await fc.assert(
      fc.asyncProperty(body, async (form) => {
        const before = await watched();
        const { views } = await slackInteractions();
        const answer = await postSigned(form);
        expectSlackAnswer(answer);
        // Signed by Slack, so never 401: what is wrong is the payload.
        expect([200, 400]).toContain(answer.status);
        expect(await watched()).toEqual(before);
        // Only a recipient's Reject opens the modal that asks why.
        expect((await slackInteractions()).views).toEqual(views);
      }),
      { numRuns: 100 },
    );
  }, 180_000);

  it('a real click or Reject form with one field changed decides nothing; unchanged, the click decides', async () => {
    const targetId = await agent.sendIntent({
      intent_type: 'intent.fuzz.v1',
      to_agent: 'agent://myorg/fuzz',
      payload: { reviewer: 'treasurer@company.com' },
    });
    const message = await slackMessageOf(targetId);
    const treasurer = message.slack.user ?? '';
    expect(treasurer).toBe(slackUserIdFor('treasurer@company.com'));
    const approve = clickOf(message, SLACK_ACTIONS.approve, treasurer);
    const trigger = `fuzz-${targetId}`;
    const rejectClick = {
      ...clickOf(message, SLACK_ACTIONS.reject, treasurer),
      triggerId: trigger,
    };
    expectSlackAnswer(await postSigned(buildBlockActionsBody(rejectClick)));
    const opened = (await slackInteractions()).views.find((view) => view.trigger_id === trigger);
    if (!opened) throw new Error('the Reject click opened no modal');
    const metadata = JSON.parse(String(opened.view.private_metadata)) as Record<string, unknown>;
    const submission = {
      userId: treasurer,
      view: { id: opened.id, callback_id: opened.view.callback_id, private_metadata: metadata },
      values: { reason: { reason: 'fuzzed' } },
    };
    const submitted = (changed: typeof submission) =>
      buildViewSubmissionBody({
        ...changed,
        view: { ...changed.view, private_metadata: JSON.stringify(changed.view.private_metadata) },
      });
    const withMetadata = (fields: Record<string, unknown>) => ({
      ...submission,
      view: { ...submission.view, private_metadata: { ...metadata, ...fields } },
    });

    const someoneElse = fc
      .oneof(
        fc.constantFrom(cfo, dave, treasurer.toLowerCase(), `${treasurer}0`, treasurer.slice(1)),
        fc.string({ minLength: 1, maxLength: 40 }),
      )
      .filter((id) => id !== treasurer);
    const otherIntent = fc.oneof(fc.constantFrom(pendingId, endedId), oneCharChanged(targetId));
    // Mostly steps a button could name (1 to 999), which a step-blind check would count.
    const otherStep = fc.oneof(
      { arbitrary: fc.integer({ min: 1, max: 999 }), weight: 4 },
      fc.integer({ min: 1000 }),
      fc.integer({ max: -1 }),
    );
    const click = fc.oneof(
      someoneElse.map((userId) => ({ ...approve, userId })),
      otherIntent.map((id) => ({ ...approve, value: `${id}:0` })),
      fc
        .oneof(
          { arbitrary: otherStep.map(String), weight: 4 },
          fc.constantFrom('00', '+0', '0.0', '0 ', '-0', '', '0:0'),
        )
        .map((at) => ({ ...approve, value: `${targetId}:${at}` })),
      // A button without its step counts in the only step there is: not a mutation.
      fc
        .string({ maxLength: 80 })
        .filter((value) => value !== approve.value && value !== targetId)
        .map((value) => ({ ...approve, value })),
    );
    const form = fc.oneof(
      someoneElse.map((userId) => ({ ...submission, userId })),
      otherIntent.map((id) => withMetadata({ intent_id: id })),
      fc
        .oneof(
          { arbitrary: otherStep, weight: 4 },
          fc.double({ noInteger: true }),
          fc.constantFrom('0', null, true),
        )
        .map((step) => withMetadata({ step })),
      fc
        .string({ maxLength: 40 })
        .filter((id) => id !== submission.view.callback_id)
        .map((id) => ({ ...submission, view: { ...submission.view, callback_id: id } })),
    );

    const before = { target: await settled(targetId), ...(await watched()) };
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          click.map((changed) => ({ click: changed })),
          form.map((changed) => ({ form: changed })),
        ),
        async (mutant) => {
          const answer = await postSigned(
            'click' in mutant ? buildBlockActionsBody(mutant.click) : submitted(mutant.form),
          );
          expectSlackAnswer(answer);
          // Each is a click or form Slack could send: its refusal is for the clicker, in Slack.
          expect(answer.status, answer.text).toBe(200);
          expect({ target: await stateOf(targetId), ...(await watched()) }).toEqual(before);
        },
      ),
      // A wrong decision cannot be undone, so every input after it would fail too: shrinking
      // would end on whichever is smallest, not on the one that decided.
      { numRuns: 60, endOnFailure: true },
    );

    // The mutations, not the click they came from, were what decided nothing.
    expectSlackAnswer(await postSigned(buildBlockActionsBody(approve)));
    const decided = await agent.waitFor(targetId, { timeoutMs: 20_000 });
    expect(decided).toMatchObject({
      status: 'approved',
      decision: { by: 'treasurer@company.com', channel: 'slack' },
    });
    expect(await watched()).toEqual({ pending: before.pending, ended: before.ended });
  }, 180_000);
});
