/**
 * A definition shaped like the one CDK synthesizes for Countersign's approval loop (LambdaInvoke
 * with ResultSelector/ResultPath and service-exception Retry, a Choice, a waitForTaskToken task
 * with TimeoutSecondsPath whose States.Timeout Catch goes through a Pass using States.MathAdd and
 * loops back), run end to end on the injected clock.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  eventTypes,
  functionArn,
  type Harness,
  historyOf,
  lastToken,
  openHarness,
} from './helpers';

const LAMBDA_SERVICE_ERRORS = [
  'Lambda.ClientExecutionTimeoutException',
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
];

const DEFINITION = {
  StartAt: 'PlanStage',
  States: {
    PlanStage: {
      Next: 'Route',
      Retry: [
        { ErrorEquals: LAMBDA_SERVICE_ERRORS, IntervalSeconds: 2, MaxAttempts: 6, BackoffRate: 2 },
        {
          ErrorEquals: ['States.TaskFailed', 'States.Timeout'],
          IntervalSeconds: 1,
          MaxAttempts: 8,
          BackoffRate: 2,
          MaxDelaySeconds: 60,
        },
      ],
      Type: 'Task',
      TimeoutSeconds: 30,
      ResultPath: '$.next',
      ResultSelector: {
        'action.$': '$.Payload.action',
        'step.$': '$.Payload.step',
        'timeout_seconds.$': '$.Payload.timeout_seconds',
      },
      Resource: 'arn:aws:states:::lambda:invoke',
      Parameters: {
        FunctionName: functionArn('countersign-plan-stage'),
        Payload: { 'intent_id.$': '$.intent_id' },
      },
    },
    Route: {
      Type: 'Choice',
      Choices: [{ Variable: '$.next.action', StringEquals: 'await', Next: 'AwaitDecision' }],
      Default: 'Done',
    },
    AwaitDecision: {
      Next: 'PlanStage',
      Retry: [
        { ErrorEquals: LAMBDA_SERVICE_ERRORS, IntervalSeconds: 2, MaxAttempts: 6, BackoffRate: 2 },
        { ErrorEquals: ['States.TaskFailed'], IntervalSeconds: 2, MaxAttempts: 5, BackoffRate: 2 },
      ],
      Catch: [{ ErrorEquals: ['States.Timeout'], ResultPath: null, Next: 'CountTimeout' }],
      Type: 'Task',
      TimeoutSecondsPath: '$.next.timeout_seconds',
      ResultPath: null,
      Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
      Parameters: {
        FunctionName: functionArn('countersign-stage-task'),
        Payload: {
          'intent_id.$': '$.intent_id',
          'step.$': '$.next.step',
          'task_token.$': '$$.Task.Token',
        },
      },
    },
    CountTimeout: {
      Type: 'Pass',
      Parameters: { 'intent_id.$': '$.intent_id', 'timeouts.$': 'States.MathAdd($.timeouts, 1)' },
      Next: 'PlanStage',
    },
    Done: { Type: 'Succeed' },
  },
};

interface Plan {
  action: 'await' | 'finish';
  step: number;
  /** Always present: ResultSelector selects it, and a missing path is States.Runtime on AWS. */
  timeout_seconds: number | null;
}

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

