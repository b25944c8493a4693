import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import {
  AccessLogFormat,
  LambdaIntegration,
  LogGroupLogDestination,
  MethodLoggingLevel,
  type Resource,
  ResponseType,
  RestApi,
} from 'aws-cdk-lib/aws-apigateway';
import {
  AttributeType,
  Billing,
  type ITableV2,
  ProjectionType,
  TableV2,
} from 'aws-cdk-lib/aws-dynamodb';
import { Effect, type IGrantable, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { TABLE_KEYS } from '../lambdas/adapters/table-schema';
import { FUNCTIONS, type FunctionKey } from '../lambdas/functions';
import { ApprovalWorkflow } from './approval-workflow';
import { CountersignFunction } from './countersign-function';

const API_STAGE = 'v1';

export interface CountersignProps {
  /**
   * The verified SES identity that notification emails come from.
   * @default - `countersign@example.com`, which SES refuses until you verify your own: set it before deploying
   */
  readonly emailFrom?: string;
  /**
   * An SES configuration set for the notification emails (event publishing, dedicated IPs).
   * @default - no configuration set
   */
  readonly emailConfigurationSet?: string;
  /**
   * The public base URL of review links, when the API sits behind a custom domain.
   * @default - the API Gateway stage URL
   */
  readonly publicBaseUrl?: string;
  /**
   * Default policies by intent type (`"*"` for all), applied under each request's own policy.
   * @default - the built-in defaults: reminders at 5 and 30 minutes, timeout after 8 hours rejecting
   */
  readonly defaultPolicies?: Record<string, unknown>;
  /**
   * How long function, API and execution logs are kept.
   * @default - one month
   */
  readonly logRetention?: RetentionDays;
  /**
   * What happens to the table when the stack is deleted.
   * @default - RemovalPolicy.RETAIN: approvals and their audit trails outlive the stack
   */
  readonly tableRemovalPolicy?: RemovalPolicy;
  /**
   * Steady-state requests per second across the API.
   * @default - 50
   */
  readonly throttlingRateLimit?: number;
  /**
   * Burst of requests the API accepts above the steady rate.
   * @default - 100
   */
  readonly throttlingBurstLimit?: number;
}

/**
 * Countersign in one construct: the table, the approval state machine, the functions and the
 * REST API, wired with least privilege. `new Countersign(this, 'Approvals')` is a complete
 * deployment.
 */
export class Countersign extends Construct {
  readonly table: ITableV2;
  readonly stateMachine: IStateMachine;
  readonly api: RestApi;
  /** The API's base URL, e.g. `https://abc.execute-api.eu-west-1.amazonaws.com/v1/`. */
  readonly apiUrl: string;
  readonly functions: Record<FunctionKey, CountersignFunction>;

  constructor(scope: Construct, id: string, props: CountersignProps = {}) {
    super(scope, id);

    const table = new TableV2(this, 'Table', {
      partitionKey: { name: TABLE_KEYS.partitionKey, type: AttributeType.STRING },
      sortKey: { name: TABLE_KEYS.sortKey, type: AttributeType.STRING },
      billing: Billing.onDemand(),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      removalPolicy: props.tableRemovalPolicy ?? RemovalPolicy.RETAIN,
      timeToLiveAttribute: TABLE_KEYS.timeToLive,
      globalSecondaryIndexes: [TABLE_KEYS.gsi1, TABLE_KEYS.gsi2].map((index) => ({
        indexName: index.name,
        partitionKey: { name: index.partitionKey, type: AttributeType.STRING },
        sortKey: { name: index.sortKey, type: AttributeType.STRING },
        projectionType: ProjectionType.ALL,
      })),
    });
    this.table = table;

    const linkSigningSecret = new Secret(this, 'LinkSigningSecret', {
      description: 'Countersign: HMAC key that signs review links',
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
    });

    const makeFunction = (key: FunctionKey) =>
      new CountersignFunction(this, FUNCTIONS[key].id, {
        spec: FUNCTIONS[key],
        logRetention: props.logRetention,
      });
    const functions = {
      health: makeFunction('health'),
      intentsWrite: makeFunction('intentsWrite'),
      intentsRead: makeFunction('intentsRead'),
      intentsDecide: makeFunction('intentsDecide'),
      admin: makeFunction('admin'),
      review: makeFunction('review'),
      planStage: makeFunction('planStage'),
      stageTask: makeFunction('stageTask'),
    } satisfies Record<FunctionKey, CountersignFunction>;
    this.functions = functions;

    const workflow = new ApprovalWorkflow(this, 'Workflow', {
      planStageFunction: functions.planStage,
      stageTaskFunction: functions.stageTask,
      logRetention: props.logRetention,
    });
    this.stateMachine = workflow.stateMachine;

    // Least privilege: each function gets only the table access and the calls it makes.
    functions.intentsRead.bindTable(table, 'read');
    functions.intentsRead.addEnvironment('WAIT_POLL_MS', '250');
    for (const fn of [
      functions.intentsWrite,
      functions.intentsDecide,
      functions.admin,
      functions.review,
    ]) {
      fn.bindTable(table, 'readwrite');
    }
    for (const fn of [functions.planStage, functions.stageTask]) fn.bindTable(table, 'readwrite');
    // The admin function only reads and writes key and team items, but DynamoDB cannot scope a
    // grant by key prefix without LeadingKeys conditions on every item type; see docs/security.md.
    const policiesJson = JSON.stringify(props.defaultPolicies ?? {});
    functions.intentsWrite.addEnvironment('DEFAULT_POLICIES', policiesJson);
    functions.intentsWrite.addEnvironment('NOTIFICATION_CHANNELS', 'email');
    functions.intentsWrite.addEnvironment(
      'STATE_MACHINE_ARN',
      workflow.stateMachine.stateMachineArn,
    );
    workflow.grantStart(functions.intentsWrite);
    // The stage task answers tokens too: a stage that begins after a decision closes itself.
    for (const fn of [functions.intentsDecide, functions.review, functions.stageTask]) {
      workflow.grantTaskResponse(fn);
    }

    functions.stageTask.addEnvironment('EMAIL_FROM', props.emailFrom ?? 'countersign@example.com');
    if (props.emailConfigurationSet) {
      functions.stageTask.addEnvironment('EMAIL_CONFIGURATION_SET', props.emailConfigurationSet);
    }
    for (const fn of [functions.stageTask, functions.review]) {
      fn.addEnvironment('LINK_SIGNING_SECRET_ARN', linkSigningSecret.secretArn);
      linkSigningSecret.grantRead(fn);
    }
    grantSendEmail(functions.stageTask);

    const accessLogs = new LogGroup(this, 'ApiAccessLogs', {
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.api = new RestApi(this, 'Api', {
      restApiName: 'countersign',
      description: 'Countersign HTTP API v1',
      deployOptions: {
        stageName: API_STAGE,
        throttlingRateLimit: props.throttlingRateLimit ?? 50,
        throttlingBurstLimit: props.throttlingBurstLimit ?? 100,
        loggingLevel: MethodLoggingLevel.OFF,
        accessLogDestination: new LogGroupLogDestination(accessLogs),
        accessLogFormat: AccessLogFormat.jsonWithStandardFields(),
      },
      cloudWatchRole: false,
    });
    this.addContractGatewayResponses();
    for (const key of Object.keys(FUNCTIONS) as FunctionKey[]) {
      const integration = new LambdaIntegration(functions[key]);
      for (const route of FUNCTIONS[key].routes) {
        this.resourceFor(route.path).addMethod(route.method, integration);
      }
    }
    this.apiUrl = this.api.url;
    // Built from the API id, not `api.url`: the URL token depends on the deployment, which
    // depends on every method, and so (through the state machine) on this very function.
    const stack = Stack.of(this);
    functions.stageTask.addEnvironment(
      'PUBLIC_BASE_URL',
      props.publicBaseUrl ??
        `https://${this.api.restApiId}.execute-api.${stack.region}.${stack.urlSuffix}/${API_STAGE}`,
    );
  }

  /** Lets another principal (an agent's role, say) start approval executions directly. */
  grantStartExecution(grantee: IGrantable): void {
    this.stateMachine.grantStartExecution(grantee);
  }

  private resourceFor(path: string): Resource {
    let resource = this.api.root as Resource;
    for (const part of path.split('/').filter(Boolean)) {
      resource = (resource.getResource(part) as Resource | undefined) ?? resource.addResource(part);
    }
    return resource;
  }

  /** API Gateway's own errors (no route, throttling) in the contract's error shape. */
  private addContractGatewayResponses(): void {
    const body = (code: string, message: string) => ({
      'application/json': JSON.stringify({ error: { code, message, details: [] } }),
    });
    this.api.addGatewayResponse('missing-route', {
      type: ResponseType.MISSING_AUTHENTICATION_TOKEN,
      statusCode: '404',
      templates: body('not_found', 'No such route.'),
    });
    this.api.addGatewayResponse('throttled', {
      type: ResponseType.THROTTLED,
      statusCode: '429',
      templates: body('rate_limited', 'Too many requests; retry with backoff.'),
    });
    this.api.addGatewayResponse('too-large', {
      type: ResponseType.REQUEST_TOO_LARGE,
      statusCode: '413',
      templates: body('payload_too_large', 'The request body is too large.'),
    });
    this.api.addGatewayResponse('default-4xx', {
      type: ResponseType.DEFAULT_4XX,
      templates: body('invalid_request', 'The request was refused by the API gateway.'),
    });
    this.api.addGatewayResponse('default-5xx', {
      type: ResponseType.DEFAULT_5XX,
      templates: body('internal', 'Internal server error.'),
    });
  }
}

function grantSendEmail(grantee: IGrantable): void {
  grantee.grantPrincipal.addToPrincipalPolicy(
    new PolicyStatement({
      effect: Effect.ALLOW,
      actions: ['ses:SendEmail'],
      resources: ['*'],
    }),
  );
}
