import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import { SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { verifyReviewLink } from '../../lambdas/domain/review-link';
import { type FakeSlack, startFakeSlack } from './fake-slack';
import { type FakeIntentTable, serveIntentTable } from './fake-table';
import { PAYMENT_INTENT, pendingIntentItem, setHandlerEnvironment } from './helpers';

setHandlerEnvironment();
const dynamo = mockClient(DynamoDBDocumentClient);
const sfn = mockClient(SFNClient);
const ses = mockClient(SESv2Client);
let slack: FakeSlack;
const { handler: stageTask } = await import('../../lambdas/handlers/stage-task');
const { handler: planStage } = await import('../../lambdas/handlers/plan-stage');
const { handler: notifyDecided } = await import('../../lambdas/handlers/notify-decided');
const { notifyDecided: coreNotifyDecided } = await import('../../lambdas/core/stage-runner');
const { stageRunnerDeps } = await import('../../lambdas/shared/deps');
const { DECIDED_NOTICE_RETRY } = await import('../../lambdas/domain/stages');

beforeAll(async () => {
  slack = await startFakeSlack();
  Object.assign(process.env, { SLACK_BOT_TOKEN: 'xoxb-test-token', SLACK_API_URL: slack.apiUrl });
});
afterAll(() => slack.close());

const now = Date.now();
const table: FakeIntentTable = { meta: {}, trail: [] };
/** Each test's intent is at a new version, as each run of a stage is in the table. */
let version = 1;

const intentItem = (overrides: Record<string, unknown> = {}) =>
  pendingIntentItem(
    now,
    { ...PAYMENT_INTENT, version, asked: ['cfo@company.com', 'team:finance'], ...overrides },
    { channels: ['email', 'slack'] },
  );

beforeEach(() => {
  version += 10;
  table.meta = intentItem();
  table.trail = [];
  serveIntentTable(dynamo, table, { vendor: 'ACME' });
  dynamo.on(GetCommand, { Key: { pk: 'TEAM#finance', sk: 'TEAM' } }).resolves({
    Item: {
      pk: 'TEAM#finance',
      sk: 'TEAM',
      name: 'finance',
      members: ['a@x.com', 'b@x.com'],
      slack_channel: 'C_FINANCE',
      updated_at: new Date(now).toISOString(),
    },
  });
  ses.on(SendEmailCommand).resolves({ MessageId: 'ses-1' });
  let ts = 100;
  slack.on('users.lookupByEmail', (args) => ({
    body:
      args.email === 'cfo@company.com'
        ? { ok: true, user: { id: 'U_CFO', profile: { email: args.email } } }
        : { ok: false, error: 'users_not_found' },
  }));
  slack.on('chat.postMessage', (args) => {
    ts += 1;
    const channel = String(args.channel).replace(/^U_/, 'D_');
    return { body: { ok: true, channel, ts: `1780000000.000${ts}` } };
  });
});
afterEach(() => {
  dynamo.reset();
  sfn.reset();
  ses.reset();
  slack.reset();
});

const slackEvents = () => table.trail.filter((event) => event.channel === 'slack');

describe('Handler: stage-task, on Slack', () => {
  it('DMs a reviewer found by email with the buttons and a signed review link', async () => {
    const result = await stageTask({ intent_id: 'int_1', step: 0, stage: 0, task_token: 'tok-0' });

    // The stage expands team:finance to its two members: three reviewers on two channels.
    expect(result).toEqual({ notified: 6 });
    const dm = slack.callsTo('chat.postMessage').find((call) => call.args.channel === 'U_CFO');
    expect(dm?.authorization).toBe('Bearer xoxb-test-token');
    const blocks = JSON.stringify(dm?.args.blocks);
    expect(blocks).toContain('Pay the ACME invoice');
    expect(blocks).toContain('*Vendor*\\nACME');
    expect(blocks).not.toContain('tok-0');
    const metadata = dm?.args.metadata as {
      event_type: string;
      event_payload: Record<string, string>;
    };
    expect(metadata.event_payload).toMatchObject({
      intent_id: 'int_1',
      kind: 'notify',
      to: 'cfo@company.com',
    });
    const reviewUrl = metadata.event_payload.review_url ?? '';
    expect(blocks).toContain(reviewUrl);
    expect(
      verifyReviewLink(reviewUrl.split('/review/')[1] ?? '', 'test-secret', now / 1000),
    ).toMatchObject({ ok: true, claims: { intentId: 'int_1', reviewer: 'cfo@company.com' } });
  });

  it("posts once to a team's channel for all its members, with no personal link", async () => {
    await stageTask({ intent_id: 'int_1', step: 0, stage: 0, task_token: 'tok-0' });

    const toTeam = slack.callsTo('chat.postMessage').filter((c) => c.args.channel === 'C_FINANCE');
    expect(toTeam).toHaveLength(1);
    expect(toTeam[0]?.args.metadata).toMatchObject({
      event_payload: { intent_id: 'int_1', kind: 'notify', to: 'team:finance' },
    });
    expect(JSON.stringify(toTeam[0]?.args.blocks)).toContain(
      'Any member of team:finance may decide.',
    );
    expect(JSON.stringify(toTeam[0]?.args.blocks)).not.toContain('/review/');
    // Members are not looked up one by one: the channel reaches them.
    const lookedUp = slack.callsTo('users.lookupByEmail').map((c) => c.args.email);
    expect(lookedUp).not.toContain('a@x.com');
    expect(lookedUp).not.toContain('b@x.com');
  });

  it('looks a reviewer up once for many messages, again after a refused post, and keeps no miss', async () => {
    const found = new Map([['erin@company.com', 'U_ERIN']]);
    slack.on('users.lookupByEmail', (args) => {
      const id = found.get(String(args.email));
      return { body: id ? { ok: true, user: { id } } : { ok: false, error: 'users_not_found' } };
    });
    const notify = async (reviewer: string) => {
      version += 1;
      table.meta = intentItem({ asked: [reviewer], recipients: [] });
      await stageTask({ intent_id: 'int_1', step: 0, stage: 0, task_token: `tok-${version}` });
    };
    const lookups = (email: string) =>
      slack.callsTo('users.lookupByEmail').filter((c) => c.args.email === email).length;

    // Three intents for one reviewer: one lookup (Slack allows about 50 a minute).
    await notify('erin@company.com');
    await notify('erin@company.com');
    await notify('erin@company.com');
    expect(lookups('erin@company.com')).toBe(1);
    expect(
      slack.callsTo('chat.postMessage').filter((c) => c.args.channel === 'U_ERIN'),
    ).toHaveLength(3);

    // A refused post (the account is gone) forgets the id: the next notice asks Slack again.
    slack.on('chat.postMessage', () => ({ body: { ok: false, error: 'channel_not_found' } }));
    await notify('erin@company.com');
    await notify('erin@company.com');
    expect(lookups('erin@company.com')).toBe(2);

    // Someone not in Slack yet is asked each time, so that they are found once they join.
    await notify('frank@company.com');
    found.set('frank@company.com', 'U_FRANK');
    await notify('frank@company.com');
    expect(lookups('frank@company.com')).toBe(2);
    expect(slackEvents().at(-1)?.data).toMatchObject({ to: 'frank@company.com' });
  });

  it('records each Slack notification in the trail, as email does', async () => {
    await stageTask({ intent_id: 'int_1', step: 0, stage: 0, task_token: 'tok-0' });

    expect(slackEvents().map((e) => [e.type, (e.data as { to: string }).to])).toEqual([
      ['notified', 'cfo@company.com'],
      ['notified', 'a@x.com'],
      ['notified', 'b@x.com'],
    ]);
    expect(slackEvents()[0]?.data).toMatchObject({
      message_id: expect.stringMatching(/^slack:D_CFO:\d+\.\d+$/),
    });
    expect(table.meta).toMatchObject({ pending_notifications: [] });
  });

  it('records notification_failed when Slack has no such user, and email still goes out', async () => {
    table.meta = intentItem({ asked: ['dana@company.com'], recipients: [] });

    const result = await stageTask({ intent_id: 'int_1', step: 0, stage: 0, task_token: 'tok-0' });

    expect(result).toEqual({ notified: 1 });
    expect(slackEvents()).toEqual([
      expect.objectContaining({
        type: 'notification_failed',
        data: expect.objectContaining({
          to: 'dana@company.com',
          error: 'no Slack user has the email dana@company.com',
        }),
      }),
    ]);
    expect(ses.commandCalls(SendEmailCommand)).toHaveLength(1);
  });

  it("records notification_failed with Slack's error code when the post is refused", async () => {
    table.meta = intentItem({ asked: ['cfo@company.com'] });
    slack.on('chat.postMessage', () => ({ body: { ok: false, error: 'channel_not_found' } }));

    await stageTask({ intent_id: 'int_1', step: 0, stage: 0, task_token: 'tok-0' });

    const failed = slackEvents()[0];
    expect(failed?.type).toBe('notification_failed');
    expect(failed?.data).toMatchObject({ error: expect.stringContaining('channel_not_found') });
    expect(JSON.stringify(table.trail)).not.toContain('xoxb-test-token');
  });

  it('once decided, rewrites every message it posted to show the outcome, and emails the others', async () => {
    await stageTask({ intent_id: 'int_1', step: 0, stage: 0, task_token: 'tok-0' });
    const posted = slack.callsTo('chat.postMessage').length;
    table.meta = {
      ...table.meta,
      status: 'approved',
      decision: {
        outcome: 'approved',
        by: 'a@x.com',
        at: new Date(now + 60_000).toISOString(),
        comment: 'Checked the PO',
        channel: 'slack',
      },
    };

    const plan = await planStage({ intent_id: 'int_1' });
    expect(plan).toMatchObject({ action: 'finish', status: 'approved' });
    expect(slack.callsTo('chat.update')).toHaveLength(0);

    await notifyDecided({ intent_id: 'int_1', attempt: 0 });

    const updates = slack.callsTo('chat.update');
    expect(updates.map((call) => call.args.channel).sort()).toEqual(['C_FINANCE', 'D_CFO']);
    for (const update of updates) {
      const blocks = JSON.stringify(update.args.blocks);
      expect(blocks).toContain('*Approved* by a@x.com via slack');
      expect(blocks).not.toContain('"actions"');
    }
    // Nothing new is posted: the existing messages change. The decider gets no email.
    expect(slack.callsTo('chat.postMessage')).toHaveLength(posted);
    const decidedEmails = ses
      .commandCalls(SendEmailCommand)
      .map((call) => call.args[0].input)
      .filter((input) =>
        input.Content?.Simple?.Headers?.some(
          (h) => h.Name === 'X-Countersign-Kind' && h.Value === 'decided',
        ),
      );
    expect(decidedEmails.map((input) => input.Destination?.ToAddresses?.[0]).sort()).toEqual([
      'b@x.com',
      'cfo@company.com',
    ]);
    expect(decidedEmails[0]?.Content?.Simple?.Subject?.Data).toBe('Approved: Pay the ACME invoice');
    expect(decidedEmails[0]?.Content?.Simple?.Body?.Text?.Data).toContain('Checked the PO');
    const decidedEvents = table.trail.filter(
      (event) => (event.data as { kind?: string }).kind === 'decided',
    );
    expect(decidedEvents.map((event) => [event.type, event.channel])).toEqual(
      expect.arrayContaining([
        ['notified', 'slack'],
        ['notified', 'slack'],
        ['notified', 'email'],
        ['notified', 'email'],
      ]),
    );
    expect(decidedEvents).toHaveLength(4);
    expect(table.meta).toMatchObject({ pending_notifications: [] });

    // A retried NotifyDecided sends nothing again.
    await notifyDecided({ intent_id: 'int_1', attempt: 1 });
    expect(slack.callsTo('chat.update')).toHaveLength(2);
    expect(
      table.trail.filter((event) => (event.data as { kind?: string }).kind === 'decided'),
    ).toHaveLength(4);
  });

  it('a decision landing while a reminder stage is still sending: NotifyDecided waits for it, then tells each message once', async () => {
    await stageTask({ intent_id: 'int_1', step: 0, stage: 0, task_token: 'tok-0' });
    const firstStagePosts = slack.callsTo('chat.postMessage').length;
    let notifying: Promise<unknown> | undefined;
    // The reminder's first email is slow; a@x.com decides on Slack meanwhile, and the
    // workflow's NotifyDecided runs before the reminder stage has recorded what it sent.
    let decided = false;
    ses.on(SendEmailCommand).callsFake(async () => {
      if (!decided) {
        decided = true;
        table.meta = {
          ...table.meta,
          version: Number(table.meta.version) + 1,
          status: 'approved',
          decision: {
            outcome: 'approved',
            by: 'a@x.com',
            at: new Date(now + 301_000).toISOString(),
            comment: null,
            channel: 'slack',
          },
        };
        // The workflow's task starts now; the stage goes on sending meanwhile.
        notifying = notifyDecided({ intent_id: 'int_1', attempt: 0 });
      }
      return { MessageId: 'ses-1' };
    });

    await stageTask({ intent_id: 'int_1', step: 0, stage: 1, task_token: 'tok-1' });
    // The stage task itself sends no decided notice: its record only queued them.
    expect(slack.callsTo('chat.update')).toHaveLength(0);
    const posts = slack.callsTo('chat.postMessage');
    expect(posts.length).toBe(firstStagePosts * 2);

    // NotifyDecided waited for the stage's record, then found every message of both stages
    // and told each exactly once.
    await notifying;
    const updated = slack
      .callsTo('chat.update')
      .map((call) => `${call.args.channel}:${call.args.ts}`)
      .sort();
    expect(new Set(updated).size).toBe(updated.length);
    expect(updated).toHaveLength(posts.length);
    const decidedEmails = () =>
      ses
        .commandCalls(SendEmailCommand)
        .map((call) => call.args[0].input)
        .filter((input) =>
          input.Content?.Simple?.Headers?.some(
            (h) => h.Name === 'X-Countersign-Kind' && h.Value === 'decided',
          ),
        )
        .map((input) => input.Destination?.ToAddresses?.[0])
        .sort();
    // One decided email per address emailed, none to the decider.
    expect(decidedEmails()).toEqual(['b@x.com', 'cfo@company.com']);
    expect(table.meta).toMatchObject({ status: 'approved', pending_notifications: [] });

    // Run again (a retried task): nothing more goes out.
    await notifyDecided({ intent_id: 'int_1', attempt: 1 });
    expect(slack.callsTo('chat.update')).toHaveLength(posts.length);
    expect(decidedEmails()).toEqual(['b@x.com', 'cfo@company.com']);
    const decidedEvents = table.trail.filter(
      (event) => (event.data as { kind?: string }).kind === 'decided',
    );
    expect(decidedEvents).toHaveLength(posts.length + 2);
  });

  it('a stage that never records its notices (its task died) holds NotifyDecided back until its last attempt', async () => {
    await stageTask({ intent_id: 'int_1', step: 0, stage: 0, task_token: 'tok-0' });
    table.meta = {
      ...table.meta,
      status: 'rejected',
      decision: {
        outcome: 'rejected',
        by: 'b@x.com',
        at: new Date(now + 60_000).toISOString(),
        comment: 'no',
        channel: 'api',
      },
      pending_notifications: [{ to: 'cfo@company.com', kind: 'remind', channel: 'email' }],
    };
    const deps = await stageRunnerDeps();
    const briefly = { totalMs: 200, pollMs: 50 };

    await expect(
      coreNotifyDecided(deps, { intent_id: 'int_1', attempt: 0 }, briefly),
    ).rejects.toThrow('a stage is still sending 1 notices');
    expect(slack.callsTo('chat.update')).toHaveLength(0);
    // The last attempt tells whom it can.
    const last = DECIDED_NOTICE_RETRY.attempts - 1;
    expect(
      await coreNotifyDecided(deps, { intent_id: 'int_1', attempt: last }, briefly),
    ).toMatchObject({ failed: 0 });
    expect(slack.callsTo('chat.update').length).toBeGreaterThan(0);
  });

  it('records a failed update of a Slack message without stopping the email notices', async () => {
    await stageTask({ intent_id: 'int_1', step: 0, stage: 0, task_token: 'tok-0' });
    slack.on('chat.update', () => ({ body: { ok: false, error: 'message_not_found' } }));
    table.meta = {
      ...table.meta,
      status: 'cancelled',
      decision: {
        outcome: 'cancelled',
        by: 'agent://payments',
        at: new Date(now + 60_000).toISOString(),
        comment: 'no longer needed',
        channel: 'api',
      },
    };

    // Slack's refusal is final: recorded at once, not kept for a retry.
    expect(await notifyDecided({ intent_id: 'int_1', attempt: 0 })).toEqual({ sent: 3, failed: 2 });

    const failed = table.trail.filter((event) => event.type === 'notification_failed');
    expect(failed).toHaveLength(2);
    expect(JSON.stringify(failed)).toContain('message_not_found');
    const decidedEmails = table.trail.filter(
      (event) =>
        event.type === 'notified' &&
        event.channel === 'email' &&
        (event.data as { kind?: string }).kind === 'decided',
    );
    // Cancelled by the agent: every emailed reviewer is told, none of them decided.
    expect(decidedEmails).toHaveLength(3);
  });
});
