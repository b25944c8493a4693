import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { IntentState, ResolvedPolicy } from '../../lambdas/domain/intent';
import {
  buildBlockActionsBody,
  buildViewSubmissionBody,
  signSlackRequest,
} from '../../local/standins/slack';
import { startFakeSlack } from './fake-slack';
import { apiEvent, IN_FIRST_STAGE, PAYMENT_INTENT, setHandlerEnvironment } from './helpers';
import { NOW, type PortFakes, pendingIntent, resetPortFakes } from './port-fakes';

/**
 * Slack's interactivity endpoint over in-memory ports: the intent repository, the workflow and
 * a Slack workspace (`FakeSlack`, whose slow calls honour the caller's deadline as the Web API
 * adapter does; the adapter itself is `test/adapters/slack-web.test.ts`'s).
 */
vi.mock('../../lambdas/shared/deps', async (importOriginal) => ({
  ...(await importOriginal<object>()),
  ...(await import('./port-fakes')).fakeDeps(),
}));

const SIGNING_SECRET = 'slack-signing-secret-for-tests';
const USERS: Record<string, string> = {
  U_CFO: 'CFO@Company.com', // Slack keeps the case people typed; reviewers are stored lower-case
  U_CEO: 'ceo@company.com',
  U_OUTSIDER: 'mallory@company.com',
};

setHandlerEnvironment();
Object.assign(process.env, {
  SLACK_BOT_TOKEN: 'xoxb-test-token',
  SLACK_SIGNING_SECRET: SIGNING_SECRET,
});
const { handler } = await import('../../lambdas/handlers/slack-interactions');

let fakes: PortFakes;
/** Every write the handler tried (a conditional write refused counts too). */
let commits: { mock: { calls: unknown[] } };

/** The intent in its first stage, asked on email and Slack; `policy` replaces fields of its policy. */
const intentState = (overrides: Partial<IntentState> = {}, policy: Partial<ResolvedPolicy> = {}) =>
  pendingIntent(
    { ...PAYMENT_INTENT, ...IN_FIRST_STAGE, payload: { amount: 1200 }, ...overrides },
    { remind_after: [], channels: ['email', 'slack'], ...policy },
  );

beforeEach(() => {
  fakes = resetPortFakes();
  fakes.intents.seed(intentState());
  fakes.slack.users = { ...USERS };
  commits = vi.spyOn(fakes.intents, 'commit');
});
afterEach(() => vi.restoreAllMocks());

/** The intent as stored now. */
const stored = () => fakes.intents.stored();
const seed = (intent: IntentState) => fakes.intents.seed(intent);

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

const writes = () => commits.mock.calls.length;
/** The audit events written, by type: what the trail shows. */
const written = (type: string) => fakes.intents.trail().filter((event) => event.type === type);
const ephemerals = () => fakes.slack.callsTo('chat.postEphemeral').map((args) => String(args.text));
const slackCalls = () => fakes.slack.calls;

