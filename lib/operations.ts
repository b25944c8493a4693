import { Duration } from 'aws-cdk-lib';
import type { RestApi } from 'aws-cdk-lib/aws-apigateway';
import {
  Alarm,
  ComparisonOperator,
  type Metric,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { Rule, RuleTargetInput, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { CountersignFunction } from './countersign-function';

export interface CountersignOperationsProps {
  /** The approval state machine whose failed, timed-out and aborted executions raise alarms. */
  readonly stateMachine: IStateMachine;
  /** Every function of the deployment: each gets an alarm on its errors. */
  readonly functions: CountersignFunction[];
  /** The API whose 5xx answers raise an alarm. */
  readonly api: RestApi;
  /** The reconciler, run on a schedule. */
  readonly reconcilerFunction: IFunction;
  /**
   * Where the alarms send their state changes.
   * @default - the alarms notify no one
   */
  readonly alarmTopic?: ITopic;
  /**
   * How often the reconciler runs.
   * @default - every 15 minutes
   */
  readonly reconcileInterval?: Duration;
}

/**
 * What keeps a deployment honest once it runs: the reconciler's schedule, and an alarm on each
 * way things go wrong unseen. Any execution that ends FAILED, TIMED_OUT or ABORTED is abnormal
 * here (a healthy one always ends SUCCEEDED), and so is any function error: API handlers answer
 * domain errors themselves, so a Lambda error is a crash, a timeout, or the reconciler
 * reporting an intent it could not repair.
 */
export class CountersignOperations extends Construct {
  readonly alarms: Alarm[] = [];
  readonly reconcileSchedule: Rule;

  constructor(scope: Construct, id: string, props: CountersignOperationsProps) {
    super(scope, id);

    this.reconcileSchedule = new Rule(this, 'ReconcileSchedule', {
      description: 'Countersign: repairs pending intents whose execution ended abnormally',
      schedule: Schedule.rate(props.reconcileInterval ?? Duration.minutes(15)),
    });
    // A missed run is not retried: the next one comes soon and sees everything again.
    this.reconcileSchedule.addTarget(
      new LambdaFunction(props.reconcilerFunction, {
        event: RuleTargetInput.fromObject({ source: 'schedule' }),
        retryAttempts: 0,
        maxEventAge: Duration.minutes(10),
      }),
    );
    props.reconcilerFunction.configureAsyncInvoke({ retryAttempts: 0 });

    const executionAlarm = (alarmId: string, what: string, metric: Metric) =>
      this.addAlarm(alarmId, `Countersign: an approval execution ${what}`, metric);
    executionAlarm('ExecutionsFailed', 'failed', props.stateMachine.metricFailed());
    executionAlarm('ExecutionsTimedOut', 'timed out', props.stateMachine.metricTimedOut());
    executionAlarm('ExecutionsAborted', 'was aborted', props.stateMachine.metricAborted());
    for (const fn of props.functions) {
      this.addAlarm(
        `${fn.node.id}-errors`,
        `Countersign: the ${fn.node.id} function failed`,
        fn.lambda.metricErrors(),
      );
    }
    this.addAlarm(
      'Api5xx',
      'Countersign: the API answered 5xx (internal errors or integration failures)',
      props.api.metricServerError(),
    );
    if (props.alarmTopic) {
      const action = new SnsAction(props.alarmTopic);
      for (const alarm of this.alarms) {
        alarm.addAlarmAction(action);
        alarm.addOkAction(action);
      }
    }
  }

  /** Any occurrence in a five-minute period; no data means nothing went wrong. */
  private addAlarm(alarmId: string, description: string, metric: Metric): void {
    this.alarms.push(
      new Alarm(this, alarmId, {
        alarmDescription: description,
        metric: metric.with({ period: Duration.minutes(5), statistic: 'Sum' }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      }),
    );
  }
}
