import { createHash } from 'node:crypto';
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  SendTaskSuccessCommand,
  SFNClient,
  StartExecutionCommand,
  TaskTimedOut,
} from '@aws-sdk/client-sfn';
import {
  BatchGetCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import canonicalize from 'canonicalize';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { IntentState } from '../../lambdas/domain/intent';
import { apiEvent, KEYS, keyItemFor, pendingIntentItem, setHandlerEnvironment } from './helpers';

setHandlerEnvironment();
const dynamo = mockClient(DynamoDBDocumentClient);
const sfn = mockClient(SFNClient);

const { handler: writeHandler } = await import('../../lambdas/handlers/intents-write');
const { handler: decideHandler } = await import('../../lambdas/handlers/intents-decide');

function mockKeys(): void {
  // No operator policy is stored: the lookup every create makes finds nothing.
  dynamo.on(BatchGetCommand).resolves({ Responses: {} });
  dynamo.on(GetCommand).callsFake((input: { Key: { pk: string } }) => ({
    Item: input.Key.pk.startsWith('APIKEY#')
      ? keyItemFor(input.Key.pk.slice('APIKEY#'.length))
      : undefined,
  }));
}

const createBody = {
  intent_type: 'intent.report.review_approval.v1',
  to_agent: 'agent://myorg/production/report-generator',
  payload: { report: 'Q1 Financial Summary', pii_detected: false, reviewer: 'cfo@company.com' },
};

describe('Handler: intents-write', () => {
  beforeAll(() => mockKeys());
  afterEach(() => {
    dynamo.reset();
    sfn.reset();
    mockKeys();
  });

  it('stores the intent, its payload and its created event together, then starts an execution named by the id', async () => {
    // Prepare
    dynamo.on(TransactWriteCommand).resolves({});
    sfn.on(StartExecutionCommand).resolves({ executionArn: 'arn:x', startDate: new Date() });

    // Act
    const result = await writeHandler(
      apiEvent({ method: 'POST', resource: '/v1/intents', role: 'agent', body: createBody }),
    );

    // Assess
    expect(result.statusCode).toBe(201);
    const intent = JSON.parse(result.body);
    expect(intent).toMatchObject({
      status: 'pending',
      from_agent: KEYS.agent.principal,
      recipients: ['cfo@company.com'],
      event_count: 1,
    });
    expect(intent).not.toHaveProperty('task_token');
    const items = dynamo.commandCalls(TransactWriteCommand)[0]?.args[0].input.TransactItems ?? [];
    expect(items.map((item) => item.Put?.Item?.sk).slice(0, 3)).toEqual([
      'META',
      'PAYLOAD',
      'EVENT#0000000001',
    ]);
    // And, in the same transaction, it is listed: by status, by agent, as due, in the inbox.
    expect(items.slice(3).map((item) => String(item.Put?.Item?.pk).split('#')[1])).toEqual([
      'STATUS',
      'AGENT',
      'DUE',
      'INBOX',
    ]);
    expect(items[0]?.Put?.Item).not.toHaveProperty('payload');
    expect(JSON.parse(String(items[1]?.Put?.Item?.payload_json))).toEqual(createBody.payload);
    const start = sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input;
    expect(start?.name).toBe(intent.id);
    // The payload stays out of the execution input.
    expect(JSON.parse(start?.input ?? '{}')).toEqual({ intent_id: intent.id });
  });

  it('replays the first intent for a repeated Idempotency-Key and refuses another body with it', async () => {
    // Prepare: the transaction fails on the idempotency record, which points to an existing intent.
    const bodyHash = createHash('sha256')
      .update(canonicalize(createBody) ?? '')
      .digest('hex');
    dynamo.on(TransactWriteCommand).rejects(
      new TransactionCanceledException({
        message: 'cancelled',
        $metadata: {},
        CancellationReasons: [
          { Code: 'None' },
          { Code: 'None' },
          { Code: 'None' },
          { Code: 'ConditionalCheckFailed' },
        ],
      }),
    );
    dynamo.on(GetCommand).callsFake((input: { Key: { pk: string } }) => ({
      Item: input.Key.pk.startsWith('APIKEY#')
        ? keyItemFor(input.Key.pk.slice('APIKEY#'.length))
        : {
            intent_id: 'int_FIRST',
            body_hash: bodyHash,
            principal: KEYS.agent.principal,
            key: 'k1',
          },
    }));
    dynamo.on(QueryCommand).resolves({
      Items: [
        { pk: 'INTENT#int_FIRST', sk: 'META', id: 'int_FIRST', status: 'pending', version: 2 },
        { pk: 'INTENT#int_FIRST', sk: 'PAYLOAD', payload_json: JSON.stringify(createBody.payload) },
      ],
    });
    sfn.on(StartExecutionCommand).resolves({ executionArn: 'arn:x', startDate: new Date() });
    const post = (body: unknown) =>
      writeHandler(
        apiEvent({
          method: 'POST',
          resource: '/v1/intents',
          role: 'agent',
          body,
          headers: { 'Idempotency-Key': 'k1' },
        }),
      );

    // Act
    const replay = await post(createBody);
    const conflict = await post({ ...createBody, summary: 'something else' });

    // Assess
    expect(replay.statusCode).toBe(200);
    expect(JSON.parse(replay.body)).toMatchObject({ id: 'int_FIRST', payload: createBody.payload });
    // Starting again is safe (same execution name) and repairs a first attempt that died before starting.
    expect(sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input.name).toBe('int_FIRST');
    expect(conflict.statusCode).toBe(409);
    expect(JSON.parse(conflict.body).error.code).toBe('idempotency_conflict');
  });

  it.each([
    [{ ...createBody, intent_type: '' }, 400, 'validation_failed'],
    [{ ...createBody, payload: [] }, 400, 'validation_failed'],
    [{ ...createBody, surprise: 1 }, 400, 'validation_failed'],
    ['{not json', 400, 'invalid_request'],
  ])('answers %j with %i %s', async (body, status, code) => {
    const result = await writeHandler(
      apiEvent({ method: 'POST', resource: '/v1/intents', role: 'agent', body }),
    );
    expect(result.statusCode).toBe(status);
    expect(JSON.parse(result.body).error.code).toBe(code);
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });

  it('refuses a missing key with 401 and a reviewer key with 403', async () => {
    const anonymous = await writeHandler(
      apiEvent({ method: 'POST', resource: '/v1/intents', body: createBody }),
    );
    expect(anonymous.statusCode).toBe(401);
    const reviewer = await writeHandler(
      apiEvent({ method: 'POST', resource: '/v1/intents', role: 'reviewer', body: createBody }),
    );
    expect(reviewer.statusCode).toBe(403);
    expect(JSON.parse(reviewer.body).error.code).toBe('forbidden');
  });
});

describe('Handler: intents-decide', () => {
  const stored = (overrides: Partial<IntentState> = {}) =>
    pendingIntentItem(Date.parse('2026-11-24T09:00:00.000Z'), {
      intent_type: 'intent.report.review_approval.v1',
      from_agent: KEYS.agent.principal,
      summary: 'Report',
      deadline_at: '2099-11-24T10:00:00.000Z',
      version: 3,
      stage_index: 0,
      task_token: 'token-of-stage-0',
      ...overrides,
    });
  const decide = (body: unknown, role: 'reviewer' | 'agent' = 'reviewer') =>
    decideHandler(
      apiEvent({
        method: 'POST',
        resource: '/v1/intents/{id}/decision',
        path: '/v1/intents/int_1/decision',
        pathParameters: { id: 'int_1' },
        role,
        body,
      }),
    );

  afterEach(() => {
    dynamo.reset();
    sfn.reset();
    mockKeys();
  });

  it('commits the vote conditionally on the version read, then answers the current token', async () => {
    dynamo.on(QueryCommand).resolves({
      Items: [stored(), { pk: 'INTENT#int_1', sk: 'PAYLOAD', payload_json: JSON.stringify({}) }],
    });
    dynamo.on(TransactWriteCommand).resolves({});
    sfn.on(SendTaskSuccessCommand).resolves({});

    const result = await decide({ outcome: 'approve', comment: 'fine' });

    expect(result.statusCode).toBe(200);
    expect(JSON.parse(result.body)).toMatchObject({
      status: 'approved',
      decision: { by: 'cfo@company.com' },
    });
    const items = dynamo.commandCalls(TransactWriteCommand)[0]?.args[0].input.TransactItems ?? [];
    const put = items[0]?.Put;
    expect(put?.ConditionExpression).toBe('#version = :expected AND attribute_not_exists(gsi2pk)');
    expect(put?.ExpressionAttributeValues).toEqual({ ':expected': 3 });
    expect(put?.Item).toMatchObject({ version: 4, status: 'approved' });
    // In the same transaction it leaves the reviewer's inbox and the pending list for the approved.
    const listed = (keys: (Record<string, unknown> | undefined)[]) =>
      keys.map((key) => String(key?.pk)).filter((pk) => pk.startsWith('LIST#'));
    expect(listed(items.map((item) => item.Delete?.Key))).toEqual(
      expect.arrayContaining([
        'LIST#INBOX#cfo@company.com',
        expect.stringMatching(/^LIST#STATUS#pending#/),
      ]),
    );
    expect(listed(items.map((item) => item.Put?.Item))).toEqual([
      expect.stringMatching(/^LIST#STATUS#approved#/),
    ]);
    expect(sfn.commandCalls(SendTaskSuccessCommand)[0]?.args[0].input.taskToken).toBe(
      'token-of-stage-0',
    );
  });

  it('treats TaskTimedOut after a recorded decision as done (the stage had just ended)', async () => {
    dynamo.on(QueryCommand).resolves({ Items: [stored()] });
    dynamo.on(TransactWriteCommand).resolves({});
    sfn
      .on(SendTaskSuccessCommand)
      .rejects(new TaskTimedOut({ message: 'Task Timed Out', $metadata: {} }));

    const result = await decide({ outcome: 'approve' });
    expect(result.statusCode).toBe(200);
  });

  it('loses a race with 409 already_decided carrying the winner', async () => {
    // First read: pending. The conditional write fails; the re-read shows the other decision.
    dynamo
      .on(QueryCommand)
      .resolvesOnce({ Items: [stored()] })
      .resolves({
        Items: [
          stored({
            status: 'rejected',
            version: 4,
            decision: {
              outcome: 'rejected',
              by: 'cfo@company.com',
              at: '2026-11-24T09:01:00.000Z',
              comment: 'no',
              channel: 'slack',
            },
          }),
        ],
      });
    dynamo.on(TransactWriteCommand).rejects(
      new TransactionCanceledException({
        message: 'cancelled',
        $metadata: {},
        CancellationReasons: [{ Code: 'ConditionalCheckFailed' }, { Code: 'None' }],
      }),
    );

    const result = await decide({ outcome: 'approve' });
    expect(result.statusCode).toBe(409);
    const body = JSON.parse(result.body);
    expect(body.error.code).toBe('already_decided');
    expect(body.error.intent).toMatchObject({ status: 'rejected', decision: { channel: 'slack' } });
    expect(sfn.commandCalls(SendTaskSuccessCommand)).toHaveLength(0);
  });

  it('reads the intent while the key is looked up, so the two reads overlap', async () => {
    // The key lookup answers only once the intent has been asked for: in sequence, it would hang.
    let intentAsked: () => void = () => {};
    const asked = new Promise<void>((resolve) => {
      intentAsked = resolve;
    });
    dynamo.on(GetCommand).callsFake(async (input: { Key: { pk: string } }) => {
      await asked;
      return { Item: keyItemFor(input.Key.pk.slice('APIKEY#'.length)) };
    });
    dynamo.on(QueryCommand).callsFake(() => {
      intentAsked();
      return { Items: [stored()] };
    });
    dynamo.on(TransactWriteCommand).resolves({});
    sfn.on(SendTaskSuccessCommand).resolves({});

    const result = await decide({ outcome: 'approve' });

    expect(result.statusCode).toBe(200);
    // The intent read ahead is the one the vote is applied to: one read, not two.
    expect(dynamo.commandCalls(QueryCommand)).toHaveLength(1);
  }, 5_000);

  it('a bad key still gets 401 and changes nothing, though the intent was read ahead', async () => {
    dynamo.on(QueryCommand).resolves({ Items: [stored()] });
    const result = await decideHandler(
      apiEvent({
        method: 'POST',
        resource: '/v1/intents/{id}/decision',
        path: '/v1/intents/int_1/decision',
        pathParameters: { id: 'int_1' },
        headers: { Authorization: 'Bearer csk_not-a-key-anyone-was-given' },
        body: { outcome: 'approve' },
      }),
    );
    expect(result.statusCode).toBe(401);
    expect(result.body).not.toContain('int_1');
    expect(dynamo.commandCalls(TransactWriteCommand)).toHaveLength(0);
    expect(sfn.commandCalls(SendTaskSuccessCommand)).toHaveLength(0);
  });

  it('refuses the creating agent and validates the outcome', async () => {
    dynamo.on(QueryCommand).resolves({ Items: [stored()] });
    expect((await decide({ outcome: 'approve' }, 'agent')).statusCode).toBe(403);
    const invalid = await decide({ outcome: 'maybe' });
    expect(invalid.statusCode).toBe(400);
    expect(JSON.parse(invalid.body).error.details[0].field).toBe('outcome');
  });

  it('never writes when the put fails for another reason, and answers 500 without internals', async () => {
    dynamo.on(QueryCommand).resolves({ Items: [stored()] });
    dynamo.on(TransactWriteCommand).rejects(new Error('socket hang up'));
    const result = await decide({ outcome: 'approve' });
    expect(result.statusCode).toBe(500);
    expect(result.body).not.toContain('socket');
    expect(dynamo.commandCalls(PutCommand)).toHaveLength(0);
  });
});