describe('Handler: POST /slack/interactions, the signature', () => {
  it('refuses a forged signature with 401 in the contract shape, and changes nothing', async () => {
    const reads = vi.spyOn(fakes.intents, 'get');
    const result = await post(click('U_CFO', 'countersign.approve'), { secret: 'guessed' });

    expect(result.statusCode).toBe(401);
    expect(JSON.parse(result.body)).toEqual({
      error: {
        code: 'unauthenticated',
        message: 'This request is not signed by Slack: the signature is missing, stale or wrong.',
        details: [],
      },
    });
    expect(reads).not.toHaveBeenCalled();
    expect(writes()).toBe(0);
    expect(slackCalls()).toHaveLength(0);
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
    expect(stored()).toMatchObject({
      status: 'approved',
      version: 4,
      decision: { outcome: 'approved', by: 'cfo@company.com', channel: 'slack' },
    });
    expect(fakes.workflow.woken.map((wake) => wake.taskToken)).toEqual(['token-of-stage-0']);
    const [update] = fakes.slack.callsTo('chat.update');
    expect(update).toMatchObject({ channel: 'D_CFO', ts: '1780000000.000100' });
    expect(JSON.stringify(update?.blocks)).toContain('*Approved* by cfo@company.com via slack');
    expect(JSON.stringify(update?.blocks)).not.toContain('"type":"actions"');
  });

  it('a replay of the same signed request within the five minutes decides once and says so', async () => {
    const body = click('U_CFO', 'countersign.approve');
    const timestamp = Math.floor(Date.now() / 1000);

    const first = await post(body, { timestamp });
    const decided = stored();
    const replay = await post(body, { timestamp });

    expect([first.statusCode, replay.statusCode]).toEqual([200, 200]);
    expect(stored()).toEqual(decided);
    expect(stored()).toMatchObject({ status: 'approved' });
    expect(written('approval')).toHaveLength(1);
    expect(fakes.workflow.woken).toHaveLength(1);
    expect(ephemerals()).toEqual([
      expect.stringMatching(/^Nothing was changed: .*\*Approved\* by cfo@company\.com via slack/),
    ]);
  });

  it('a button posted before buttons carried the step still decides', async () => {
    const result = await post(click('U_CFO', 'countersign.approve', { value: 'int_1' }));
    expect(result.statusCode).toBe(200);
    expect(stored()).toMatchObject({ status: 'approved', decision: { by: 'cfo@company.com' } });
  });

  it('accepts the body base64-encoded, as API Gateway may pass it', async () => {
    const result = await post(click('U_CFO', 'countersign.approve'), { base64: true });
    expect(result.statusCode).toBe(200);
    expect(stored()).toMatchObject({ status: 'approved' });
  });

  it('a second click changes nothing and says who decided (exactly once)', async () => {
    await post(click('U_CFO', 'countersign.approve'));
    const decided = stored();

    const again = await post(click('U_CFO', 'countersign.approve'));

    expect(again.statusCode).toBe(200);
    expect(stored()).toEqual(decided);
    expect(writes()).toBe(1);
    expect(ephemerals()).toEqual([
      expect.stringMatching(/^Nothing was changed: .*\*Approved\* by cfo@company\.com via slack/),
    ]);
  });

  it('refuses a click by someone who is not a current recipient, telling only them', async () => {
    const result = await post(click('U_OUTSIDER', 'countersign.approve'));

    expect(result.statusCode).toBe(200);
    expect(writes()).toBe(0);
    expect(stored()).toMatchObject({ status: 'pending', approvals: [] });
    expect(fakes.slack.callsTo('chat.postEphemeral')[0]).toMatchObject({
      channel: 'D_CFO',
      user: 'U_OUTSIDER',
    });
    expect(ephemerals()[0]).toContain('You (mallory@company.com) are not asked to decide');
    expect(fakes.slack.callsTo('chat.update')).toHaveLength(0);
  });

  it('refuses a Slack user without a known email', async () => {
    await post(click('U_STRANGER', 'countersign.approve'));
    expect(writes()).toBe(0);
    expect(ephemerals()[0]).toContain('no email address Countersign can match');
  });

  it('on an intent decided elsewhere, shows the outcome in the message and to the clicker', async () => {
    seed(
      intentState({
        status: 'rejected',
        decision: {
          outcome: 'rejected',
          by: 'cfo@company.com',
          at: NOW.toISOString(),
          comment: 'no budget',
          channel: 'email',
        },
      }),
    );
    await post(click('U_CFO', 'countersign.approve'));
    expect(writes()).toBe(0);
    expect(JSON.stringify(fakes.slack.callsTo('chat.update')[0]?.blocks)).toContain(
      '*Rejected* by cfo@company.com via email',
    );
    expect(ephemerals()[0]).toMatch(/^Nothing was changed/);
  });

  it('ignores the review-page link button (it only opens a browser)', async () => {
    const result = await post(click('U_CFO', 'countersign.open_review'));
    expect(result.statusCode).toBe(200);
    expect(writes()).toBe(0);
    expect(slackCalls()).toHaveLength(0);
  });
});

describe('Handler: POST /slack/interactions, Reject', () => {
  it('opens a modal asking why, and decides nothing yet', async () => {
    const result = await post(click('U_CFO', 'countersign.reject', { triggerId: 'trig-1' }));

    expect(result.statusCode).toBe(200);
    expect(writes()).toBe(0);
    const [open] = fakes.slack.callsTo('views.open');
    expect(open?.trigger_id).toBe('trig-1');
    const view = open?.view as { callback_id: string; private_metadata: string };
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
    fakes.slack.refuse.set('views.open', 'expired_trigger_id');
    const result = await post(click('U_CFO', 'countersign.reject', { triggerId: 'old' }));
    expect(result.statusCode).toBe(200);
    expect(ephemerals()).toEqual([
      'Slack could not open the form to ask for a reason. Try again, or use the review page.',
    ]);
    expect(writes()).toBe(0);
  });

  it('does not open the modal for an outsider', async () => {
    await post(click('U_OUTSIDER', 'countersign.reject'));
    expect(fakes.slack.callsTo('views.open')).toHaveLength(0);
    expect(ephemerals()[0]).toContain('not asked to decide');
  });

  it('the submitted reason rejects on channel slack, closes the modal, and updates the message', async () => {
    const result = await post(submission('U_CFO', '  Wrong vendor  '));

    expect(result.statusCode).toBe(200);
    expect(JSON.parse(result.body)).toEqual({ response_action: 'clear' });
    expect(stored()).toMatchObject({
      status: 'rejected',
      decision: { by: 'cfo@company.com', comment: 'Wrong vendor', channel: 'slack' },
    });
    expect(fakes.workflow.woken).toHaveLength(1);
    const update = fakes.slack.callsTo('chat.update')[0];
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
    expect(stored()).toMatchObject({ status: 'pending' });
  });
});

