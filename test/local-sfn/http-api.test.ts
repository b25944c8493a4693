/**
 * The Step Functions API over HTTP, exercised with the real @aws-sdk/client-sfn: operation
 * shapes, pagination, and that every AWS error name reaches the caller as the SDK's exception.
 */
import {
  DescribeExecutionCommand,
  DescribeStateMachineCommand,
  ExecutionAlreadyExists,
  ExecutionDoesNotExist,
  GetExecutionHistoryCommand,
  InvalidArn,
  InvalidExecutionInput,
  InvalidName,
  InvalidOutput,
  InvalidToken,
  ListExecutionsCommand,
  ListStateMachinesCommand,
  SendTaskFailureCommand,
  SendTaskHeartbeatCommand,
  SendTaskSuccessCommand,
  type SFNClient,
  StartExecutionCommand,
  StateMachineDoesNotExist,
  StopExecutionCommand,
  TaskDoesNotExist,
  TaskTimedOut,
} from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TaskTokens } from '../../local/stepfunctions/tokens';
import { callbackTask, type Harness, lastToken, openHarness, sdkClient } from './helpers';

let harness: Harness;
let client: SFNClient;
let endpoint: string;
let machineArn: string;

beforeAll(async () => {
  harness = await openHarness({
    approval: {
      StartAt: 'Await',
      States: {
        Await: {
          ...callbackTask('notify'),
          HeartbeatSeconds: 600,
          TimeoutSeconds: 3600,
          ResultPath: '$.decision',
          Next: 'Done',
        },
        Done: { Type: 'Succeed' },
      },
    },
  });
  harness.lambdas.on('notify', () => ({ ok: true }));
  endpoint = await harness.sfn.listen(0);
  client = sdkClient(endpoint);
  machineArn = harness.arn('approval');
});

afterAll(async () => {
  client?.destroy();
  await harness?.close();
});

async function startPaused(
  name: string,
  input = '{"intent_id":"x"}',
): Promise<{ arn: string; token: string }> {
  const calls = harness.lambdas.calls.length;
  const { executionArn } = await client.send(
    new StartExecutionCommand({ stateMachineArn: machineArn, name, input }),
  );
  await harness.sfn.settle();
  expect(harness.lambdas.calls.length).toBe(calls + 1);
  return { arn: executionArn as string, token: lastToken(harness.lambdas, 'notify') };
}

