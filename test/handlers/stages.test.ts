import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import { SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import {
  BatchGetCommand,
  DynamoDBDocumentClient,
  QueryCommand,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { verifyReviewLink } from '../../lambdas/domain/review-link';
import { type FakeIntentTable, serveIntentTable } from './fake-table';
import { pendingIntentItem, setHandlerEnvironment } from './helpers';

setHandlerEnvironment();
const dynamo = mockClient(DynamoDBDocumentClient);
const sfn = mockClient(SFNClient);
const ses = mockClient(SESv2Client);
const { handler: stageTask } = await import('../../lambdas/handlers/stage-task');
const { handler: planStage } = await import('../../lambdas/handlers/plan-stage');
const { handler: notifyDecided } = await import('../../lambdas/handlers/notify-decided');

const now = Date.now();
// The summary has markup, for the tests that it is escaped in the email.
const intentItem = (overrides: Record<string, unknown> = {}) =>
  pendingIntentItem(now, { summary: 'Deploy <b>v2</b>', ...overrides });

describe('Handler: stage-task', () => {
  afterEach(() => {
    dynamo.reset();
    sfn.reset();
    ses.reset();
  });

  it('stores the token, emails each recipient a signed review link, and records the notification', async () => {
    // Prepare: every read returns the latest written META, like the table would.
    const table: FakeIntentTable = { meta: intentItem(), trail: [] };
    serveIntentTable(dynamo, table, { amount: 10 });
    ses.on(SendEmailCommand).resolves({ MessageId: 'ses-1' });

    // Act
    const result = await stageTask({ intent_id: 'int_1', step: 0, stage: 0, task_token: 'tok-0' });

    // Assess
    expect(result).toEqual({ notified: 1 });
    expect(table.meta).toMatchObject({
      task_token: 'tok-0',
      stage_index: 0,
      pending_notifications: [],
    });
    const email = ses.commandCalls(SendEmailCommand)[0]?.args[0].input;
    expect(email?.Destination?.ToAddresses).toEqual(['cfo@company.com']);
    expect(email?.Content?.Simple?.Body?.Html?.Data).toContain('Deploy &lt;b&gt;v2&lt;/b&gt;');
    const reviewUrl =
      email?.Content?.Simple?.Headers?.find((h) => h.Name === 'X-Countersign-Review-Url')?.Value ??
      '';
    expect(reviewUrl.startsWith('https://approvals.example.com/review/')).toBe(true);
    // SES must not rewrite the link for click tracking: the page is the link itself.
    expect(email?.Content?.Simple?.Body?.Html?.Data).toContain(
      `<a ses:no-track href="${reviewUrl}"`,
    );
    // The link is signed for this reviewer and intent, and carries no task token.
    expect(reviewUrl).not.toContain('tok-0');
    const verdict = verifyReviewLink(
      reviewUrl.split('/review/')[1] ?? '',
      'test-secret',
      now / 1000,
    );
    expect(verdict).toMatchObject({
      ok: true,
      claims: { intentId: 'int_1', reviewer: 'cfo@company.com' },
    });
    expect(sfn.commandCalls(SendTaskSuccessCommand)).toHaveLength(0);
  });

  it("writes the email's times in the reader's zone from their reviewer profile", async () => {
    const table: FakeIntentTable = { meta: intentItem(), trail: [] };
    serveIntentTable(dynamo, table, { amount: 10 });
    dynamo.on(BatchGetCommand).resolves({
      Responses: {
        'countersign-test': [
          {
            pk: 'REVIEWER#cfo@company.com',
            sk: 'PROFILE',
            email: 'cfo@company.com',
            time_zone: 'Asia/Kathmandu',
            working_hours: null,
            out_of_office: null,
          },
        ],
      },
    });
    ses.on(SendEmailCommand).resolves({ MessageId: 'ses-1' });

    await stageTask({ intent_id: 'int_1', step: 0, stage: 0, task_token: 'tok-0' });

    const text =
      ses.commandCalls(SendEmailCommand)[0]?.args[0].input.Content?.Simple?.Body?.Text?.Data;
    expect(text).toContain('GMT+5:45');
    expect(text).not.toContain('UTC');
  });

  it('answers its own token when the intent was decided before the stage began', async () => {
    dynamo.on(QueryCommand).resolves({ Items: [intentItem({ status: 'approved' })] });
    sfn.on(SendTaskSuccessCommand).resolves({});

    const result = await stageTask({ intent_id: 'int_1', step: 0, stage: 1, task_token: 'tok-1' });

    expect(result).toEqual({ notified: 0 });
    expect(sfn.commandCalls(SendTaskSuccessCommand)[0]?.args[0].input.taskToken).toBe('tok-1');
    expect(ses.commandCalls(SendEmailCommand)).toHaveLength(0);
  });
});

describe('Handler: plan-stage', () => {
  afterEach(() => {
    dynamo.reset();
    ses.reset();
  });

  it('answers the pause until the next stage', async () => {
    dynamo.on(QueryCommand).resolves({ Items: [intentItem()] });
    const result = await planStage({ intent_id: 'int_1' });
    expect(result).toMatchObject({ action: 'await', step: 0, stage: 0 });
    expect(result.timeout_seconds).toBeGreaterThan(295);
    expect(result.timeout_seconds).toBeLessThanOrEqual(300);
  });

  it('records the timeout once the deadline passed', async () => {
    serveIntentTable(
      dynamo,
      { meta: intentItem({ deadline_at: new Date(now - 1000).toISOString() }), trail: [] },
      {},
    );
    const result = await planStage({ intent_id: 'int_1' });
    expect(result).toMatchObject({ action: 'finish', status: 'timed_out' });
    const put =
      dynamo.commandCalls(TransactWriteCommand)[0]?.args[0].input.TransactItems?.[0]?.Put?.Item;
    expect(put).toMatchObject({
      status: 'timed_out',
      decision: { by: 'timeout', outcome: 'rejected' },
    });
  });

  it('tells each emailed reviewer that the request timed out, without a link that expired', async () => {
    const table: FakeIntentTable = {
      meta: intentItem({
        deadline_at: new Date(now - 1000).toISOString(),
        stage_index: 0,
        sent_messages: [
          { channel: 'email', to: 'cfo@company.com', message_id: 'ses-0' },
          { channel: 'email', to: 'ops@company.com', message_id: 'ses-1' },
        ],
      }),
      trail: [],
    };
    serveIntentTable(dynamo, table, { amount: 10 });
    ses.on(SendEmailCommand).resolves({ MessageId: 'ses-2' });

    // PlanStage records the timeout and sends nothing; NotifyDecided, the next state, tells.
    const result = await planStage({ intent_id: 'int_1' });
    expect(result).toMatchObject({ action: 'finish', status: 'timed_out' });
    expect(ses.commandCalls(SendEmailCommand)).toHaveLength(0);
    expect(await notifyDecided({ intent_id: 'int_1', attempt: 0 })).toEqual({ sent: 2, failed: 0 });

    const sent = ses.commandCalls(SendEmailCommand).map((call) => call.args[0].input);
    expect(sent.map((input) => input.Destination?.ToAddresses?.[0])).toEqual([
      'cfo@company.com',
      'ops@company.com',
    ]);
    const [first] = sent;
    expect(first?.Content?.Simple?.Subject?.Data).toBe('Timed out: Deploy <b>v2</b>');
    expect(first?.Content?.Simple?.Body?.Text?.Data).toContain('so it was rejected automatically');
    expect(first?.Content?.Simple?.Body?.Text?.Data).not.toContain('/review/');
    expect(first?.Content?.Simple?.Headers?.map((h) => h.Name)).not.toContain(
      'X-Countersign-Review-Url',
    );
    expect(table.meta).toMatchObject({
      decided_notices: ['email:cfo@company.com', 'email:ops@company.com'],
      pending_notifications: [],
    });
    // A second run (a retried task) sends nothing again.
    expect(await notifyDecided({ intent_id: 'int_1', attempt: 1 })).toEqual({ sent: 0, failed: 0 });
    expect(ses.commandCalls(SendEmailCommand)).toHaveLength(2);
  });

  it('throws when SES throttled a decided notice, so the task retries it; the last attempt records it as failed', async () => {
    const table: FakeIntentTable = {
      meta: intentItem({
        status: 'rejected',
        decision: {
          outcome: 'rejected',
          by: 'ops@company.com',
          at: new Date(now).toISOString(),
          comment: 'no',
          channel: 'api',
        },
        sent_messages: [{ channel: 'email', to: 'cfo@company.com', message_id: 'ses-0' }],
      }),
      trail: [],
    };
    serveIntentTable(dynamo, table, {});
    const throttled = Object.assign(new Error('Maximum sending rate exceeded.'), {
      name: 'TooManyRequestsException',
      $fault: 'client',
      $metadata: { httpStatusCode: 429 },
    });
    ses.on(SendEmailCommand).rejects(throttled);

    await expect(notifyDecided({ intent_id: 'int_1', attempt: 0 })).rejects.toThrow(
      /1 of 1 decided notices failed for now/,
    );
    // Nothing was written: the notice follows from the stored intent, and is found again.
    expect(table.meta).toMatchObject({ pending_notifications: [] });
    expect(table.meta.decided_notices).toBeUndefined();
    expect(table.trail).toEqual([]);

    // The retry sends it once more and records it, queued and settled in one write.
    ses.on(SendEmailCommand).resolves({ MessageId: 'ses-9' });
    expect(await notifyDecided({ intent_id: 'int_1', attempt: 1 })).toEqual({ sent: 1, failed: 0 });
    expect(ses.commandCalls(SendEmailCommand)).toHaveLength(2);
    expect(table.trail.map((event) => [event.type, event.data])).toEqual([
      ['notified', { to: 'cfo@company.com', kind: 'decided', message_id: 'ses-9' }],
    ]);

    // Had it failed on the last attempt, it is recorded as failed and the task ends normally.
    table.meta = { ...table.meta, decided_notices: [], pending_notifications: [] };
    table.trail = [];
    ses.on(SendEmailCommand).rejects(throttled);
    expect(await notifyDecided({ intent_id: 'int_1', attempt: 2 })).toEqual({ sent: 0, failed: 1 });
    expect(table.trail.map((event) => event.type)).toEqual(['notification_failed']);
    expect(table.meta).toMatchObject({ pending_notifications: [] });
  });
});
