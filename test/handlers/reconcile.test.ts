import {
  DescribeExecutionCommand,
  ExecutionDoesNotExist,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { pendingIntentItem, setHandlerEnvironment } from './helpers';

setHandlerEnvironment();
process.env.STATE_MACHINE_ARN =
  'arn:aws:states:eu-west-1:111111111111:stateMachine:Countersign-Workflow-ABC';
process.env.LOG_LEVEL = 'INFO';
const dynamo = mockClient(DynamoDBDocumentClient);
const sfn = mockClient(SFNClient);
const { handler } = await import('../../lambdas/handlers/reconcile');

// Created an hour ago, in its first stage, with nine hours to its deadline.
const meta = pendingIntentItem(
  Date.now() - 60 * 60 * 1000,
  {
    summary: 'Deploy',
    deadline_at: new Date(Date.now() + 9 * 60 * 60 * 1000).toISOString(),
    version: 3,
    stage_index: 0,
    task_token: 'AAAA-secret-task-token',
  },
  { remind_after: [], timeout: { after: 36000, action: 'reject' } },
);
const SECRET_PAYLOAD = { iban: 'DE89 3704 0044 0532 0130 00' };

describe('Handler: reconcile (scheduled)', () => {
  let lines: string[];
  beforeEach(() => {
    lines = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      lines.push(String(chunk));
      return true;
    });
    // No intent of an earlier release is left to migrate (the old index is empty); the intent
    // is on the due list, overdue since it was last updated.
    dynamo.on(QueryCommand).callsFake((input) => {
      const pk = String(input.ExpressionAttributeValues?.[':pk']);
      if (input.IndexName) return { Items: [] };
      if (pk.startsWith('LIST#DUE#')) {
        return { Items: [{ pk, sk: `${String(meta.updated_at)}#int_1`, id: 'int_1' }] };
      }
      return { Items: [meta, { sk: 'PAYLOAD', payload_json: JSON.stringify(SECRET_PAYLOAD) }] };
    });
    dynamo
      .on(GetCommand)
      .resolves({ Item: { sk: 'PAYLOAD', payload_json: JSON.stringify(SECRET_PAYLOAD) } });
  });
  afterEach(() => {
    vi.restoreAllMocks();
    dynamo.reset();
    sfn.reset();
  });

  it('restarts a failed execution as <id>-r1 with the intent id as its only input, and logs it', async () => {
    // Prepare
    sfn
      .on(DescribeExecutionCommand)
      .rejects(new ExecutionDoesNotExist({ message: 'no such execution', $metadata: {} }));
    sfn
      .on(DescribeExecutionCommand, {
        executionArn:
          'arn:aws:states:eu-west-1:111111111111:execution:Countersign-Workflow-ABC:int_1',
      })
      .resolves({ status: 'FAILED' });
    sfn.on(StartExecutionCommand).resolves({ executionArn: 'arn:…', startDate: new Date() });
    // Act
    const summary = await handler({}, { awsRequestId: 'req-123' });
    // Assess
    expect(summary).toMatchObject({ checked: 1, restarted: 1 });
    expect(sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input).toEqual({
      stateMachineArn: process.env.STATE_MACHINE_ARN,
      name: 'int_1-r1',
      input: JSON.stringify({ intent_id: 'int_1' }),
    });
    const logged = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(logged).toContainEqual(
      expect.objectContaining({
        level: 'WARN',
        message: 'reconciled',
        intent_id: 'int_1',
        kind: 'restarted',
        aws_request_id: 'req-123',
      }),
    );
    expect(logged).toContainEqual(
      expect.objectContaining({ message: 'reconcile summary', restarted: 1 }),
    );
    // Never the payload, never the task token.
    expect(lines.join('')).not.toContain('DE89');
    expect(lines.join('')).not.toContain('secret-task-token');
  });

  it('fails the run when an intent cannot be repaired, so that the error alarm fires', async () => {
    // Prepare
    sfn.on(DescribeExecutionCommand).rejects(new Error('AccessDeniedException'));
    // Act / Assess
    await expect(handler({}, { awsRequestId: 'req-456' })).rejects.toThrow(
      /1 intent\(s\) could not be repaired/,
    );
    expect(lines.join('')).toContain('"message":"reconcile failed"');
  });
});
