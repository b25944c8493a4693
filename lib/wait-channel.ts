import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import { LogGroupLogDestination, WebSocketApi, WebSocketStage } from 'aws-cdk-lib/aws-apigatewayv2';
import { WebSocketLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { FilterCriteria, FilterRule, StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { CountersignFunction } from './countersign-function';
import { NAG_REASONS } from './nag-suppressions';

export interface WaitChannelProps {
  readonly table: ITableV2;
  /** Answers `subscribe` and `ping` (the wait-socket function). */
  readonly socketFunction: CountersignFunction;
  /** Pushes decisions from the table's stream (the wait-push function). */
  readonly pushFunction: CountersignFunction;
  /** Messages per second across all connections, and the burst above it. */
  readonly throttlingRateLimit: number;
  readonly throttlingBurstLimit: number;
  /** @default - one month */
  readonly logRetention?: RetentionDays;
}

/**
 * The wait channel in AWS (docs/api.md, "Waiting over a WebSocket"): an API Gateway WebSocket
 * API whose `subscribe` and `ping` messages (routed on `action`) invoke the wait-socket function
 * and are answered on the route's response, and the table's stream, filtered to an intent's
 * META item leaving `pending`, which invokes the wait-push function to `PostToConnection` the
 * intent to its subscribers. A waiting agent then costs connection minutes and a message every
 * few minutes, not a function held open (docs/cost.md).
 */
export class WaitChannel extends Construct {
  readonly api: WebSocketApi;
  readonly stage: WebSocketStage;
  /** `wss://…/v1`: where the SDKs subscribe. */
  readonly url: string;
  /** `https://…/v1`: where decisions are pushed (`PostToConnection`). */
  readonly managementEndpoint: string;

  constructor(scope: Construct, id: string, props: WaitChannelProps) {
    super(scope, id);
    const integration = new WebSocketLambdaIntegration('Subscribe', props.socketFunction.lambda);
    this.api = new WebSocketApi(this, 'Api', {
      apiName: 'countersign-wait',
      description: 'Countersign wait channel: agents subscribe to their intents',
      routeSelectionExpression: '$request.body.action',
      defaultRouteOptions: { integration, returnResponse: true },
    });
    for (const action of ['subscribe', 'ping']) {
      this.api.addRoute(action, { integration, returnResponse: true });
    }
    const accessLogs = new LogGroup(this, 'AccessLogs', {
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stage = new WebSocketStage(this, 'Stage', {
      webSocketApi: this.api,
      stageName: 'v1',
      autoDeploy: true,
      throttle: { rateLimit: props.throttlingRateLimit, burstLimit: props.throttlingBurstLimit },
      accessLogSettings: {
        destination: new LogGroupLogDestination(accessLogs),
        format: AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            connectionId: '$context.connectionId',
            eventType: '$context.eventType',
            routeKey: '$context.routeKey',
            status: '$context.status',
            ip: '$context.identity.sourceIp',
            requestTime: '$context.requestTime',
          }),
        ),
      },
    });
    // Authentication is in each message (the API key of the subscribe), as on the REST API.
    Validations.of(this.api).acknowledge({
      id: 'AwsSolutions-APIG4',
      reason: NAG_REASONS.authorizer,
    });
    this.url = this.stage.url;
    // Built from the ids, as the stage's callbackUrl is, without a dependency on the stage.
    const stack = Stack.of(this);
    this.managementEndpoint = `https://${this.api.apiId}.execute-api.${stack.region}.${stack.urlSuffix}/${this.stage.stageName}`;
    this.api.grantManageConnections(props.pushFunction);
    // Subscriptions are put by the subscribe and deleted by either; nothing updates them.
    const deny = (actions: string[]) =>
      new PolicyStatement({
        effect: Effect.DENY,
        actions: actions.map((action) => `dynamodb:${action}`),
        resources: [props.table.tableArn],
      });
    props.socketFunction.addToRolePolicy(deny(['UpdateItem', 'BatchWriteItem']));
    props.pushFunction.addToRolePolicy(deny(['PutItem', 'UpdateItem', 'BatchWriteItem']));
    props.pushFunction.lambda.addEventSource(
      new DynamoEventSource(props.table, {
        startingPosition: StartingPosition.LATEST,
        batchSize: 100,
        maxBatchingWindow: Duration.seconds(0),
        retryAttempts: 3,
        bisectBatchOnError: true,
        reportBatchItemFailures: false,
        filters: [
          FilterCriteria.filter({
            eventName: FilterRule.isEqual('MODIFY'),
            dynamodb: {
              NewImage: {
                sk: { S: FilterRule.isEqual('META') },
                status: { S: FilterRule.notEquals('pending') },
              },
              OldImage: { status: { S: FilterRule.isEqual('pending') } },
            },
          }),
        ],
      }),
    );
  }
}
