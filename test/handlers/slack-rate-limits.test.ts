import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import { SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type FakeSlack, startFakeSlack } from './fake-slack';
import { type FakeIntentTable, serveIntentTable } from './fake-table';
import { pendingIntentItem, setHandlerEnvironment } from './helpers';

/**
 * The notifications client of `shared/clients.ts`, with its production retry policy, against a
 * fake Slack that rate-limits. Its own file: after Slack stays unavailable the notifier pauses
 * Slack sends for a minute, which would leak into other tests of the same module instance.
 */
setHandlerEnvironment();
const dynamo = mockClient(DynamoDBDocumentClient);
mockClient(SFNClient);
const ses = mockClient(SESv2Client);
let slack: FakeSlack;
const { handler: stageTask } = await import('../../lambdas/handlers/stage-task');

beforeAll(async () => {
  slack = await startFakeSlack();
  Object.assign(process.env, { SLACK_BOT_TOKEN: 'xoxb-test-token', SLACK_API_URL: slack.apiUrl });
});
afterAll(() => slack.close());

const now = Date.now();
let version = 1;
let table: FakeIntentTable;
beforeEach(() => {
  dynamo.reset();
  ses.reset();
  slack.reset();
  // Each test is a new run of the stage, at a new version, as in the table.
  version += 10;
  table = {
    meta: pendingIntentItem(now, { version }, { channels: ['email', 'slack'] }),
    trail: [],
  };
  serveIntentTable(dynamo, table, { version: 'v2' });
  ses.on(SendEmailCommand).resolves({ MessageId: 'ses-1' });
  slack.on('users.lookupByEmail', () => ({
    body: { ok: true, user: { id: 'U_CFO', profile: { email: 'cfo@company.com' } } },
  }));
});

const slackEvents = () =>
  table.trail
    .filter((event) => event.channel === 'slack')
    .map((event) => ({ type: event.type, data: event.data }));

describe('Handler: stage-task, when Slack rate-limits chat.postMessage', () => {
  it('waits out Retry-After, posts the DM on the retry, and records it as notified', async () => {
    const postedAt: number[] = [];
    slack.on('chat.postMessage', () => {
      postedAt.push(Date.now());
      return postedAt.length === 1
        ? {
            status: 429,
            headers: { 'retry-after': '1' },
            body: { ok: false, error: 'ratelimited' },
          }
        : { body: { ok: true, channel: 'D_CFO', ts: '1780000000.000100' } };
    });

    const result = await stageTask({ intent_id: 'int_1', step: 0, stage: 0, task_token: 'tok-0' });

    expect(result).toEqual({ notified: 2 });
    expect(postedAt).toHaveLength(2);
    const [first = 0, second = 0] = postedAt;
    expect(second - first).toBeGreaterThanOrEqual(1000);
    expect(slackEvents()).toEqual([
      {
        type: 'notified',
        data: expect.objectContaining({
          to: 'cfo@company.com',
          kind: 'notify',
          message_id: 'slack:D_CFO:1780000000.000100',
        }),
      },
    ]);
  });

  // Last in the file: it leaves the notifier pausing Slack sends.
  it('records notification_failed when the rate limit persists, and the stage still completes', async () => {
    // Retry-After 0 keeps the test short; the client's backoff between attempts still applies.
    slack.on('chat.postMessage', () => ({
      status: 429,
      headers: { 'retry-after': '0' },
      body: { ok: false, error: 'ratelimited' },
    }));

    const result = await stageTask({ intent_id: 'int_1', step: 0, stage: 0, task_token: 'tok-0' });

    // Tried, retried twice, then given up; the email to the same reviewer went out regardless.
    expect(slack.callsTo('chat.postMessage')).toHaveLength(3);
    expect(result).toEqual({ notified: 1 });
    expect(slackEvents()).toEqual([
      {
        type: 'notification_failed',
        data: expect.objectContaining({
          to: 'cfo@company.com',
          kind: 'notify',
          error: expect.stringContaining('rate limit'),
        }),
      },
    ]);
    expect(table.trail).toContainEqual(
      expect.objectContaining({ type: 'notified', channel: 'email' }),
    );
    expect(table.meta).toMatchObject({
      task_token: 'tok-0',
      stage_index: 0,
      pending_notifications: [],
    });
  });
});
