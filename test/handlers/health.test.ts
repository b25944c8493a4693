import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DescribeStateMachineCommand, SFNClient } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { apiEvent, setHandlerEnvironment } from './helpers';

/**
 * GET /healthz: liveness touches nothing; `?ready=1` describes the table (and the state machine
 * where one is given for readiness) and answers 503 `unavailable` naming what does not answer.
 */
setHandlerEnvironment();
const dynamo = mockClient(DynamoDBClient);
const sfn = mockClient(SFNClient);
const { handler } = await import('../../lambdas/handlers/health');

const healthz = (query?: Record<string, string>) =>
  handler(apiEvent({ method: 'GET', resource: '/healthz', ...(query ? { query } : {}) }));

beforeEach(() => {
  dynamo.reset();
  sfn.reset();
  delete process.env.READINESS_STATE_MACHINE_ARN;
});
afterEach(() => {
  delete process.env.READINESS_STATE_MACHINE_ARN;
});

describe('GET /healthz', () => {
  it('is liveness without touching the table', async () => {
    const result = await healthz();
    expect(result.statusCode).toBe(200);
    expect(JSON.parse(result.body)).toEqual({ ok: true });
    expect(dynamo.calls()).toHaveLength(0);
  });

  it('?ready=1 is 200 when the table answers, checking only the table in AWS', async () => {
    dynamo.on(DescribeTableCommand).resolves({ Table: { TableStatus: 'ACTIVE' } });
    const result = await healthz({ ready: '1' });
    expect(result.statusCode).toBe(200);
    expect(JSON.parse(result.body)).toEqual({ ok: true, ready: true });
    expect(dynamo.commandCalls(DescribeTableCommand)[0]?.args[0].input).toEqual({
      TableName: 'countersign-test',
    });
    expect(sfn.calls()).toHaveLength(0);
  });

  it('?ready=1 is 503 unavailable with Retry-After, naming what does not answer', async () => {
    process.env.READINESS_STATE_MACHINE_ARN = process.env.STATE_MACHINE_ARN;
    dynamo
      .on(DescribeTableCommand)
      .rejects(Object.assign(new Error('connect ECONNREFUSED'), { name: 'TimeoutError' }));
    sfn.on(DescribeStateMachineCommand).resolves({});
    const result = await healthz({ ready: '1' });
    expect(result.statusCode).toBe(503);
    expect(result.headers?.['Retry-After']).toBe('2');
    expect(JSON.parse(result.body)).toEqual({
      error: {
        code: 'unavailable',
        message: 'Not ready: a part the API needs does not answer.',
        details: [{ field: 'store', message: 'does not answer (TimeoutError)' }],
      },
    });
    expect(result.body).not.toContain('ECONNREFUSED');

    dynamo.on(DescribeTableCommand).resolves({ Table: { TableStatus: 'ACTIVE' } });
    sfn.on(DescribeStateMachineCommand).rejects(new Error('down'));
    const engineDown = await healthz({ ready: '1' });
    expect(engineDown.statusCode).toBe(503);
    expect(JSON.parse(engineDown.body).error.details).toEqual([
      { field: 'engine', message: 'does not answer (Error)' },
    ]);
  });
});
