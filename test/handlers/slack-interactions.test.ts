import { SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import {
  DynamoDBDocumentClient,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  buildBlockActionsBody,
  buildViewSubmissionBody,
  signSlackRequest,
} from '../../local/standins/slack';
import { type FakeSlack, startFakeSlack } from './fake-slack';
import {
  apiEvent,
  IN_FIRST_STAGE,
  PAYMENT_INTENT,
  pendingIntentItem,
  setHandlerEnvironment,
} from './helpers';

const SIGNING_SECRET = 'slack-signing-secret-for-tests';
const USERS: Record<string, string> = {
  U_CFO: 'CFO@Company.com', // Slack keeps the case people typed; reviewers are stored lower-case
  U_CEO: 'ceo@company.com',
  U_OUTSIDER: 'mallory@company.com',
};

setHandlerEnvironment();
const dynamo = mockClient(DynamoDBDocumentClient);
const sfn = mockClient(SFNClient);
let slack: FakeSlack;
const { handler } = await import('../../lambdas/handlers/slack-interactions');

beforeAll(async () => {
  slack = await startFakeSlack();
  Object.assign(process.env, {
    SLACK_BOT_TOKEN: 'xoxb-test-token',
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: slack.apiUrl,
  });
});
afterAll(() => slack.close());

const now = Date.now();
/** The stored intent: what every read returns, replaced by every write, like the table. */
let meta: Record<string, unknown>;
/** The intent in its first stage, asked on email and Slack; `policy` replaces fields of its policy. */
const intentItem = (
  overrides: Record<string, unknown> = {},
  policy: Record<string, unknown> = {},
) =>
  pendingIntentItem(
    now,
    { ...PAYMENT_INTENT, ...IN_FIRST_STAGE, ...overrides },
    { remind_after: [], channels: ['email', 'slack'], ...policy },
  );

beforeEach(() => {
  meta = intentItem();
  dynamo.on(QueryCommand).callsFake(() => ({
    Items: [meta, { sk: 'PAYLOAD', payload_json: JSON.stringify({ amount: 1200 }) }],
  }));
  dynamo.on(TransactWriteCommand).callsFake((input) => {
    for (const entry of input.TransactItems ?? []) {
      if (entry.Put?.Item?.sk === 'META') meta = entry.Put.Item;
    }
    return {};
  });
  dynamo.on(PutCommand).callsFake((input) => {
    if (input.Item?.sk === 'META') meta = input.Item;
    return {};
  });
  sfn.on(SendTaskSuccessCommand).resolves({});
  slack.on('users.info', (args) => {
    const email = USERS[String(args.user)];
    return {
      body: email
        ? { ok: true, user: { id: args.user, profile: { email } } }
        : { ok: false, error: 'user_not_found' },
    };
  });
});
afterEach(() => {
  dynamo.reset();
  sfn.reset();
  slack.reset();
});

function post(
  body: string,
  options: { secret?: string; timestamp?: number; base64?: boolean; signedBody?: string } = {},
) {
  const headers = {
    'Content-Type': 'application/x-www-form-urlencoded',
    ...signSlackRequest(
      options.secret ?? SIGNING_SECRET,
      options.signedBody ?? body,
      options.timestamp ?? Math.floor(Date.now() / 1000),
    ),
  };
  const event = apiEvent({
    method: 'POST',
    resource: '/slack/interactions',
    headers,
    body: options.base64 ? Buffer.from(body, 'utf8').toString('base64') : body,
  });
  return handler({ ...event, isBase64Encoded: options.base64 ?? false });
}

/** A click on a button of the message posted for step 0 (`value` as the button carries it). */
const click = (
  userId: string,
  actionId: string,
  extra: { triggerId?: string; value?: string } = {},
) =>
  buildBlockActionsBody({
    userId,
    channel: 'D_CFO',
    messageTs: '1780000000.000100',
    actionId,
    blockId: 'countersign.decide:user',
    value: 'int_1:0',
    ...extra,
  });

/**
 * The reject-reason modal submitted for the message of `click`; `step`, when given, is the step
 * the modal was opened in, as its private metadata carries it.
 */
const submission = (userId: string, reason: string, step?: number) =>
  buildViewSubmissionBody({
    userId,
    view: {
      id: 'V1',
      callback_id: 'countersign.reject_reason',
      private_metadata: JSON.stringify({
        intent_id: 'int_1',
        channel: 'D_CFO',
        ts: '1780000000.000100',
        block_id: 'countersign.decide:user',
        ...(step === undefined ? {} : { step }),
      }),
    },
    values: { reason: { reason } },
  });

const writes = () => dynamo.commandCalls(TransactWriteCommand).length;
/** The audit events written, by type: what the trail would show. */
const written = (type: string) =>
  dynamo
    .commandCalls(TransactWriteCommand)
    .flatMap((call) => call.args[0].input.TransactItems ?? [])
    .filter((entry) => entry.Put?.Item?.type === type);
const ephemerals = () => slack.callsTo('chat.postEphemeral').map((call) => String(call.args.text));

describe('Handler: POST /slack/interactions, the signature', () => {
  it('refuses a forged signature with 401 in the contract shape, and changes nothing', async () => {
    const result = await post(click('U_CFO', 'countersign.approve'), { secret: 'guessed' });

    expect(result.statusCode).toBe(401);
    expect(JSON.parse(result.body)).toEqual({
      error: {
        code: 'unauthenticated',
        message: 'This request is not signed by Slack: the signature is missing, stale or wrong.',
        details: [],
      },
    });
    expect(dynamo.calls()).toHaveLength(0);
    expect(slack.calls).toHaveLength(0);
  });

  it('refuses a correctly signed request whose timestamp is over five minutes old', async () => {
    const stale = Math.floor(Date.now() / 1000) - 6 * 60;
    const result = await post(click('U_CFO', 'countersign.approve'), { timestamp: stale });
    expect(result.statusCode).toBe(401);
    expect(writes()).toBe(0);
  });

  it('refuses a body changed after signing', async () => {
    const signed = click('U_CFO', 'countersign.approve');
    const tampered = click('U_OUTSIDER', 'countersign.approve');
    const result = await post(tampered, { signedBody: signed });
    expect(result.statusCode).toBe(401);
    expect(writes()).toBe(0);
  });

  it('refuses a request without Slack headers', async () => {
    const result = await handler(
      apiEvent({ method: 'POST', resource: '/slack/interactions', body: 'payload=%7B%7D' }),
    );
    expect(result.statusCode).toBe(401);
  });

  it('answers 400, not 5xx, to a signed body that is not an interaction', async () => {
    const noPayload = await post('hello=world');
    expect(noPayload.statusCode).toBe(400);
    expect(JSON.parse(noPayload.body).error.code).toBe('invalid_request');
    const notJson = await post('payload=%7Bnot-json');
    expect(JSON.parse(notJson.body).error.code).toBe('invalid_request');
    const wrongShape = await post(
      `payload=${encodeURIComponent(JSON.stringify({ type: 'block_actions', actions: 'x' }))}`,
    );
    expect(wrongShape.statusCode).toBe(400);
    expect(JSON.parse(wrongShape.body).error.code).toBe('validation_failed');
  });
});

describe('Handler: POST /slack/interactions, Approve', () => {
  it('decides on channel slack, wakes the execution, and replaces the buttons with the outcome', async () => {
    const result = await post(click('U_CFO', 'countersign.approve'));

    expect(result.statusCode).toBe(200);
    expect(result.body).toBe('');
    expect(meta).toMatchObject({
      status: 'approved',
      version: 4,
      decision: { outcome: 'approved', by: 'cfo@company.com', channel: 'slack' },
    });
    expect(sfn.commandCalls(SendTaskSuccessCommand)[0]?.args[0].input.taskToken).toBe(
      'token-of-stage-0',
    );
    const [update] = slack.callsTo('chat.update');
    expect(update?.args).toMatchObject({ channel: 'D_CFO', ts: '1780000000.000100' });
    expect(JSON.stringify(update?.args.blocks)).toContain(
      '*Approved* by cfo@company.com via slack',
    );
    expect(JSON.stringify(update?.args.blocks)).not.toContain('"type":"actions"');
    expect(slack.callsTo('users.info')[0]?.authorization).toBe('Bearer xoxb-test-token');
  });

  it('a replay of the same signed request within the five minutes decides once and says so', async () => {
    const body = click('U_CFO', 'countersign.approve');
    const timestamp = Math.floor(Date.now() / 1000);

    const first = await post(body, { timestamp });
    const decided = structuredClone(meta);
    const replay = await post(body, { timestamp });

    expect([first.statusCode, replay.statusCode]).toEqual([200, 200]);
    expect(meta).toEqual(decided);
    expect(meta).toMatchObject({ status: 'approved' });
    expect(written('approval')).toHaveLength(1);
    expect(sfn.commandCalls(SendTaskSuccessCommand)).toHaveLength(1);
    expect(ephemerals()).toEqual([
      expect.stringMatching(/^Nothing was changed: .*\*Approved\* by cfo@company\.com via slack/),
    ]);
  });

  it('a button posted before buttons carried the step still decides', async () => {
    const result = await post(click('U_CFO', 'countersign.approve', { value: 'int_1' }));
    expect(result.statusCode).toBe(200);
    expect(meta).toMatchObject({ status: 'approved', decision: { by: 'cfo@company.com' } });
  });

  it('accepts the body base64-encoded, as API Gateway may pass it', async () => {
    const result = await post(click('U_CFO', 'countersign.approve'), { base64: true });
    expect(result.statusCode).toBe(200);
    expect(meta).toMatchObject({ status: 'approved' });
  });

  it('a second click changes nothing and says who decided (exactly once)', async () => {
    await post(click('U_CFO', 'countersign.approve'));
    const decided = structuredClone(meta);

    const again = await post(click('U_CFO', 'countersign.approve'));

    expect(again.statusCode).toBe(200);
    expect(meta).toEqual(decided);
    expect(writes()).toBe(1);
    expect(ephemerals()).toEqual([
      expect.stringMatching(/^Nothing was changed: .*\*Approved\* by cfo@company\.com via slack/),
    ]);
  });

  it('refuses a click by someone who is not a current recipient, telling only them', async () => {
    const result = await post(click('U_OUTSIDER', 'countersign.approve'));

    expect(result.statusCode).toBe(200);
    expect(writes()).toBe(0);
    expect(meta).toMatchObject({ status: 'pending', approvals: [] });
    expect(slack.callsTo('chat.postEphemeral')[0]?.args).toMatchObject({
      channel: 'D_CFO',
      user: 'U_OUTSIDER',
    });
    expect(ephemerals()[0]).toContain('You (mallory@company.com) are not asked to decide');
    expect(slack.callsTo('chat.update')).toHaveLength(0);
  });

  it('refuses a Slack user without a known email', async () => {
    await post(click('U_STRANGER', 'countersign.approve'));
    expect(writes()).toBe(0);
    expect(ephemerals()[0]).toContain('no email address Countersign can match');
  });

  it('on an intent decided elsewhere, shows the outcome in the message and to the clicker', async () => {
    meta = intentItem({
      status: 'rejected',
      decision: {
        outcome: 'rejected',
        by: 'cfo@company.com',
        at: new Date(now).toISOString(),
        comment: 'no budget',
        channel: 'email',
      },
    });
    await post(click('U_CFO', 'countersign.approve'));
    expect(writes()).toBe(0);
    expect(JSON.stringify(slack.callsTo('chat.update')[0]?.args.blocks)).toContain(
      '*Rejected* by cfo@company.com via email',
    );
    expect(ephemerals()[0]).toMatch(/^Nothing was changed/);
  });

  it('ignores the review-page link button (it only opens a browser)', async () => {
    const result = await post(click('U_CFO', 'countersign.open_review'));
    expect(result.statusCode).toBe(200);
    expect(writes()).toBe(0);
    expect(slack.calls).toHaveLength(0);
  });
});

describe('Handler: POST /slack/interactions, Reject', () => {
  it('opens a modal asking why, and decides nothing yet', async () => {
    const result = await post(click('U_CFO', 'countersign.reject', { triggerId: 'trig-1' }));

    expect(result.statusCode).toBe(200);
    expect(writes()).toBe(0);
    const [open] = slack.callsTo('views.open');
    expect(open?.args.trigger_id).toBe('trig-1');
    const view = open?.args.view as { callback_id: string; private_metadata: string };
    expect(view.callback_id).toBe('countersign.reject_reason');
    expect(JSON.parse(view.private_metadata)).toEqual({
      intent_id: 'int_1',
      channel: 'D_CFO',
      ts: '1780000000.000100',
      block_id: 'countersign.decide:user',
      step: 0,
      version: 0,
    });
  });

  it('says so when Slack cannot open the modal (the trigger expired)', async () => {
    slack.on('views.open', () => ({ body: { ok: false, error: 'expired_trigger_id' } }));
    const result = await post(click('U_CFO', 'countersign.reject', { triggerId: 'old' }));
    expect(result.statusCode).toBe(200);
    expect(ephemerals()).toEqual([
      'Slack could not open the form to ask for a reason. Try again, or use the review page.',
    ]);
    expect(writes()).toBe(0);
  });

  it('does not open the modal for an outsider', async () => {
    await post(click('U_OUTSIDER', 'countersign.reject'));
    expect(slack.callsTo('views.open')).toHaveLength(0);
    expect(ephemerals()[0]).toContain('not asked to decide');
  });

  it('the submitted reason rejects on channel slack, closes the modal, and updates the message', async () => {
    const result = await post(submission('U_CFO', '  Wrong vendor  '));

    expect(result.statusCode).toBe(200);
    expect(JSON.parse(result.body)).toEqual({ response_action: 'clear' });
    expect(meta).toMatchObject({
      status: 'rejected',
      decision: { by: 'cfo@company.com', comment: 'Wrong vendor', channel: 'slack' },
    });
    expect(sfn.commandCalls(SendTaskSuccessCommand)).toHaveLength(1);
    const update = slack.callsTo('chat.update')[0]?.args;
    expect(update).toMatchObject({ channel: 'D_CFO', ts: '1780000000.000100' });
    expect(JSON.stringify(update?.blocks)).toContain('>Wrong vendor');
  });

  it('a blank reason is refused inside the modal', async () => {
    const result = await post(submission('U_CFO', '   '));
    expect(JSON.parse(result.body)).toEqual({
      response_action: 'errors',
      errors: { reason: 'Say why you reject: a reason is required.' },
    });
    expect(writes()).toBe(0);
  });

  it('a submission by an outsider changes nothing and says why', async () => {
    const result = await post(submission('U_OUTSIDER', 'I object'));
    const body = JSON.parse(result.body);
    expect(body.response_action).toBe('update');
    expect(JSON.stringify(body.view)).toContain('not asked to decide');
    expect(meta).toMatchObject({ status: 'pending' });
  });
});

describe('Handler: POST /slack/interactions, approval chains', () => {
  // The CFO approves both steps; nothing forbids the same reviewer in two steps.
  const chain = () =>
    intentItem(
      {},
      {
        steps: [
          { reviewers: ['cfo@company.com'], required_approvals: 1 },
          { reviewers: ['cfo@company.com', 'ceo@company.com'], required_approvals: 1 },
        ],
      },
    );
  const reasonFor = (userId: string, step?: number) => submission(userId, 'Not this quarter', step);

  beforeEach(() => {
    meta = chain();
  });

  it('a replayed step-1 click does not become a step-2 vote: one approval, and the replay says it is recorded', async () => {
    const body = click('U_CFO', 'countersign.approve');
    const timestamp = Math.floor(Date.now() / 1000);

    expect((await post(body, { timestamp })).statusCode).toBe(200);
    expect(meta).toMatchObject({ status: 'pending', step: 1 });
    const afterStep = structuredClone(meta);
    const replay = await post(body, { timestamp });

    expect(replay.statusCode).toBe(200);
    expect(meta).toEqual(afterStep);
    expect(written('approval')).toHaveLength(1);
    expect(ephemerals()).toEqual([
      'Your approval of step 1 of 2 is already recorded; nothing was changed. Step 2 of 2 now waits for its reviewers; it has its own message.',
    ]);
    // The step ended once: one wake, for the step.
    const wakes = sfn.commandCalls(SendTaskSuccessCommand).map((c) => c.args[0].input.output);
    expect(wakes).toEqual([JSON.stringify({ reason: 'step' })]);
  });

  it("the step-2 message's own button then decides, as the CFO's second approval", async () => {
    await post(click('U_CFO', 'countersign.approve'));
    const result = await post(click('U_CFO', 'countersign.approve', { value: 'int_1:1' }));

    expect(result.statusCode).toBe(200);
    expect(meta).toMatchObject({
      status: 'approved',
      decision: { by: 'cfo@company.com', channel: 'slack' },
    });
    const approvals = (meta.approvals as { by: string; step: number }[]).map((a) => [a.by, a.step]);
    expect(approvals).toEqual([
      ['cfo@company.com', 0],
      ['cfo@company.com', 1],
    ]);
  });

  it('a step-1 message clicked once that step is over changes nothing, even for someone asked in step 2', async () => {
    await post(click('U_CFO', 'countersign.approve'));
    const afterStep = structuredClone(meta);

    await post(click('U_CEO', 'countersign.approve'));
    await post(click('U_CEO', 'countersign.reject', { triggerId: 'trig-2' }));

    expect(meta).toEqual(afterStep);
    expect(slack.callsTo('views.open')).toHaveLength(0);
    expect(ephemerals()).toEqual([
      'Nothing was changed: this message was for step 1 of 2, which is over. Step 2 of 2 now waits for its reviewers; it has its own message.',
      'Nothing was changed: this message was for step 1 of 2, which is over. Step 2 of 2 now waits for its reviewers; it has its own message.',
    ]);
  });

  it('a Reject form opened in step 1 and submitted after it ended changes nothing', async () => {
    await post(click('U_CFO', 'countersign.approve'));
    const afterStep = structuredClone(meta);

    const result = await post(reasonFor('U_CFO', 0));

    const answer = JSON.parse(result.body);
    expect(answer.response_action).toBe('update');
    expect(JSON.stringify(answer.view)).toContain(
      'Your approval of step 1 of 2 is already recorded',
    );
    expect(meta).toEqual(afterStep);
    expect(written('rejection')).toHaveLength(0);
  });

  it('a button without its step (posted before) is refused to whoever approved an earlier step, and decides for the others', async () => {
    await post(click('U_CFO', 'countersign.approve'));
    const afterStep = structuredClone(meta);

    await post(click('U_CFO', 'countersign.approve', { value: 'int_1' }));
    expect(meta).toEqual(afterStep);
    expect(ephemerals()).toEqual([
      'Nothing was changed: this message does not say which step it was for, and you already approved an earlier step, so this click could repeat that approval. Step 2 of 2 now waits for its reviewers; it has its own message.',
    ]);
    // A Reject modal opened before the step was kept in it: the same rule.
    await post(reasonFor('U_CFO'));
    expect(meta).toEqual(afterStep);

    await post(click('U_CEO', 'countersign.approve', { value: 'int_1' }));
    expect(meta).toMatchObject({ status: 'approved', decision: { by: 'ceo@company.com' } });
  });
});

describe("Handler: POST /slack/interactions, within Slack's 3 seconds", () => {
  /** Slack shows the clicker an error when the answer takes longer than this. */
  const SLACK_GIVES_UP_MS = 3000;
  const knownUser = (args: Record<string, unknown>) => {
    const email = USERS[String(args.user)];
    return { ok: true, user: { id: args.user, profile: { email } } };
  };
  const timed = async <T>(work: () => Promise<T>) => {
    const started = performance.now();
    const result = await work();
    return { result, ms: performance.now() - started };
  };

  it('a slow users.info and a chat.update that never answers: Approve still decides, wakes the agent, and answers in time', async () => {
    slack.on('users.info', (args) => ({ delayMs: 1200, body: knownUser(args) }));
    slack.on('chat.update', () => ({ delayMs: 10_000, body: { ok: true } }));

    const { result, ms } = await timed(() => post(click('U_CFO', 'countersign.approve')));

    expect(result.statusCode).toBe(200);
    expect(ms).toBeLessThan(SLACK_GIVES_UP_MS);
    expect(meta).toMatchObject({
      status: 'approved',
      decision: { outcome: 'approved', by: 'cfo@company.com', channel: 'slack' },
    });
    const wake = sfn.commandCalls(SendTaskSuccessCommand)[0]?.args[0].input;
    expect(wake?.taskToken).toBe('token-of-stage-0');
    expect(JSON.parse(wake?.output ?? '{}')).toEqual({ reason: 'decided' });
    // The rewrite was tried and given up; the decided notice of the workflow rewrites it later.
    expect(slack.callsTo('chat.update').length).toBeGreaterThanOrEqual(1);
  });

  it('a rejection submitted while chat.update hangs closes the modal in time', async () => {
    slack.on('chat.update', () => ({ delayMs: 10_000, body: { ok: true } }));
    const body = buildViewSubmissionBody({
      userId: 'U_CFO',
      view: {
        id: 'V1',
        callback_id: 'countersign.reject_reason',
        private_metadata: JSON.stringify({
          intent_id: 'int_1',
          channel: 'D_CFO',
          ts: '1780000000.000100',
        }),
      },
      values: { reason: { reason: 'Wrong vendor' } },
    });

    const { result, ms } = await timed(() => post(body));

    expect(ms).toBeLessThan(SLACK_GIVES_UP_MS);
    expect(JSON.parse(result.body)).toEqual({ response_action: 'clear' });
    expect(meta).toMatchObject({ status: 'rejected', decision: { comment: 'Wrong vendor' } });
    expect(sfn.commandCalls(SendTaskSuccessCommand)).toHaveLength(1);
  });

  it('when users.info does not answer in time, nothing is decided and the clicker is told to retry, in time', async () => {
    slack.on('users.info', (args) => ({ delayMs: 10_000, body: knownUser(args) }));

    const { result, ms } = await timed(() => post(click('U_CFO', 'countersign.approve')));

    expect(result.statusCode).toBe(200);
    expect(ms).toBeLessThan(SLACK_GIVES_UP_MS);
    expect(writes()).toBe(0);
    expect(meta).toMatchObject({ status: 'pending', approvals: [] });
    expect(ephemerals()).toEqual([
      'Slack took too long to tell Countersign who you are, so nothing was changed. Please try again.',
    ]);
  });
});

describe('Handler: POST /slack/interactions, configuration', () => {
  it('answers 404 where Slack is not configured', async () => {
    const saved = process.env.SLACK_SIGNING_SECRET;
    delete process.env.SLACK_SIGNING_SECRET;
    try {
      const result = await post(click('U_CFO', 'countersign.approve'));
      expect(result.statusCode).toBe(404);
      expect(JSON.parse(result.body).error.code).toBe('not_found');
    } finally {
      process.env.SLACK_SIGNING_SECRET = saved;
    }
  });
});

describe('Handler: POST /slack/interactions, Edit and approve', () => {
  const editableMeta = (extra: Record<string, unknown> = {}) =>
    intentItem({ editable: ['/amount'], edits: {}, payload_version: 0, ...extra });
  const editSubmission = (userId: string, values: Record<string, Record<string, string>>) =>
    buildViewSubmissionBody({
      userId,
      view: {
        id: 'V2',
        callback_id: 'countersign.edit_approve',
        private_metadata: JSON.stringify({
          intent_id: 'int_1',
          channel: 'D_CFO',
          ts: '1780000000.000100',
          block_id: 'countersign.decide:user',
          step: 0,
          version: 0,
        }),
      },
      values,
    });

  it('opens a modal with the editable values as the message showed them, and decides nothing yet', async () => {
    meta = editableMeta();
    const result = await post(click('U_CFO', 'countersign.edit', { triggerId: 'trig-2' }));

    expect(result.statusCode).toBe(200);
    expect(writes()).toBe(0);
    const [open] = slack.callsTo('views.open');
    expect(open?.args.trigger_id).toBe('trig-2');
    const view = open?.args.view as {
      callback_id: string;
      private_metadata: string;
      blocks: {
        block_id?: string;
        label?: { text: string };
        element?: { initial_value?: string };
      }[];
    };
    expect(view.callback_id).toBe('countersign.edit_approve');
    expect(JSON.parse(view.private_metadata)).toMatchObject({ step: 0, version: 0 });
    const field = view.blocks.find((block) => block.block_id === 'edit.0');
    expect(field?.label?.text).toBe('/amount');
    expect(field?.element?.initial_value).toBe('1200');
  });

  it('the submitted form approves the edited payload on channel slack and closes the modal', async () => {
    meta = editableMeta();
    const result = await post(
      editSubmission('U_CFO', { 'edit.0': { value: '1000' }, comment: { reason: 'Capped' } }),
    );

    expect(JSON.parse(result.body)).toEqual({ response_action: 'clear' });
    expect(meta).toMatchObject({
      status: 'approved',
      edits: { '/amount': 1000 },
      decision: {
        by: 'cfo@company.com',
        channel: 'slack',
        comment: 'Capped',
        edits: { '/amount': 1000 },
      },
    });
    expect(written('approved')[0]?.Put?.Item?.data).toMatchObject({ edits: { '/amount': 1000 } });
    expect(sfn.commandCalls(SendTaskSuccessCommand)).toHaveLength(1);
  });

  it('a value not of its type is refused next to its field, and nothing changes', async () => {
    meta = editableMeta();
    const result = await post(editSubmission('U_CFO', { 'edit.0': { value: 'a lot' } }));
    expect(JSON.parse(result.body)).toEqual({
      response_action: 'errors',
      errors: { 'edit.0': 'This must be a number.' },
    });
    expect(writes()).toBe(0);
  });

  it('a button or form shown before an edit decides nothing, and says so', async () => {
    meta = editableMeta({ edits: { '/amount': 900 }, payload_version: 1 });
    await post(click('U_CFO', 'countersign.approve'));
    expect(writes()).toBe(0);
    expect(ephemerals()[0]).toContain('the request was edited after this message was shown');

    const result = await post(editSubmission('U_CFO', { 'edit.0': { value: '1000' } }));
    expect(writes()).toBe(0);
    expect(JSON.stringify(JSON.parse(result.body))).toContain(
      'the request was edited after this message was shown',
    );
  });
});
