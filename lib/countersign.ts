import { Annotations, ArnFormat, type Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import {
  AccessLogFormat,
  LambdaIntegration,
  LogGroupLogDestination,
  MethodLoggingLevel,
  type Resource,
  ResponseType,
  RestApi,
} from 'aws-cdk-lib/aws-apigateway';
import type { Alarm } from 'aws-cdk-lib/aws-cloudwatch';
import {
  AttributeType,
  Billing,
  type ITableV2,
  ProjectionType,
  StreamViewType,
  TableV2,
} from 'aws-cdk-lib/aws-dynamodb';
import { Effect, type Grant, type IGrantable, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { type IKey, Key, KeySpec, KeyUsage } from 'aws-cdk-lib/aws-kms';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { type ISecret, Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { IConfigurationSet } from 'aws-cdk-lib/aws-ses';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { TABLE_KEYS } from '../lambdas/adapters/table-schema';
import { parsePolicyDefaults } from '../lambdas/domain/operator-policy';
import { FUNCTIONS, type FunctionKey } from '../lambdas/functions';
import { ApprovalWorkflow } from './approval-workflow';
import { CountersignFunction } from './countersign-function';
import { addNagSuppressions } from './nag-suppressions';
import { CountersignOperations } from './operations';
import {
  DEFAULT_WAIT_CONCURRENCY,
  methodThrottles,
  Protection,
  type RouteThrottling,
  type WebAclOptions,
} from './protection';
import { WaitChannel } from './wait-channel';

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
  readonly emailConfigurationSet?: IConfigurationSet;
  /**
   * Your email domains (`company.com`). Requests may name reviewers in them (the base under every
   * operator policy); reviewers, escalation targets, team members and reviewer keys outside them
   * are refused. Set it for a deployment: without it `cdk synth` warns, and a request may name no
   * reviewer of its own until an admin sets a policy that names or admits reviewers.
   * @default - no domain: only reviewers named by operator policies are asked
   */
  readonly allowedReviewerDomains?: string[];
  /**
   * The public base URL of review links, when the API sits behind a custom domain.
   * @default - the API Gateway stage URL
   */
  readonly publicBaseUrl?: string;
  /**
   * Operator policies by intent type pattern (`intent.payment.*`, `"*"` for all), as
   * `PUT /v1/policies/{intent_type}` takes them; a policy stored through the API replaces the one
   * of the same pattern here. Checked at synth.
   * @default - none: the built-in defaults (reminders at 5 and 30 minutes, 8 hours rejecting)
   */
  readonly defaultPolicies?: Record<string, unknown>;
  /**
   * How long function, API and execution logs are kept.
   * @default - one month
   */
  readonly logRetention?: RetentionDays;
  /**
   * What happens to the table when the stack is deleted. Deletion protection is on unless this
   * is `RemovalPolicy.DESTROY` (for throwaway stacks).
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
  /**
   * Separate throttles, per method, for anonymous routes (health, JWKS, the review page), agents,
   * reviewers' decisions and Slack; the admin API keeps `throttlingRateLimit`. Over a limit the
   * API answers 429 `rate_limited` with `Retry-After`.
   * @default - anonymous 10/s (burst 20), agent 50/s (100), reviewer 20/s (40), Slack 20/s (40)
   */
  readonly routeThrottling?: RouteThrottling;
  /**
   * Reserved concurrency of the long-poll function (`GET /v1/intents/{id}/wait`, the fallback of
   * the wait channel), so that waiting agents cannot starve the other functions; its method is
   * throttled to stay within it (429, not Lambda's 5xx).
   * @default 50
   */
  readonly waitConcurrency?: number;
  /**
   * An AWS WAF web ACL on the REST API with a rate-based rule per client address (429 past it).
   * @default - no web ACL (throttling and per-key quotas only)
   */
  readonly webAcl?: WebAclOptions;
  /**
   * Where the alarms (failed, timed-out and aborted executions, function errors, API 5xx) send
   * their state changes.
   * @default - the alarms exist and show in CloudWatch, but notify no one
   */
  readonly alarmTopic?: ITopic;
  /**
   * How often the reconciler looks for pending intents whose execution ended abnormally.
   * @default - every 15 minutes
   */
  readonly reconcileInterval?: Duration;
  /**
   * Whether the generated bootstrap admin key (a Secrets Manager secret) is accepted as an admin
   * API key. Turn it off once you have created your own admin keys.
   * @default - true
   */
  readonly bootstrapAdminKey?: boolean;
  /**
   * The Slack app's bot token (`xoxb-…`, scopes `chat:write`, `users:read`, `users:read.email`).
   * With `slackSigningSecret`, it turns on the Slack channel: reviewers get messages with
   * Approve / Reject buttons, and `POST /slack/interactions` accepts their clicks.
   * @default - no Slack channel; `/slack/interactions` answers 404
   */
  readonly slackBotToken?: ISecret;
  /**
   * The Slack app's signing secret, which verifies every request to `/slack/interactions`.
   * Required with `slackBotToken`.
   * @default - no Slack channel
   */
  readonly slackSigningSecret?: ISecret;
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
  /**
   * The HMAC-SHA256 key that signs callbacks (`Countersign-Signature`); give its value to the
   * agents that verify them.
   */
  readonly webhookSigningSecret: ISecret;
  /** The HMAC key of review links. */
  readonly linkSigningSecret: ISecret;
  /**
   * The Ed25519 KMS key that signs receipts and callbacks; its public half is served at
   * `/.well-known/jwks.json`. The private key never leaves KMS.
   */
  readonly signingKey: IKey;
  /**
   * The first admin key, generated at deploy time and never in the template: read it with
   * `aws secretsmanager get-secret-value --secret-id <arn>` and pass it to `countersign login`.
   */
  readonly bootstrapAdminKeySecret: ISecret;
  /** The alarms on executions, functions and the API. */
  readonly alarms: Alarm[];
  /** The wait channel's WebSocket URL (`wss://…/v1`), named to clients by `GET /v1/intents/{id}`. */
  readonly waitSocketUrl: string;

  constructor(scope: Construct, id: string, props: CountersignProps = {}) {
    super(scope, id);

    const table = new TableV2(this, 'Table', {
      partitionKey: { name: TABLE_KEYS.partitionKey, type: AttributeType.STRING },
      sortKey: { name: TABLE_KEYS.sortKey, type: AttributeType.STRING },
      billing: Billing.onDemand(),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      // Protected unless the stack is explicitly allowed to destroy it (a throwaway stack).
      deletionProtection: props.tableRemovalPolicy !== RemovalPolicy.DESTROY,
      removalPolicy: props.tableRemovalPolicy ?? RemovalPolicy.RETAIN,
      timeToLiveAttribute: TABLE_KEYS.timeToLive,
      // The wait channel's push reads intents leaving pending from the stream (lib/wait-channel.ts).
      dynamoStream: StreamViewType.NEW_AND_OLD_IMAGES,
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
    this.linkSigningSecret = linkSigningSecret;
    // Letters and digits only, so it can be pasted into a shell and a header as it is.
    this.bootstrapAdminKeySecret = new Secret(this, 'BootstrapAdminKey', {
      description: 'Countersign: the first admin API key (countersign login; see docs/deploy.md)',
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
    });

    const makeFunction = (key: FunctionKey) =>
      new CountersignFunction(this, FUNCTIONS[key].id, {
        spec: FUNCTIONS[key],
        logRetention: props.logRetention,
      });
    const functions = {
      health: makeFunction('health'),
      jwks: makeFunction('jwks'),
      openapi: makeFunction('openapi'),
      intentsWrite: makeFunction('intentsWrite'),
      intentsRead: makeFunction('intentsRead'),
      intentsWait: makeFunction('intentsWait'),
      intentsDecide: makeFunction('intentsDecide'),
      mcp: makeFunction('mcp'),
      admin: makeFunction('admin'),
      review: makeFunction('review'),
      inbox: makeFunction('inbox'),
      planStage: makeFunction('planStage'),
      stageTask: makeFunction('stageTask'),
      notifyDecided: makeFunction('notifyDecided'),
      slackInteractions: makeFunction('slackInteractions'),
      deliverCallback: makeFunction('deliverCallback'),
      waitSocket: makeFunction('waitSocket'),
      waitPush: makeFunction('waitPush'),
      reconciler: makeFunction('reconciler'),
    } satisfies Record<FunctionKey, CountersignFunction>;
    this.functions = functions;

    const workflow = new ApprovalWorkflow(this, 'Workflow', {
      planStageFunction: functions.planStage,
      stageTaskFunction: functions.stageTask,
      notifyDecidedFunction: functions.notifyDecided,
      deliverCallbackFunction: functions.deliverCallback,
      logRetention: props.logRetention,
    });
    this.stateMachine = workflow.stateMachine;

    // Least privilege: each function gets only the table access and the calls it makes.
    // Readiness (`GET /healthz?ready=1`) describes the table: no access to its items.
    functions.health.addEnvironment('TABLE_NAME', table.tableName);
    functions.health.addToRolePolicy(
      new PolicyStatement({ actions: ['dynamodb:DescribeTable'], resources: [table.tableArn] }),
    );
    functions.intentsRead.bindTable(table, 'read');
    functions.intentsWait.bindTable(table, 'read');
    functions.intentsWait.addEnvironment('WAIT_POLL_MS', '250');
    for (const fn of [
      functions.intentsWrite,
      functions.mcp,
      functions.intentsDecide,
      functions.admin,
      functions.review,
      functions.inbox,
      functions.slackInteractions,
    ]) {
      fn.bindTable(table, 'readwrite');
    }
    for (const fn of [
      functions.planStage,
      functions.stageTask,
      functions.notifyDecided,
      functions.waitSocket,
      functions.waitPush,
    ]) {
      fn.bindTable(table, 'readwrite');
    }
    const waitChannel = new WaitChannel(this, 'WaitChannel', {
      table,
      socketFunction: functions.waitSocket,
      pushFunction: functions.waitPush,
      announcers: [functions.intentsRead],
      throttlingRateLimit: props.throttlingRateLimit ?? 50,
      throttlingBurstLimit: props.throttlingBurstLimit ?? 100,
      logRetention: props.logRetention,
    });
    this.waitSocketUrl = waitChannel.url;
    // Which items each function may write (API keys: admin only): `scopeTableWrites`.
    // An invalid default policy fails the synth, not every request after the deploy.
    parsePolicyDefaults(props.defaultPolicies ?? {}, 'defaultPolicies');
    const policiesJson = JSON.stringify(props.defaultPolicies ?? {});
    // Creates resolve policies; the admin API lists them beside the policies stored in the
    // table. The MCP function creates, reads, waits on, decides and cancels intents like the three
    // intents functions together, through the same core use cases.
    functions.admin.addEnvironment('DEFAULT_POLICIES', policiesJson);
    functions.mcp.addEnvironment('WAIT_POLL_MS', '250');
    for (const fn of [functions.intentsWrite, functions.mcp]) {
      fn.addEnvironment('DEFAULT_POLICIES', policiesJson);
      fn.addEnvironment('NOTIFICATION_CHANNELS', props.slackBotToken ? 'email,slack' : 'email');
    }
    // Creates start executions; a decision during a reminder hold starts the successor
    // (`domain/reminder-holds.ts`).
    for (const fn of [
      functions.intentsWrite,
      functions.mcp,
      functions.intentsDecide,
      functions.review,
      functions.inbox,
      functions.slackInteractions,
    ]) {
      fn.addEnvironment('STATE_MACHINE_ARN', workflow.stateMachine.stateMachineArn);
      workflow.grantStart(fn);
    }
    // The stage task answers tokens too: a stage that begins after a decision closes itself.
    for (const fn of [
      functions.intentsDecide,
      functions.mcp,
      functions.review,
      functions.inbox,
      functions.stageTask,
      functions.slackInteractions,
    ]) {
      workflow.grantTaskResponse(fn);
    }
    this.wireSlack(functions, props);

    // The senders: the stage task (first notices, reminders, escalations), NotifyDecided and the
    // inbox (sign-in links).
    const senders = [functions.stageTask, functions.notifyDecided, functions.inbox];
    const emailFrom = props.emailFrom ?? 'countersign@example.com';
    for (const fn of senders) {
      fn.addEnvironment('EMAIL_FROM', emailFrom);
      if (props.emailConfigurationSet) {
        fn.addEnvironment(
          'EMAIL_CONFIGURATION_SET',
          props.emailConfigurationSet.configurationSetName,
        );
      }
      grantSendEmail(fn, emailFrom, props.emailConfigurationSet);
    }
    for (const fn of [functions.stageTask, functions.notifyDecided, functions.review]) {
      fn.addEnvironment('LINK_SIGNING_SECRET_ARN', linkSigningSecret.secretArn);
      linkSigningSecret.grantRead(fn);
    }

    if (!props.allowedReviewerDomains || props.allowedReviewerDomains.length === 0) {
      // Secure by default: requests may then name no reviewer of their own, so only reviewers an
      // operator's policy names are ever asked. Said at synth, so that nobody deploys it unaware.
      Annotations.of(this).addWarningV2(
        'countersign:no-reviewer-domains',
        'allowedReviewerDomains is not set: agents may name no reviewers until an admin sets a policy (PUT /v1/policies/*); set it (-c allowedReviewerDomains=company.com) to admit your own domains',
      );
    }
    if (props.allowedReviewerDomains) {
      const domains = props.allowedReviewerDomains.map((domain) => domain.trim().toLowerCase());
      for (const fn of [functions.intentsWrite, functions.mcp, functions.admin]) {
        fn.addEnvironment('ALLOWED_REVIEWER_DOMAINS', domains.join(','));
      }
    }

    // The bootstrap admin key: the functions that authenticate API keys read it, only when a
    // presented key is not in the table. Its value never leaves Secrets Manager.
    if (props.bootstrapAdminKey ?? true) {
      for (const fn of [
        functions.intentsWrite,
        functions.intentsRead,
        functions.intentsWait,
        functions.intentsDecide,
        functions.mcp,
        functions.admin,
        functions.waitSocket,
        functions.waitPush,
      ]) {
        fn.addEnvironment('BOOTSTRAP_ADMIN_KEY_ARN', this.bootstrapAdminKeySecret.secretArn);
        this.bootstrapAdminKeySecret.grantRead(fn);
      }
    }

    // The reconciler lists pending intents, applies overdue timeouts, and looks at and starts
    // executions of this state machine only. Nothing references it, so the real ARN is fine.
    functions.reconciler.bindTable(table, 'readwrite');
    functions.reconciler.addEnvironment('STATE_MACHINE_ARN', workflow.stateMachine.stateMachineArn);
    workflow.grantStart(functions.reconciler);
    workflow.stateMachine.grantExecution(functions.reconciler, 'states:DescribeExecution');

    // Callbacks: the deliver function reads the intent and its trail and appends attempts.
    this.webhookSigningSecret = new Secret(this, 'WebhookSigningSecret', {
      description: 'Countersign: HMAC key that signs callbacks to agents',
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
    });
    functions.deliverCallback.bindTable(table, 'readwrite');
    this.scopeTableWrites(functions, table);
    functions.deliverCallback.addEnvironment(
      'WEBHOOK_SIGNING_SECRET_ARN',
      this.webhookSigningSecret.secretArn,
    );
    this.webhookSigningSecret.grantRead(functions.deliverCallback);

    // Receipts and callbacks: only the functions that end intents (decisions, cancellations,
    // timeouts) or deliver callbacks may sign; only the JWKS function reads the public key.
    this.signingKey = new Key(this, 'SigningKey', {
      description: 'Countersign: signs receipts and callbacks (Ed25519, JWS EdDSA)',
      keySpec: KeySpec.ECC_NIST_EDWARDS25519,
      keyUsage: KeyUsage.SIGN_VERIFY,
      // Receipts stay verifiable only while their key is published: never delete it with the stack.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // Every function that can end an intent signs its receipt: decisions and cancellations (API,
    // MCP, review page, Slack), timeouts (PlanStage, the reconciler), an operator's rule at create
    // (intents-write, MCP); and the callback function signs callbacks.
    for (const fn of [
      functions.intentsWrite,
      functions.intentsDecide,
      functions.mcp,
      functions.review,
      functions.inbox,
      functions.slackInteractions,
      functions.planStage,
      functions.reconciler,
      functions.deliverCallback,
    ]) {
      this.grantSigning(fn);
    }
    functions.jwks.addEnvironment('SIGNING_KEY_ARN', this.signingKey.keyArn);
    this.signingKey.grant(functions.jwks, 'kms:GetPublicKey');
    this.protectAuditTrail(functions, table);

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
        methodOptions: methodThrottles(
          props.routeThrottling ?? {},
          props.waitConcurrency ?? DEFAULT_WAIT_CONCURRENCY,
        ),
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

    const operations = new CountersignOperations(this, 'Operations', {
      stateMachine: workflow.stateMachine,
      functions: Object.values(functions),
      api: this.api,
      reconcilerFunction: functions.reconciler,
      alarmTopic: props.alarmTopic,
      reconcileInterval: props.reconcileInterval,
    });
    const protection = new Protection(this, 'Protection', {
      api: this.api,
      waitFunction: functions.intentsWait,
      waitConcurrency: props.waitConcurrency ?? DEFAULT_WAIT_CONCURRENCY,
      functions: Object.values(functions),
      webAcl: props.webAcl,
      alarmTopic: props.alarmTopic,
    });
    this.alarms = [...operations.alarms, ...protection.alarms];
    // Built from the API id, not `api.url`: the URL token depends on the deployment, which
    // depends on every method, and so (through the state machine) on this very function.
    const stack = Stack.of(this);
    const publicBaseUrl =
      props.publicBaseUrl ??
      `https://${this.api.restApiId}.execute-api.${stack.region}.${stack.urlSuffix}/${API_STAGE}`;
    for (const fn of senders) fn.addEnvironment('PUBLIC_BASE_URL', publicBaseUrl);
    addNagSuppressions(this);
  }

  /**
   * Slack, when configured: the senders read the bot token (to post and update), the interactions
   * function reads the token and the signing secret (to verify and answer clicks); nothing else
   * sees either secret.
   */
  private wireSlack(
    functions: Record<FunctionKey, CountersignFunction>,
    props: CountersignProps,
  ): void {
    const { slackBotToken, slackSigningSecret } = props;
    if (!slackBotToken !== !slackSigningSecret) {
      throw new Error(
        'slackBotToken and slackSigningSecret go together: set both to enable Slack, or neither',
      );
    }
    if (!slackBotToken || !slackSigningSecret) return;
    for (const fn of [functions.stageTask, functions.notifyDecided, functions.slackInteractions]) {
      fn.addEnvironment('SLACK_BOT_TOKEN_ARN', slackBotToken.secretArn);
      slackBotToken.grantRead(fn);
    }
    functions.slackInteractions.addEnvironment(
      'SLACK_SIGNING_SECRET_ARN',
      slackSigningSecret.secretArn,
    );
    slackSigningSecret.grantRead(functions.slackInteractions);
  }

  /** Lets `fn` sign receipts and callbacks (`kms:Sign` on the signing key, nothing else). */
  private grantSigning(fn: CountersignFunction): Grant {
    fn.addEnvironment('SIGNING_KEY_ARN', this.signingKey.keyArn);
    return this.signingKey.grant(fn, 'kms:Sign');
  }

  /**
   * The audit trail's items (`INTENT#<id>` / `EVENT#<seq>`) are only ever added, with a
   * conditional Put in the transaction of the change they record. IAM cannot name a sort-key
   * prefix (`dynamodb:LeadingKeys` is the partition key only) nor tell a new item from an
   * existing one, so it cannot say "no EVENT# writes" exactly; what it can say is denied here:
   * - no function deletes an intent's items (META, payload, events), nor batch-writes at all
   *   (BatchWriteItem deletes too, and is authorized on its own action);
   * - the functions that record events never update an intent's items in place (they only Put;
   *   the hourly quota counters, USAGE# items, are the one thing they update);
   * - the admin function, which records no events, cannot write intent items at all.
   * What remains (a Put over an existing event by a function that records events) is caught by
   * the hash chain, the intent's head and the KMS-signed receipt (docs/deploy.md, Permissions).
   */
  private protectAuditTrail(
    functions: Record<FunctionKey, CountersignFunction>,
    table: ITableV2,
  ): void {
    const intentItems = { 'ForAnyValue:StringLike': { 'dynamodb:LeadingKeys': ['INTENT#*'] } };
    const deny = (actions: string[], conditions?: Record<string, unknown>) =>
      new PolicyStatement({
        effect: Effect.DENY,
        actions,
        resources: [table.tableArn],
        ...(conditions ? { conditions } : {}),
      });
    const writers = [
      functions.intentsWrite,
      functions.mcp,
      functions.intentsDecide,
      functions.review,
      functions.inbox,
      functions.slackInteractions,
      functions.planStage,
      functions.stageTask,
      functions.notifyDecided,
      functions.deliverCallback,
      functions.reconciler,
    ];
    for (const fn of [...writers, functions.admin]) {
      fn.addToRolePolicy(deny(['dynamodb:BatchWriteItem', 'dynamodb:PartiQLDelete']));
      fn.addToRolePolicy(deny(['dynamodb:DeleteItem'], intentItems));
    }
    for (const fn of writers) {
      // Listing items (`LIST#`) are put and deleted with the change they follow, never updated.
      fn.addToRolePolicy(
        deny(['dynamodb:UpdateItem'], {
          'ForAnyValue:StringLike': { 'dynamodb:LeadingKeys': ['INTENT#*', 'LIST#*'] },
        }),
      );
      fn.addToRolePolicy(deny(['dynamodb:PartiQLUpdate']));
    }
    functions.admin.addToRolePolicy(
      deny(['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:PartiQLInsert'], {
        'ForAnyValue:StringLike': { 'dynamodb:LeadingKeys': ['INTENT#*', 'IDEMPOTENCY#*'] },
      }),
    );
  }

  /** Lets another principal (an agent's role, say) start approval executions directly. */
  /**
   * Least privilege per item type (`lambdas/adapters/table-schema.ts`): each function that
   * writes the table may write only the partitions it owns, by the key prefix DynamoDB checks
   * as `dynamodb:LeadingKeys` (in a transaction too, item by item). API keys and teams: the
   * admin function alone; intents (their payloads, trails and listing items, `LIST#`): the
   * intent functions; the create function also its idempotency records. A Deny on any other
   * prefix, so that the read-write grants above stay as they are; PartiQL, which nothing uses,
   * is denied outright.
   */
  private scopeTableWrites(functions: Record<FunctionKey, CountersignFunction>, table: ITableV2) {
    const writes = ['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem', 'ConditionCheckItem'];
    // USAGE# holds the hourly counters (agent key quotas, sign-in emails); POLICY# the operator
    // policies; SIGNIN# and SESSION# the inbox's links and sessions (which revoking a reviewer
    // key ends, in the admin function).
    const owners: [CountersignFunction[], string[]][] = [
      [[functions.admin], ['APIKEY#*', 'TEAM#*', 'POLICY#*', 'SESSION#*', 'REVIEWER#*']],
      // REVIEWER#: "Your availability", the signed-in reviewer's own profile.
      [[functions.inbox], ['INTENT#*', 'LIST#*', 'SIGNIN#*', 'SESSION#*', 'USAGE#*', 'REVIEWER#*']],
      [
        [functions.intentsWrite, functions.mcp],
        ['INTENT#*', 'LIST#*', 'IDEMPOTENCY#*', 'USAGE#*'],
      ],
      [[functions.stageTask], ['INTENT#*', 'LIST#*', 'USAGE#*']],
      // The wait channel's subscriptions (`WAIT#<intent>` / `CONN#<connection>`), and nothing else.
      [[functions.waitSocket, functions.waitPush], ['WAIT#*']],
      [
        [
          functions.intentsDecide,
          functions.review,
          functions.slackInteractions,
          functions.planStage,
          functions.notifyDecided,
          functions.reconciler,
          functions.deliverCallback,
        ],
        ['INTENT#*', 'LIST#*'],
      ],
    ];
    for (const [fns, prefixes] of owners) {
      for (const fn of fns) {
        fn.addToRolePolicy(
          new PolicyStatement({
            effect: Effect.DENY,
            actions: writes.map((action) => `dynamodb:${action}`),
            resources: [table.tableArn],
            conditions: { 'ForAnyValue:StringNotLike': { 'dynamodb:LeadingKeys': prefixes } },
          }),
        );
      }
    }
    for (const fn of Object.values(functions)) {
      fn.addToRolePolicy(
        new PolicyStatement({
          effect: Effect.DENY,
          actions: ['dynamodb:PartiQLInsert', 'dynamodb:PartiQLUpdate', 'dynamodb:PartiQLDelete'],
          resources: [table.tableArn, `${table.tableArn}/index/*`],
        }),
      );
    }
  }

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
      responseHeaders: { 'Retry-After': "'1'" },
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

/**
 * SES authorizes SendEmail on the sender's identity and, while the account is in the SES
 * sandbox, on each (verified) recipient's identity too, so the resource is this account's
 * identities in this region; the condition pins the sender to the configured address. The
 * configuration set, when used, is authorized by name.
 */
function grantSendEmail(
  fn: CountersignFunction,
  emailFrom: string,
  configurationSet: IConfigurationSet | undefined,
): void {
  const stack = Stack.of(fn);
  const arn = (resource: string, resourceName: string) =>
    stack.formatArn({
      service: 'ses',
      resource,
      resourceName,
      arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
    });
  const address = /<([^>]+)>/.exec(emailFrom)?.[1] ?? emailFrom;
  fn.addToRolePolicy(
    new PolicyStatement({
      effect: Effect.ALLOW,
      actions: ['ses:SendEmail'],
      resources: [
        arn('identity', '*'),
        ...(configurationSet
          ? [arn('configuration-set', configurationSet.configurationSetName)]
          : []),
      ],
      conditions: { StringEquals: { 'ses:FromAddress': address.trim() } },
    }),
  );
}
