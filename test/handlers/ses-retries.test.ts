import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { type FakeIntentTable, serveIntentTable } from './fake-table';
import { pendingIntentItem, setHandlerEnvironment } from './helpers';

/**
 * SES is not mocked here: aws-sdk-client-mock replaces `send`, and with it the SDK's retry
 * middleware, so a mocked SendEmail can never show a retry. The real client of
 * `shared/clients.ts`, with its real retry policy, talks to a loopback server that answers as
 * SES does and fails as the test says.
 */
/** `status: 'hang'` never answers, as a connection stuck somewhere on the way. */
type Answer = { status: number | 'hang'; errorType?: string };
let script: Answer[] = [];
let attempts = 0;
const server: Server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    attempts += 1;
    const answer = script.shift() ?? { status: 200 };
    if (answer.status === 'hang') return;
    const body =
      answer.status === 200 ? { MessageId: `ses-${attempts}` } : { message: 'SES is unhappy' };
    res.writeHead(answer.status, {
      'content-type': 'application/json',
      ...(answer.errorType ? { 'x-amzn-errortype': answer.errorType } : {}),
    });
    res.end(JSON.stringify(body));
  });
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
setHandlerEnvironment();
process.env.AWS_ENDPOINT_URL_SESV2 = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

const dynamo = mockClient(DynamoDBDocumentClient);
mockClient(SFNClient);
const { handler: stageTask } = await import('../../lambdas/handlers/stage-task');
const { SES_MAX_ATTEMPTS } = await import('../../lambdas/shared/clients');

const now = Date.now();
const pendingTable = (): FakeIntentTable => ({ meta: pendingIntentItem(now), trail: [] });

const notices = (table: FakeIntentTable) =>
  table.trail
    .filter((event) => event.type === 'notified' || event.type === 'notification_failed')
    .map((event) => ({ type: event.type, channel: event.channel, data: event.data }));

describe('SES failures during a stage', () => {
  afterEach(() => {
    dynamo.reset();
    script = [];
    attempts = 0;
  });
  afterAll(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  );

  it('retries a throttled and then a failing SendEmail, and records the send that went through', async () => {
    const table = pendingTable();
    serveIntentTable(dynamo, table, { version: 'v2' });
    script = [
      { status: 429, errorType: 'TooManyRequestsException' },
      { status: 500, errorType: 'InternalFailure' },
    ];

    const result = await stageTask({ intent_id: 'int_1', step: 0, stage: 0, task_token: 'tok-0' });

    expect(attempts).toBe(3);
    expect(result).toEqual({ notified: 1 });
    expect(notices(table)).toEqual([
      {
        type: 'notified',
        channel: 'email',
        data: { to: 'cfo@company.com', kind: 'notify', message_id: 'ses-3' },
      },
    ]);
  });

  it('gives up on a connection that never answers and retries it: the stage is not held up to its own timeout', async () => {
    const table = pendingTable();
    serveIntentTable(dynamo, table, { version: 'v2' });
    script = [{ status: 'hang' }];

    const result = await stageTask({ intent_id: 'int_1', step: 0, stage: 0, task_token: 'tok-0' });

    expect(attempts).toBe(2);
    expect(result).toEqual({ notified: 1 });
    expect(notices(table)).toEqual([
      {
        type: 'notified',
        channel: 'email',
        data: { to: 'cfo@company.com', kind: 'notify', message_id: 'ses-2' },
      },
    ]);
  }, 30_000);

  it('gives up after the configured attempts, records notification_failed and still completes the stage', async () => {
    const table = pendingTable();
    serveIntentTable(dynamo, table, { version: 'v2' });
    script = Array.from({ length: 10 }, () => ({ status: 503, errorType: 'ServiceUnavailable' }));

    const result = await stageTask({ intent_id: 'int_1', step: 0, stage: 0, task_token: 'tok-0' });

    expect(attempts).toBe(SES_MAX_ATTEMPTS);
    expect(result).toEqual({ notified: 0 });
    expect(notices(table)).toEqual([
      {
        type: 'notification_failed',
        channel: 'email',
        data: expect.objectContaining({
          to: 'cfo@company.com',
          kind: 'notify',
          error: expect.stringContaining('ServiceUnavailable'),
        }),
      },
    ]);
    // The stage was entered and nothing is left queued: the flow waits for a decision as usual.
    expect(table.meta).toMatchObject({
      task_token: 'tok-0',
      stage_index: 0,
      pending_notifications: [],
    });
  });
});
