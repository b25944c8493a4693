import { ArnFormat, Duration, Names, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Grant, type IGrantable } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import {
  Choice,
  Condition,
  DefinitionBody,
  Errors,
  IntegrationPattern,
  JsonPath,
  LogLevel,
  StateMachine,
  StateMachineType,
  Succeed,
  TaskInput,
  Timeout,
  Wait,
  WaitTime,
} from 'aws-cdk-lib/aws-stepfunctions';
import { LambdaInvoke } from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { DECIDED_NOTICE_RETRY } from '../lambdas/domain/stages';
import { CALLBACK_RETRY } from '../lambdas/domain/webhook';

export interface ApprovalWorkflowProps {
  /** Decides the next stage from the stored intent (finish, record the timeout, or pause). */
  readonly planStageFunction: IFunction;
  /** The callback task of a stage: stores the task token and notifies. */
  readonly stageTaskFunction: IFunction;
  /** Tells everyone asked of the final outcome (emails, Slack messages rewritten). */
  readonly notifyDecidedFunction: IFunction;
  /** Delivers the signed final intent to its callback_url, one attempt per invocation. */
  readonly deliverCallbackFunction: IFunction;
  /**
   * How long execution logs are kept.
   * @default - one month
   */
  readonly logRetention?: RetentionDays;
}

/**
 * The approval state machine (Standard: callbacks need it, and it runs up to a year). Its
 * input is `{ "intent_id": "..." }` only; the payload stays in DynamoDB.
 *
 *   PlanStage ─▶ Route ─(await)─▶ AwaitDecision ─(answered)──▶ PlanStage
 *                  │                    └──(States.Timeout)──▶ PlanStage
 *                  ├─(hold)─▶ HoldReminders (Wait, TimestampPath) ─▶ PlanStage
 *                  ├─(stop)─▶ Done (superseded during its hold)
 *                  └─(finish)─▶ NotifyDecided ─(sent, or retries exhausted)─▶ Callback?
 *                                 Callback? ─(callback)─▶ DeliverCallback ─(delivered, gave up, or retries exhausted)─▶ Done
 *                                     └─(none)─▶ Done
 *
 * Each pause is one callback task whose timeout runs to the next planned moment (a reminder,
 * an escalation, the deadline), taken from PlanStage's answer with TimeoutSecondsPath. A
 * decision answers the current token; every answer or timeout goes back to PlanStage, which
 * reads the intent and so cannot act on a stale view. A final intent with a callback_url is
 * POSTed by DeliverCallback, whose Retry is the delivery's backoff (durable, like every state);
 * its Catch ends the execution however the receiver behaves, so the decision never waits on it.
 * A reminder stage whose recipients are all outside their working hours waits in the Wait
 * state HoldReminders until the first of them starts work (`domain/reminder-holds.ts`). No
 * token can end a Wait: a decision during the hold starts a successor execution, which carries
 * on at once, and this one, superseded, stops when it wakes.
 * NotifyDecided comes first because it is short and bounded (a few attempts a minute or so
 * apart), while a callback receiver that is down may be retried for hours; its Catch moves on,
 * so a notice that cannot be sent never costs the agent its callback.
 */
export class ApprovalWorkflow extends Construct {
  readonly stateMachine: StateMachine;
  /**
   * Known before the state machine exists, so that the functions it calls can be allowed to
   * answer its tokens without a reference to it (which would be a circular dependency).
   */
  readonly stateMachineName: string;