describe('Handler: POST /slack/interactions, approval chains', () => {
  // The CFO approves both steps; nothing forbids the same reviewer in two steps.
  const chain = () =>
    intentState(
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
    seed(chain());
  });

  it('a replayed step-1 click does not become a step-2 vote: one approval, and the replay says it is recorded', async () => {
    const body = click('U_CFO', 'countersign.approve');
    const timestamp = Math.floor(Date.now() / 1000);

    expect((await post(body, { timestamp })).statusCode).toBe(200);
    expect(stored()).toMatchObject({ status: 'pending', step: 1 });
    const afterStep = stored();
    const replay = await post(body, { timestamp });

    expect(replay.statusCode).toBe(200);
    expect(stored()).toEqual(afterStep);
    expect(written('approval')).toHaveLength(1);
    expect(ephemerals()).toEqual([
      'Your approval of step 1 of 2 is already recorded; nothing was changed. Step 2 of 2 now waits for its reviewers; it has its own message.',
    ]);
    // The step ended once: one wake, for the step.
    expect(fakes.workflow.woken.map((wake) => wake.output)).toEqual([{ reason: 'step' }]);
  });

  it("the step-2 message's own button then decides, as the CFO's second approval", async () => {
    await post(click('U_CFO', 'countersign.approve'));
    const result = await post(click('U_CFO', 'countersign.approve', { value: 'int_1:1' }));

    expect(result.statusCode).toBe(200);
    expect(stored()).toMatchObject({
      status: 'approved',
      decision: { by: 'cfo@company.com', channel: 'slack' },
    });
    const approvals = stored().approvals.map((a) => [a.by, a.step]);
    expect(approvals).toEqual([
      ['cfo@company.com', 0],
      ['cfo@company.com', 1],
    ]);
  });

  it('a step-1 message clicked once that step is over changes nothing, even for someone asked in step 2', async () => {
    await post(click('U_CFO', 'countersign.approve'));
    const afterStep = stored();

    await post(click('U_CEO', 'countersign.approve'));
    await post(click('U_CEO', 'countersign.reject', { triggerId: 'trig-2' }));

    expect(stored()).toEqual(afterStep);
    expect(fakes.slack.callsTo('views.open')).toHaveLength(0);
    expect(ephemerals()).toEqual([
      'Nothing was changed: this message was for step 1 of 2, which is over. Step 2 of 2 now waits for its reviewers; it has its own message.',
      'Nothing was changed: this message was for step 1 of 2, which is over. Step 2 of 2 now waits for its reviewers; it has its own message.',
    ]);
  });

  it('a Reject form opened in step 1 and submitted after it ended changes nothing', async () => {
    await post(click('U_CFO', 'countersign.approve'));
    const afterStep = stored();

    const result = await post(reasonFor('U_CFO', 0));

    const answer = JSON.parse(result.body);
    expect(answer.response_action).toBe('update');
    expect(JSON.stringify(answer.view)).toContain(
      'Your approval of step 1 of 2 is already recorded',
    );
    expect(stored()).toEqual(afterStep);
    expect(written('rejection')).toHaveLength(0);
  });

  it('a button without its step (posted before) is refused to whoever approved an earlier step, and decides for the others', async () => {
    await post(click('U_CFO', 'countersign.approve'));
    const afterStep = stored();

    await post(click('U_CFO', 'countersign.approve', { value: 'int_1' }));
    expect(stored()).toEqual(afterStep);
    expect(ephemerals()).toEqual([
      'Nothing was changed: this message does not say which step it was for, and you already approved an earlier step, so this click could repeat that approval. Step 2 of 2 now waits for its reviewers; it has its own message.',
    ]);
    // A Reject modal opened before the step was kept in it: the same rule.
    await post(reasonFor('U_CFO'));
    expect(stored()).toEqual(afterStep);

    await post(click('U_CEO', 'countersign.approve', { value: 'int_1' }));
    expect(stored()).toMatchObject({ status: 'approved', decision: { by: 'ceo@company.com' } });
  });
});