describe('Step Functions API over HTTP (AWS JSON 1.0)', () => {
  it('runs a callback task end to end through the SDK', async () => {
    const { arn, token } = await startPaused('e2e');
    const running = await client.send(new DescribeExecutionCommand({ executionArn: arn }));
    expect(running).toMatchObject({
      status: 'RUNNING',
      name: 'e2e',
      stateMachineArn: machineArn,
      input: '{"intent_id":"x"}',
    });
    expect(running.startDate).toBeInstanceOf(Date);
    await client.send(new SendTaskHeartbeatCommand({ taskToken: token }));
    await client.send(
      new SendTaskSuccessCommand({ taskToken: token, output: '{"approved":true}' }),
    );
    const done = await client.send(new DescribeExecutionCommand({ executionArn: arn }));
    expect(done).toMatchObject({
      status: 'SUCCEEDED',
      output: '{"intent_id":"x","decision":{"approved":true}}',
    });
    expect(done.stopDate?.getTime()).toBeGreaterThanOrEqual(
      done.startDate?.getTime() ?? Number.POSITIVE_INFINITY,
    );
  });

  it('StartExecution is idempotent for the same name and input', async () => {
    const first = await client.send(
      new StartExecutionCommand({ stateMachineArn: machineArn, name: 'idem', input: '{"a":1}' }),
    );
    const second = await client.send(
      new StartExecutionCommand({ stateMachineArn: machineArn, name: 'idem', input: '{"a":1}' }),
    );
    expect(second.executionArn).toBe(first.executionArn);
    expect(second.startDate).toEqual(first.startDate);
    const conflict = client.send(
      new StartExecutionCommand({ stateMachineArn: machineArn, name: 'idem', input: '{"a":2}' }),
    );
    await expect(conflict).rejects.toBeInstanceOf(ExecutionAlreadyExists);
    await client.send(new StopExecutionCommand({ executionArn: first.executionArn }));
    const afterClose = client.send(
      new StartExecutionCommand({ stateMachineArn: machineArn, name: 'idem', input: '{"a":1}' }),
    );
    await expect(afterClose).rejects.toBeInstanceOf(ExecutionAlreadyExists);
  });

  it('a second SendTaskSuccess is TaskTimedOut; bad tokens are InvalidToken; bad output InvalidOutput', async () => {
    const { token } = await startPaused('twice');
    await client.send(new SendTaskSuccessCommand({ taskToken: token, output: '{}' }));
    const again = client.send(new SendTaskSuccessCommand({ taskToken: token, output: '{}' }));
    await expect(again).rejects.toBeInstanceOf(TaskTimedOut);
    await expect(again).rejects.toMatchObject({
      name: 'TaskTimedOut',
      $metadata: { httpStatusCode: 400 },
    });
    await expect(
      client.send(new SendTaskFailureCommand({ taskToken: token, error: 'E' })),
    ).rejects.toBeInstanceOf(TaskTimedOut);
    await expect(
      client.send(new SendTaskHeartbeatCommand({ taskToken: token })),
    ).rejects.toBeInstanceOf(TaskTimedOut);
    await expect(
      client.send(new SendTaskSuccessCommand({ taskToken: 'garbage', output: '{}' })),
    ).rejects.toBeInstanceOf(InvalidToken);

    const pending = await startPaused('bad-output');
    await expect(
      client.send(new SendTaskSuccessCommand({ taskToken: pending.token, output: 'nope' })),
    ).rejects.toBeInstanceOf(InvalidOutput);
    // A well-signed token for an execution this engine does not know.
    const foreign = (await TaskTokens.load(harness.dataDir)).mint(987_654, 1);
    await expect(
      client.send(new SendTaskSuccessCommand({ taskToken: foreign, output: '{}' })),
    ).rejects.toBeInstanceOf(TaskDoesNotExist);
    await client.send(
      new SendTaskFailureCommand({ taskToken: pending.token, error: 'Rejected', cause: 'no' }),
    );
    const failed = await client.send(new DescribeExecutionCommand({ executionArn: pending.arn }));
    expect(failed).toMatchObject({ status: 'FAILED', error: 'Rejected', cause: 'no' });
  });

  it('maps lookup and validation failures to AWS error names', async () => {
    const missing = machineArn.replace(':stateMachine:', ':execution:').concat(':nope');
    await expect(
      client.send(new DescribeExecutionCommand({ executionArn: missing })),
    ).rejects.toBeInstanceOf(ExecutionDoesNotExist);
    await expect(
      client.send(new DescribeExecutionCommand({ executionArn: 'arn:aws:states:bad' })),
    ).rejects.toBeInstanceOf(InvalidArn);
    await expect(
      client.send(
        new StartExecutionCommand({ stateMachineArn: `${machineArn}-missing`, name: 'x' }),
      ),
    ).rejects.toBeInstanceOf(StateMachineDoesNotExist);
    await expect(
      client.send(new StartExecutionCommand({ stateMachineArn: machineArn, name: 'bad name' })),
    ).rejects.toBeInstanceOf(InvalidName);
    await expect(
      client.send(new StartExecutionCommand({ stateMachineArn: machineArn, input: '{' })),
    ).rejects.toBeInstanceOf(InvalidExecutionInput);
    await expect(
      client.send(new ListExecutionsCommand({ stateMachineArn: `${machineArn}-missing` })),
    ).rejects.toBeInstanceOf(StateMachineDoesNotExist);
    await expect(
      client.send(new SendTaskSuccessCommand({ taskToken: undefined, output: '{}' })),
    ).rejects.toMatchObject({
      name: 'ValidationException',
    });
  });

  it('speaks the wire format the SDK expects (raw request)', async () => {
    const response = await fetch(endpoint, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/x-amz-json-1.0',
        'X-Amz-Target': 'AWSStepFunctions.SendTaskSuccess',
      },
      body: JSON.stringify({ taskToken: 'garbage', output: '{}' }),
    });
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toBe('application/x-amz-json-1.0');
    expect(await response.json()).toEqual({
      __type: 'com.amazonaws.swf.service.v2.model#InvalidToken',
      message: "Invalid Token: 'Invalid token'",
    });
    const started = await fetch(endpoint, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/x-amz-json-1.0',
        'X-Amz-Target': 'AWSStepFunctions.StartExecution',
      },
      body: JSON.stringify({ stateMachineArn: machineArn, name: 'raw', input: '{}' }),
    });
    const body = (await started.json()) as { executionArn: string; startDate: unknown };
    expect(typeof body.startDate).toBe('number'); // epoch seconds
    expect(Math.abs((body.startDate as number) - Date.now() / 1000)).toBeLessThan(60);
    const unknown = await fetch(endpoint, {
      method: 'POST',
      headers: { 'X-Amz-Target': 'AWSStepFunctions.Nope' },
      body: '{}',
    });
    expect(unknown.status).toBe(400);
    expect(((await unknown.json()) as { __type: string }).__type).toMatch(
      /#UnknownOperationException$/,
    );
    await client.send(new StopExecutionCommand({ executionArn: body.executionArn }));
  });

  it('GetExecutionHistory pages forwards and backwards', async () => {
    const { arn, token } = await startPaused('history');
    await client.send(new SendTaskSuccessCommand({ taskToken: token, output: '{}' }));
    const all = await client.send(new GetExecutionHistoryCommand({ executionArn: arn }));
    const types = all.events?.map((event) => event.type);
    expect(types).toEqual([
      'ExecutionStarted',
      'TaskStateEntered',
      'TaskScheduled',
      'TaskStarted',
      'TaskSubmitted',
      'TaskSucceeded',
      'TaskStateExited',
      'SucceedStateEntered',
      'SucceedStateExited',
      'ExecutionSucceeded',
    ]);
    expect(all.events?.[0]?.timestamp).toBeInstanceOf(Date);
    expect(all.events?.[0]?.executionStartedEventDetails?.input).toBe('{"intent_id":"x"}');
    expect(all.nextToken).toBeUndefined();

    const pages: number[][] = [];
    let nextToken: string | undefined;
    do {
      const page = await client.send(
        new GetExecutionHistoryCommand({
          executionArn: arn,
          maxResults: 3,
          reverseOrder: true,
          nextToken,
        }),
      );
      pages.push(page.events?.map((event) => event.id ?? 0) ?? []);
      nextToken = page.nextToken;
    } while (nextToken);
    expect(pages).toEqual([[10, 9, 8], [7, 6, 5], [4, 3, 2], [1]]);

    const withoutData = await client.send(
      new GetExecutionHistoryCommand({
        executionArn: arn,
        includeExecutionData: false,
        maxResults: 1,
      }),
    );
    expect(withoutData.events?.[0]?.executionStartedEventDetails?.input).toBeUndefined();
    await expect(
      client.send(new GetExecutionHistoryCommand({ executionArn: arn, nextToken: 'forged' })),
    ).rejects.toBeInstanceOf(InvalidToken);
  });

  it('ListExecutions filters by status and pages, newest first', async () => {
    const listed = await client.send(
      new ListExecutionsCommand({ stateMachineArn: machineArn, statusFilter: 'SUCCEEDED' }),
    );
    const names = listed.executions?.map((execution) => execution.name);
    expect(names).toEqual(['history', 'twice', 'e2e']);
    const running = await startPaused('list-running');
    const firstPage = await client.send(
      new ListExecutionsCommand({ stateMachineArn: machineArn, maxResults: 2 }),
    );
    expect(firstPage.executions?.map((execution) => execution.name)).toEqual([
      'list-running',
      'history',
    ]);
    const secondPage = await client.send(
      new ListExecutionsCommand({
        stateMachineArn: machineArn,
        maxResults: 2,
        nextToken: firstPage.nextToken,
      }),
    );
    expect(secondPage.executions).toHaveLength(2);
    const onlyRunning = await client.send(
      new ListExecutionsCommand({ stateMachineArn: machineArn, statusFilter: 'RUNNING' }),
    );
    expect(onlyRunning.executions?.map((execution) => execution.name)).toEqual(['list-running']);
    await client.send(new StopExecutionCommand({ executionArn: running.arn }));
  });

  it('describes and lists state machines', async () => {
    const described = await client.send(
      new DescribeStateMachineCommand({ stateMachineArn: machineArn }),
    );
    expect(described).toMatchObject({ name: 'approval', type: 'STANDARD', status: 'ACTIVE' });
    expect(JSON.parse(described.definition ?? '{}').StartAt).toBe('Await');
    const listed = await client.send(new ListStateMachinesCommand({}));
    expect(listed.stateMachines?.map((machine) => machine.stateMachineArn)).toEqual([machineArn]);
  });
});