  constructor(scope: Construct, id: string, props: ApprovalWorkflowProps) {
    super(scope, id);
    this.stateMachineName = Names.uniqueResourceName(this, { maxLength: 80, separator: '-' });

    const planStage = new LambdaInvoke(this, 'PlanStage', {
      lambdaFunction: props.planStageFunction,
      payload: TaskInput.fromObject({
        intent_id: JsonPath.stringAt('$.intent_id'),
        execution: JsonPath.stringAt('$$.Execution.Name'),
      }),
      resultSelector: {
        action: JsonPath.stringAt('$.Payload.action'),
        status: JsonPath.stringAt('$.Payload.status'),
        step: JsonPath.stringAt('$.Payload.step'),
        stage: JsonPath.stringAt('$.Payload.stage'),
        timeout_seconds: JsonPath.stringAt('$.Payload.timeout_seconds'),
        hold_until: JsonPath.stringAt('$.Payload.hold_until'),
        callback: JsonPath.stringAt('$.Payload.callback'),
      },
      resultPath: '$.next',
      taskTimeout: Timeout.duration(Duration.seconds(30)),
    });
    planStage.addRetry({
      errors: [Errors.TASKS_FAILED, Errors.TIMEOUT],
      interval: Duration.seconds(1),
      maxAttempts: 8,
      backoffRate: 2,
      maxDelay: Duration.seconds(60),
    });

    const awaitDecision = new LambdaInvoke(this, 'AwaitDecision', {
      lambdaFunction: props.stageTaskFunction,
      integrationPattern: IntegrationPattern.WAIT_FOR_TASK_TOKEN,
      payload: TaskInput.fromObject({
        intent_id: JsonPath.stringAt('$.intent_id'),
        step: JsonPath.numberAt('$.next.step'),
        stage: JsonPath.numberAt('$.next.stage'),
        task_token: JsonPath.taskToken,
      }),
      taskTimeout: Timeout.at('$.next.timeout_seconds'),
      resultPath: JsonPath.DISCARD,
    });
    // A failed notify invocation gets a fresh token on retry; a timeout is not a failure here.
    awaitDecision.addRetry({
      errors: [Errors.TASKS_FAILED],
      interval: Duration.seconds(2),
      maxAttempts: 5,
      backoffRate: 2,
    });
    awaitDecision.addCatch(planStage, { errors: [Errors.TIMEOUT], resultPath: JsonPath.DISCARD });
    awaitDecision.next(planStage);

    const done = new Succeed(this, 'Done');
    const deliverCallback = new LambdaInvoke(this, 'DeliverCallback', {
      lambdaFunction: props.deliverCallbackFunction,
      payload: TaskInput.fromObject({
        intent_id: JsonPath.stringAt('$.intent_id'),
        retry_count: JsonPath.numberAt('$$.State.RetryCount'),
      }),
      resultPath: JsonPath.DISCARD,
      taskTimeout: Timeout.duration(Duration.seconds(60)),
      // One retrier only (States.TaskFailed covers Lambda's own exceptions too), so that
      // RetryCount counts exactly the attempts the handler's numbering assumes.
      retryOnServiceExceptions: false,
    });
    deliverCallback.addRetry({
      errors: [Errors.TASKS_FAILED, Errors.TIMEOUT],
      interval: Duration.seconds(CALLBACK_RETRY.intervalSeconds),
      maxAttempts: CALLBACK_RETRY.maxRetries,
      backoffRate: CALLBACK_RETRY.backoffRate,
      maxDelay: Duration.seconds(CALLBACK_RETRY.maxDelaySeconds),
    });
    deliverCallback.addCatch(done, { errors: [Errors.ALL], resultPath: JsonPath.DISCARD });
    deliverCallback.next(done);

    const callbackWanted = new Choice(this, 'CallbackWanted')
      .when(Condition.booleanEquals('$.next.callback', true), deliverCallback)
      .otherwise(done);
    const notifyDecided = new LambdaInvoke(this, 'NotifyDecided', {
      lambdaFunction: props.notifyDecidedFunction,
      payload: TaskInput.fromObject({
        intent_id: JsonPath.stringAt('$.intent_id'),
        attempt: JsonPath.numberAt('$$.State.RetryCount'),
      }),
      resultPath: JsonPath.DISCARD,
      taskTimeout: Timeout.duration(Duration.seconds(60)),
      // As for DeliverCallback: with Lambda's service-exception retrier beside this one, a
      // service hiccup could make an earlier attempt look like the last one.
      retryOnServiceExceptions: false,
    });
    // The handler records what still fails on its last attempt, so the counts must agree.
    notifyDecided.addRetry({
      errors: [Errors.TASKS_FAILED, Errors.TIMEOUT],
      interval: Duration.seconds(DECIDED_NOTICE_RETRY.intervalSeconds),
      maxAttempts: DECIDED_NOTICE_RETRY.attempts - 1,
      backoffRate: DECIDED_NOTICE_RETRY.backoffRate,
    });
    notifyDecided.addCatch(callbackWanted, { errors: [Errors.ALL], resultPath: JsonPath.DISCARD });
    notifyDecided.next(callbackWanted);

    // Reminders held until their recipients' working hours: nothing runs while it waits. A
    // decision meanwhile hands the intent to a new execution, and this one stops when it wakes.
    const holdReminders = new Wait(this, 'HoldReminders', {
      time: WaitTime.timestampPath('$.next.hold_until'),
    });
    holdReminders.next(planStage);

    const route = new Choice(this, 'Route')
      .when(Condition.stringEquals('$.next.action', 'await'), awaitDecision)
      .when(Condition.stringEquals('$.next.action', 'hold'), holdReminders)
      .when(Condition.stringEquals('$.next.action', 'stop'), done)
      .otherwise(notifyDecided);

    this.stateMachine = new StateMachine(this, 'StateMachine', {
      stateMachineName: this.stateMachineName,
      stateMachineType: StateMachineType.STANDARD,
      definitionBody: DefinitionBody.fromChainable(planStage.next(route)),
      logs: {
        destination: new LogGroup(this, 'ExecutionLogs', {
          retention: props.logRetention ?? RetentionDays.ONE_MONTH,
          removalPolicy: RemovalPolicy.DESTROY,
        }),
        // Every state change, without its data: the history outlives the 90 days Step Functions
        // keeps it, at a few hundred bytes per transition, and no payload or token is written.
        level: LogLevel.ALL,
        includeExecutionData: false,
      },
      tracingEnabled: true,
    });
  }

  /** Lets a function start executions (create). */
  grantStart(grantee: IGrantable): Grant {
    return this.stateMachine.grantStartExecution(grantee);
  }

  /**
   * Lets a function answer task tokens of this state machine only (decisions, stage tasks).
   * The ARN is built from the name rather than taken from the resource, so that the stage
   * functions, which the state machine itself references, can hold this grant too.
   */
  grantTaskResponse(grantee: IGrantable): Grant {
    return Grant.addToPrincipal({
      grantee,
      actions: ['states:SendTaskSuccess', 'states:SendTaskFailure', 'states:SendTaskHeartbeat'],
      resourceArns: [
        Stack.of(this).formatArn({
          service: 'states',
          resource: 'stateMachine',
          resourceName: this.stateMachineName,
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        }),
      ],
    });
  }
}