describe("Handler: POST /slack/interactions, within Slack's 3 seconds", () => {
  /** Slack shows the clicker an error when the answer takes longer than this. */
  const SLACK_GIVES_UP_MS = 3000;
  const timed = async <T>(work: () => Promise<T>) => {
    const started = performance.now();
    const result = await work();
    return { result, ms: performance.now() - started };
  };

  it('a slow users.info and a chat.update that never answers: Approve still decides, wakes the agent, and answers in time', async () => {
    fakes.slack.delayMs.set('users.info', 1200);
    fakes.slack.delayMs.set('chat.update', 10_000);

    const { result, ms } = await timed(() => post(click('U_CFO', 'countersign.approve')));

    expect(result.statusCode).toBe(200);
    expect(ms).toBeLessThan(SLACK_GIVES_UP_MS);
    expect(stored()).toMatchObject({
      status: 'approved',
      decision: { outcome: 'approved', by: 'cfo@company.com', channel: 'slack' },
    });
    expect(fakes.workflow.woken).toEqual([
      { taskToken: 'token-of-stage-0', output: { reason: 'decided' } },
    ]);
    // The rewrite was tried and given up; the decided notice of the workflow rewrites it later.
    expect(fakes.slack.callsTo('chat.update').length).toBeGreaterThanOrEqual(1);
  });

  it('a rejection submitted while chat.update hangs closes the modal in time', async () => {
    fakes.slack.delayMs.set('chat.update', 10_000);
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
    expect(stored()).toMatchObject({ status: 'rejected', decision: { comment: 'Wrong vendor' } });
    expect(fakes.workflow.woken).toHaveLength(1);
  });

  it('when users.info does not answer in time, nothing is decided and the clicker is told to retry, in time', async () => {
    fakes.slack.delayMs.set('users.info', 10_000);

    const { result, ms } = await timed(() => post(click('U_CFO', 'countersign.approve')));

    expect(result.statusCode).toBe(200);
    expect(ms).toBeLessThan(SLACK_GIVES_UP_MS);
    expect(writes()).toBe(0);
    expect(stored()).toMatchObject({ status: 'pending', approvals: [] });
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

describe('Handler: POST /slack/interactions, the Slack client it is given', () => {
  it("asks Slack who clicked with the deployment's bot token, at the configured API", async () => {
    // The composition root's own Slack wiring (the rest of this file runs on FakeSlack).
    const http = await startFakeSlack();
    process.env.SLACK_API_URL = http.apiUrl;
    try {
      http.on('users.info', (args) => ({
        body: { ok: true, user: { id: args.user, profile: { email: USERS[String(args.user)] } } },
      }));
      const actual = await vi.importActual<typeof import('../../lambdas/shared/deps')>(
        '../../lambdas/shared/deps',
      );
      const { slack } = await actual.slackInteractionDeps();

      expect(await slack.emailOfUser('U_CEO')).toBe('ceo@company.com');
      expect(http.callsTo('users.info')[0]?.authorization).toBe('Bearer xoxb-test-token');
    } finally {
      delete process.env.SLACK_API_URL;
      await http.close();
    }
  });
});

describe('Handler: POST /slack/interactions, Edit and approve', () => {
  const editableMeta = (extra: Partial<IntentState> = {}) =>
    intentState({ editable: ['/amount'], edits: {}, payload_version: 0, ...extra });
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
    seed(editableMeta());
    const result = await post(click('U_CFO', 'countersign.edit', { triggerId: 'trig-2' }));

    expect(result.statusCode).toBe(200);
    expect(writes()).toBe(0);
    const [open] = fakes.slack.callsTo('views.open');
    expect(open?.trigger_id).toBe('trig-2');
    const view = open?.view as {
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
    seed(editableMeta());
    const result = await post(
      editSubmission('U_CFO', { 'edit.0': { value: '1000' }, comment: { reason: 'Capped' } }),
    );

    expect(JSON.parse(result.body)).toEqual({ response_action: 'clear' });
    expect(stored()).toMatchObject({
      status: 'approved',
      edits: { '/amount': 1000 },
      decision: {
        by: 'cfo@company.com',
        channel: 'slack',
        comment: 'Capped',
        edits: { '/amount': 1000 },
      },
    });
    expect(written('approved')[0]?.data).toMatchObject({ edits: { '/amount': 1000 } });
    expect(fakes.workflow.woken).toHaveLength(1);
  });

  it('a value not of its type is refused next to its field, and nothing changes', async () => {
    seed(editableMeta());
    const result = await post(editSubmission('U_CFO', { 'edit.0': { value: 'a lot' } }));
    expect(JSON.parse(result.body)).toEqual({
      response_action: 'errors',
      errors: { 'edit.0': 'This must be a number.' },
    });
    expect(writes()).toBe(0);
  });

  it('a button or form shown before an edit decides nothing, and says so', async () => {
    seed(editableMeta({ edits: { '/amount': 900 }, payload_version: 1 }));
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
