import {
  DescribeExecutionCommand,
  ExecutionDoesNotExist,
  SendTaskSuccessCommand,
  SFNClient,
  StartExecutionCommand,
  TaskTimedOut,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { StepFunctionsWorkflow } from '../../lambdas/adapters/sfn-workflow';

/**
 * The `Workflow` port on Step Functions: what the handler tests, which run on a fake workflow,
 * take for granted about the calls it makes.
 */
const arn = 'arn:aws:states:eu-west-1:111111111111:stateMachine:Countersign-Workflow-ABC';
const sfn = mockClient(SFNClient);
const workflow = new StepFunctionsWorkflow(new SFNClient({ maxAttempts: 1 }), () => arn);
afterEach(() => sfn.reset());

describe('StepFunctionsWorkflow', () => {
  it('starts an execution named by the intent id (or the given name) with the id as its only input', async () => {
    sfn.on(StartExecutionCommand).resolves({ executionArn: 'arn:x', startDate: new Date() });

    await workflow.start('int_1');
    await workflow.startNamed('int_1-r1', 'int_1');

    expect(sfn.commandCalls(StartExecutionCommand).map((call) => call.args[0].input)).toEqual([
      { stateMachineArn: arn, name: 'int_1', input: JSON.stringify({ intent_id: 'int_1' }) },
      { stateMachineArn: arn, name: 'int_1-r1', input: JSON.stringify({ intent_id: 'int_1' }) },
    ]);
  });

  it('takes a start of an execution that already exists as done', async () => {
    sfn
      .on(StartExecutionCommand)
      .rejects(Object.assign(new Error('exists'), { name: 'ExecutionAlreadyExists' }));
    await expect(workflow.start('int_1')).resolves.toBeUndefined();
  });

  it("reads an execution's status by its ARN under the state machine; none is null", async () => {
    sfn
      .on(DescribeExecutionCommand)
      .rejects(new ExecutionDoesNotExist({ message: 'no such execution', $metadata: {} }));
    sfn
      .on(DescribeExecutionCommand, {
        executionArn:
          'arn:aws:states:eu-west-1:111111111111:execution:Countersign-Workflow-ABC:int_1',
      })
      .resolves({ status: 'FAILED' });

    expect(await workflow.status('int_1')).toBe('FAILED');
    expect(await workflow.status('int_1-r1')).toBeNull();
  });

  it('answers the token with the output, and calls a token whose stage ended stale', async () => {
    sfn.on(SendTaskSuccessCommand).resolves({});
    expect(await workflow.wake('token-of-stage-0', { reason: 'decided' })).toBe('delivered');
    expect(sfn.commandCalls(SendTaskSuccessCommand)[0]?.args[0].input).toEqual({
      taskToken: 'token-of-stage-0',
      output: JSON.stringify({ reason: 'decided' }),
    });

    sfn
      .on(SendTaskSuccessCommand)
      .rejects(new TaskTimedOut({ message: 'Task Timed Out', $metadata: {} }));
    expect(await workflow.wake('token-of-stage-0', {})).toBe('stale');
  });
});