describe('Countersign approval loop', () => {
  it('a plan without a field its ResultSelector selects fails with States.Runtime (as AWS)', async () => {
    const h = await openHarness({ approval: DEFINITION }, { fakeClock: true });
    harness = h;
    h.lambdas.on('countersign-plan-stage', () => ({ action: 'finish', step: 1 }));
    const arn = await h.start({ intent_id: 'i-0', timeouts: 0 });
    await h.sfn.settle();
    const described = await h.sfn.describeExecution({ executionArn: arn });
    expect(described).toMatchObject({ status: 'FAILED', error: 'States.Runtime' });
    expect(described.cause).toContain('$.Payload.timeout_seconds');
  });

  it('times out a stage, counts it with States.MathAdd, loops, then finishes on a decision', async () => {
    const h = await openHarness({ approval: DEFINITION }, { fakeClock: true });
    harness = h;
    const plans: Plan[] = [
      { action: 'await', step: 1, timeout_seconds: 300 }, // reminder after 5 minutes
      { action: 'await', step: 2, timeout_seconds: 3600 }, // then wait for the deadline
      { action: 'finish', step: 3, timeout_seconds: null },
    ];
    let planCalls = 0;
    h.lambdas.on('countersign-plan-stage', () => plans[planCalls++]);
    h.lambdas.on('countersign-stage-task', () => ({ stored: true }));
    const advance = async (seconds: number) => {
      h.clock?.advance(seconds * 1000);
      await h.sfn.runDueTimers();
      await h.sfn.settle();
    };

    const arn = await h.start({ intent_id: 'intent-1', timeouts: 0 }, 'intent-1');
    await h.sfn.settle();
    expect(h.lambdas.callsTo('countersign-stage-task')).toHaveLength(1);
    const firstToken = lastToken(h.lambdas, 'countersign-stage-task', 'task_token');

    await advance(299);
    expect((await h.sfn.describeExecution({ executionArn: arn })).status).toBe('RUNNING');
    await advance(1); // the 300 s stage timeout: Catch → CountTimeout → PlanStage → second pause
    expect(h.lambdas.callsTo('countersign-stage-task')).toEqual([
      { intent_id: 'intent-1', step: 1, task_token: firstToken },
      { intent_id: 'intent-1', step: 2, task_token: expect.any(String) },
    ]);
    const secondToken = lastToken(h.lambdas, 'countersign-stage-task', 'task_token');
    expect(secondToken).not.toBe(firstToken);
    await expect(
      h.sfn.sendTaskSuccess({ taskToken: firstToken, output: '{}' }),
    ).rejects.toMatchObject({ name: 'TaskTimedOut' });

    await advance(60);
    await h.sfn.sendTaskSuccess({
      taskToken: secondToken,
      output: JSON.stringify({ decision: 'approved' }),
    });
    await h.sfn.settle();

    const described = await h.sfn.describeExecution({ executionArn: arn });
    expect(described.status).toBe('SUCCEEDED');
    expect(JSON.parse(described.output ?? '{}')).toEqual({
      intent_id: 'intent-1',
      timeouts: 1,
      next: { action: 'finish', step: 3, timeout_seconds: null },
    });
    expect(h.lambdas.callsTo('countersign-plan-stage')).toEqual([
      { intent_id: 'intent-1' },
      { intent_id: 'intent-1' },
      { intent_id: 'intent-1' },
    ]);
    expect(await eventTypes(h.sfn, arn)).toEqual([
      'ExecutionStarted',
      'TaskStateEntered',
      'TaskScheduled',
      'TaskStarted',
      'TaskSucceeded',
      'TaskStateExited',
      'ChoiceStateEntered',
      'ChoiceStateExited',
      'TaskStateEntered',
      'TaskScheduled',
      'TaskStarted',
      'TaskSubmitted',
      'TaskTimedOut',
      'TaskStateExited',
      'PassStateEntered',
      'PassStateExited',
      'TaskStateEntered',
      'TaskScheduled',
      'TaskStarted',
      'TaskSucceeded',
      'TaskStateExited',
      'ChoiceStateEntered',
      'ChoiceStateExited',
      'TaskStateEntered',
      'TaskScheduled',
      'TaskStarted',
      'TaskSubmitted',
      'TaskSucceeded',
      'TaskStateExited',
      'TaskStateEntered',
      'TaskScheduled',
      'TaskStarted',
      'TaskSucceeded',
      'TaskStateExited',
      'ChoiceStateEntered',
      'ChoiceStateExited',
      'SucceedStateEntered',
      'SucceedStateExited',
      'ExecutionSucceeded',
    ]);
    const scheduled = (await historyOf(h.sfn, arn))
      .filter((event) => event.type === 'TaskScheduled')
      .map((event) => event.taskScheduledEventDetails?.timeoutInSeconds);
    expect(scheduled).toEqual([30, 300, 30, 3600, 30]);
  });

  it('retries PlanStage on Lambda service exceptions and on its 30 s timeout', async () => {
    const h = await openHarness({ approval: DEFINITION }, { fakeClock: true });
    harness = h;
    let calls = 0;
    h.lambdas.on('countersign-plan-stage', () => {
      calls++;
      if (calls === 1) {
        const error = new Error('throttled');
        error.name = 'Lambda.ServiceException';
        throw error;
      }
      if (calls === 2) return new Promise(() => undefined); // hangs past TimeoutSeconds
      return { action: 'finish', step: 1, timeout_seconds: null };
    });
    const arn = await h.start({ intent_id: 'i-2', timeouts: 0 });
    await h.sfn.settle();
    h.clock?.advance(2000); // first retrier: 2 s
    await h.sfn.runDueTimers();
    expect(calls).toBe(2);
    h.clock?.advance(30_000); // TimeoutSeconds 30 → States.Timeout → second retrier, 1 s
    await h.sfn.runDueTimers();
    h.clock?.advance(1000);
    await h.sfn.runDueTimers();
    // Not settle(): the second invocation never returns (its late answer would be ignored).
    const described = await h.sfn.waitForExecution(arn);
    expect(calls).toBe(3);
    expect(described.status).toBe('SUCCEEDED');
    const types = await eventTypes(h.sfn, arn);
    expect(types.slice(1, 11)).toEqual([
      'TaskStateEntered',
      'TaskScheduled',
      'TaskStarted',
      'TaskFailed',
      'TaskScheduled',
      'TaskStarted',
      'TaskTimedOut',
      'TaskScheduled',
      'TaskStarted',
      'TaskSucceeded',
    ]);
  });
});
