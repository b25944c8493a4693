import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import { SFNClient } from '@aws-sdk/client-sfn';
import {
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { verifyReviewLink } from '../../lambdas/domain/review-link';
import { type FakeSlack, startFakeSlack } from './fake-slack';
import { setHandlerEnvironment } from './helpers';

setHandlerEnvironment();
const dynamo = mockClient(DynamoDBDocumentClient);
const sfn = mockClient(SFNClient);
const ses = mockClient(SESv2Client);
let slack: FakeSlack;
const { handler: stageTask } = await import('../../lambdas/handlers/stage-task');

beforeAll(async () => {
  slack = await startFakeSlack();
  Object.assign(process.env, { SLACK_BOT_TOKEN: 'xoxb-test-token', SLACK_API_URL: slack.apiUrl });
});
afterAll(() => slack.close());

const now = Date.now();
let meta: Record<string, unknown>;
/** Each test's intent is at a new version, as each run of a stage is in the table. */
let version = 1;
/** Every audit event written, in order. */
let trail: Record<string, unknown>[];

const intentItem = (overrides: Record<string, unknown> = {}) => ({
  pk: 'INTENT#int_1',
  sk: 'META',
  id: 'int_1',
  intent_type: 'intent.payment.v1',
  to_agent: 'agent://payments',
  from_agent: 'agent://payments',
  summary: 'Pay the ACME invoice',
  status: 'pending',
  policy: {
    remind_after: [300],
    escalate: [],
    timeout: { after: 3600, action: 'reject' },
    required_approvals: 1,
    steps: null,
    channels: ['email', 'slack'],
  },
  recipients: ['cfo@company.com'],
  approvals: [],
  decision: null,
  callback_url: null,
  step: 0,
  created_at: new Date(now).toISOString(),
  updated_at: new Date(now).toISOString(),
  deadline_at: new Date(now + 3600_000).toISOString(),
  next_action_at: null,
  event_count: 1,
  last_event_hash: 'a'.repeat(64),
  version,
  asked: ['cfo@company.com', 'team:finance'],
  step_started_at: new Date(now).toISOString(),
  stage_index: -1,
  task_token: null,
  pending_notifications: [],
  ...overrides,
});

beforeEach(() => {
  version += 10;
  meta = intentItem();
  trail = [];
  dynamo.on(QueryCommand).callsFake(() => ({
    Items: [meta, { sk: 'PAYLOAD', payload_json: JSON.stringify({ vendor: 'ACME' }) }],
  }));
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
  const take = (item: Record<string, unknown> | undefined) => {
    if (item?.sk === 'META') meta = item;
    else if (item && typeof item.type === 'string') trail.push(item);
  };
  dynamo.on(TransactWriteCommand).callsFake((input) => {
    for (const entry of input.TransactItems ?? []) take(entry.Put?.Item);
    return {};
  });
  dynamo.on(PutCommand).callsFake((input) => {
    take(input.Item);
    return {};
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

const slackEvents = () => trail.filter((event) => event.channel === 'slack');

describe('Handler: stage-task, on Slack', () => {
  it('DMs a reviewer found by email with the buttons and a signed review link', async () => {
    const result = await stageTask({ intent_id: 'int_1', step: 0, stage: 0, task_token: 'tok-0' });

    // The stage expands team:finance to its two members: three reviewers on two channels.
    expect(result).toEqual({ notified: 6 });
    const dm = slack.callsTo('chat.postMessage').find((call) => call.args.channel === 'U_CFO');
    expect(dm?.authorization).toBe('Bearer xoxb-test-token');
    const blocks = JSON.stringify(dm?.args.blocks);
    expect(blocks).toContain('Pay the ACME invoice');
    expect(blocks).toContain('*vendor*\\nACME');
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
    expect(slack.callsTo('users.lookupByEmail').map((c) => c.args.email)).toEqual([
      'cfo@company.com',
    ]);
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
    expect(meta).toMatchObject({ pending_notifications: [] });
  });

  it('records notification_failed when Slack has no such user, and email still goes out', async () => {
    meta = intentItem({ asked: ['dana@company.com'], recipients: [] });

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
    meta = intentItem({ asked: ['cfo@company.com'] });
    slack.on('chat.postMessage', () => ({ body: { ok: false, error: 'channel_not_found' } }));

    await stageTask({ intent_id: 'int_1', step: 0, stage: 0, task_token: 'tok-0' });

    const failed = slackEvents()[0];
    expect(failed?.type).toBe('notification_failed');
    expect(failed?.data).toMatchObject({ error: expect.stringContaining('channel_not_found') });
    expect(JSON.stringify(trail)).not.toContain('xoxb-test-token');
  });
});
