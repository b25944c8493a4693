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
import { Effect, Grant, type IGrantable, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { type IKey, Key, KeySpec, KeyUsage } from 'aws-cdk-lib/aws-kms';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { type ISecret, Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { IConfigurationSet } from 'aws-cdk-lib/aws-ses';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { TABLE_KEYS } from '../lambdas/adapters/table-schema';
import { parsePolicyDefaults } from '../lambdas/domain/operator-policy';
import {
  FUNCTION_ENTRIES,
  type FunctionKey,
  type FunctionSpec,
  missingSettings,
  type Need,
  settingsOf,
  type TableAccess,
  type TablePrefix,
} from '../lambdas/functions';
import { SETTINGS, type SettingKey } from '../lambdas/shared/config';
import type { OperatorPolicy } from '../sdk/src/types';
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
/** SES refuses it until you verify your own sender: set `emailFrom` before deploying. */
const DEFAULT_EMAIL_FROM = 'countersign@example.com';

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
  readonly defaultPolicies?: Record<string, OperatorPolicy>;
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

    const functions = Object.fromEntries(
      FUNCTION_ENTRIES.map(([key, spec]) => [
        key,
        new CountersignFunction(this, spec.id, { spec, logRetention: props.logRetention }),
      ]),
    ) as Record<FunctionKey, CountersignFunction>;
    this.functions = functions;

    const workflow = new ApprovalWorkflow(this, 'Workflow', {
      planStageFunction: functions.planStage.lambda,
      stageTaskFunction: functions.stageTask.lambda,
      notifyDecidedFunction: functions.notifyDecided.lambda,
      deliverCallbackFunction: functions.deliverCallback.lambda,
      logRetention: props.logRetention,
    });
    this.stateMachine = workflow.stateMachine;

    this.webhookSigningSecret = new Secret(this, 'WebhookSigningSecret', {
      description: 'Countersign: HMAC key that signs callbacks to agents',
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
    });
    this.signingKey = new Key(this, 'SigningKey', {
      description: 'Countersign: signs receipts and callbacks (Ed25519, JWS EdDSA)',
      keySpec: KeySpec.ECC_NIST_EDWARDS25519,
      keyUsage: KeyUsage.SIGN_VERIFY,
      // Receipts stay verifiable only while their key is published: never delete it with the stack.
      removalPolicy: RemovalPolicy.RETAIN,
    });

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
    for (const [key, spec] of FUNCTION_ENTRIES) {
      const integration = new LambdaIntegration(functions[key].lambda);
      for (const route of spec.routes) {
        this.resourceFor(route.path).addMethod(route.method, integration);
      }
    }
    this.apiUrl = this.api.url;

    const waitChannel = new WaitChannel(this, 'WaitChannel', {
      table,
      socketFunction: functions.waitSocket,
      pushFunction: functions.waitPush,
      throttlingRateLimit: props.throttlingRateLimit ?? 50,
      throttlingBurstLimit: props.throttlingBurstLimit ?? 100,
      logRetention: props.logRetention,
    });
    this.waitSocketUrl = waitChannel.url;

    // Each function gets the settings its needs name (`lambdas/functions.ts`), and the grants.
    const values = this.settingValues(props, workflow, waitChannel);
    const missing = missingSettings(
      FUNCTION_ENTRIES.map(([, spec]) => spec),
      // An empty value is unset to the handlers (`getStringFromEnv`), so it is missing here too.
      (spec, key) => (spec.settings?.[key] ?? values[key] ?? '') !== '',
      'aws',
    );
    if (missing.length > 0) {
      throw new Error(`Countersign: settings without a value: ${missing.join(', ')}`);
    }
    const grants = this.needGrants(props, workflow);
    for (const [key, spec] of FUNCTION_ENTRIES) {
      const fn = functions[key];
      for (const setting of settingsOf(spec)) {
        const value = spec.settings?.[setting] ?? values[setting];
        if (value === undefined) continue;
        const secret: boolean = (SETTINGS[setting] as { secret?: true }).secret === true;
        if (typeof value === 'string') {
          // A secret reaches a function as `<NAME>_ARN` only, never as its value.
          if (secret) throw new Error(`Countersign: ${SETTINGS[setting].name} must be a secret`);
          fn.addEnvironment(SETTINGS[setting].name, value);
        } else {
          fn.addEnvironment(`${SETTINGS[setting].name}_ARN`, value.secretArn);
          value.grantRead(fn);
        }
      }
      if (spec.table) grantTable(fn, table, spec.table);
      for (const need of spec.needs) grants[need]?.(fn);
    }
    this.scopeTableWrites(functions, table);
    this.protectAuditTrail(functions, table);

    const operations = new CountersignOperations(this, 'Operations', {
      stateMachine: workflow.stateMachine,
      functions: Object.values(functions),
      api: this.api,
      reconcilerFunction: functions.reconciler.lambda,
      alarmTopic: props.alarmTopic,
      reconcileInterval: props.reconcileInterval,
    });
    const protection = new Protection(this, 'Protection', {
      api: this.api,
      waitFunction: functions.intentsWait.lambda,
      waitConcurrency: props.waitConcurrency ?? DEFAULT_WAIT_CONCURRENCY,
      functions: Object.values(functions),
      webAcl: props.webAcl,
      alarmTopic: props.alarmTopic,
    });
    this.alarms = [...operations.alarms, ...protection.alarms];
    addNagSuppressions(this);
  }

  /**
   * The value of each setting in AWS: text, or a secret (set as `<NAME>_ARN`, read at run time).
   * Settings left out here are unset in AWS (`lambdas/shared/config.ts` says where each is set).
   */
  private settingValues(
    props: CountersignProps,
    workflow: ApprovalWorkflow,
    waitChannel: WaitChannel,
  ): Partial<Record<SettingKey, string | ISecret>> {
    const { slackBotToken, slackSigningSecret } = props;
    if (!slackBotToken !== !slackSigningSecret) {
      throw new Error(
        'slackBotToken and slackSigningSecret go together: set both to enable Slack, or neither',
      );
    }
    if (!props.allowedReviewerDomains || props.allowedReviewerDomains.length === 0) {
      // Secure by default: requests may then name no reviewer of their own, so only reviewers an
      // operator's policy names are ever asked. Said at synth, so that nobody deploys it unaware.
      Annotations.of(this).addWarningV2(
        'countersign:no-reviewer-domains',
        'allowedReviewerDomains is not set: agents may name no reviewers until an admin sets a policy (PUT /v1/policies/*); set it (-c allowedReviewerDomains=company.com) to admit your own domains',
      );
    }
    // An invalid default policy fails the synth, not every request after the deploy.
    parsePolicyDefaults(props.defaultPolicies ?? {}, 'defaultPolicies');
    // Built from the API id, not `api.url`: the URL token depends on the deployment, which
    // depends on every method, and so (through the state machine) on the senders themselves.
    const stack = Stack.of(this);
    const publicBaseUrl =
      props.publicBaseUrl ??
      `https://${this.api.restApiId}.execute-api.${stack.region}.${stack.urlSuffix}/${API_STAGE}`;
    return {
      tableName: this.table.tableName,
      stateMachineArn: workflow.stateMachine.stateMachineArn,
      publicBaseUrl,
      emailFrom: props.emailFrom ?? DEFAULT_EMAIL_FROM,
      emailConfigurationSet: props.emailConfigurationSet?.configurationSetName,
      linkSigningSecret: this.linkSigningSecret,
      channels: slackBotToken ? 'email,slack' : 'email',
      defaultPolicies: JSON.stringify(props.defaultPolicies ?? {}),
      allowedReviewerDomains: props.allowedReviewerDomains?.length
        ? props.allowedReviewerDomains.map((domain) => domain.trim().toLowerCase()).join(',')
        : undefined,
      waitSocketUrl: waitChannel.url,
      waitSocketEndpoint: waitChannel.managementEndpoint,
      // The functions that authenticate API keys read it only when a presented key is not in
      // the table; its value never leaves Secrets Manager.
      bootstrapAdminKey:
        (props.bootstrapAdminKey ?? true) ? this.bootstrapAdminKeySecret : undefined,
      slackBotToken,
      slackSigningSecret,
      webhookSigningSecret: this.webhookSigningSecret,
      signingKeyArn: this.signingKey.keyArn,
    };
  }

  /** The grants each need brings in AWS, beyond reading its secrets. */
  private needGrants(
    props: CountersignProps,
    workflow: ApprovalWorkflow,
  ): Partial<Record<Need, (fn: CountersignFunction) => Grant>> {
    return {
      startsExecutions: (fn) => workflow.grantStart(fn),
      answersTasks: (fn) => workflow.grantTaskResponse(fn),
      describesExecutions: (fn) =>
        workflow.stateMachine.grantExecution(fn, 'states:DescribeExecution'),
      sendsEmail: (fn) =>
        grantSendEmail(fn, props.emailFrom ?? DEFAULT_EMAIL_FROM, props.emailConfigurationSet),
      signs: (fn) => this.signingKey.grant(fn, 'kms:Sign'),
      publishesPublicKey: (fn) => this.signingKey.grant(fn, 'kms:GetPublicKey'),
    };
  }

  /**
   * Least privilege per item type (`lambdas/adapters/table-schema.ts`): each function that
   * writes the table may write only the partitions its manifest entry lists, by the key prefix
   * DynamoDB checks as `dynamodb:LeadingKeys` (in a transaction too, item by item). A Deny on
   * any other prefix, so that the read-write grant stays as it is; PartiQL, which nothing uses,
   * is denied outright.
   */
  private scopeTableWrites(functions: Record<FunctionKey, CountersignFunction>, table: ITableV2) {
    const writes = ['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem', 'ConditionCheckItem'];
    for (const [key, spec] of FUNCTION_ENTRIES) {
      const prefixes = writtenPrefixes(spec);
      if (prefixes.length === 0) continue;
      functions[key].addToRolePolicy(
        new PolicyStatement({
          effect: Effect.DENY,
          actions: writes.map((action) => `dynamodb:${action}`),
          resources: [table.tableArn],
          conditions: {
            'ForAnyValue:StringNotLike': {
              'dynamodb:LeadingKeys': prefixes.map((prefix) => `${prefix}*`),
            },
          },
        }),
      );
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

  /**
   * The audit trail's items (`INTENT#<id>` / `EVENT#<seq>`) are only ever added, with a
   * conditional Put in the transaction of the change they record. IAM cannot name a sort-key
   * prefix (`dynamodb:LeadingKeys` is the partition key only) nor tell a new item from an
   * existing one, so it cannot say "no EVENT# writes" exactly; what it can say is denied here:
   * - no function deletes an intent's items (META, payload, events), nor batch-writes at all
   *   (BatchWriteItem deletes too, and is authorized on its own action);
   * - the functions that record events (those that write `INTENT#`) never update an intent's
   *   items in place (they only Put; the hourly quota counters, USAGE# items, are the one thing
   *   they update);
   * - the other writers (the admin API) cannot write intent items at all.
   * What remains (a Put over an existing event by a function that records events) is caught by
   * the hash chain, the intent's head and the KMS-signed receipt (docs/deploy.md, Permissions).
   */
  private protectAuditTrail(
    functions: Record<FunctionKey, CountersignFunction>,
    table: ITableV2,
  ): void {
    const deny = (actions: string[], conditions?: Record<string, unknown>) =>
      new PolicyStatement({
        effect: Effect.DENY,
        actions,
        resources: [table.tableArn],
        ...(conditions ? { conditions } : {}),
      });
    const leadingKeys = (prefixes: string[]) => ({
      'ForAnyValue:StringLike': { 'dynamodb:LeadingKeys': prefixes },
    });
    for (const [key, spec] of FUNCTION_ENTRIES) {
      const prefixes = writtenPrefixes(spec);
      // The wait channel's functions write their subscriptions only (`WaitChannel`).
      if (prefixes.length === 0 || prefixes.every((prefix) => prefix === 'WAIT#')) continue;
      const fn = functions[key];
      fn.addToRolePolicy(deny(['dynamodb:BatchWriteItem', 'dynamodb:PartiQLDelete']));
      fn.addToRolePolicy(deny(['dynamodb:DeleteItem'], leadingKeys(['INTENT#*'])));
      if (prefixes.includes('INTENT#')) {
        // Listing items (`LIST#`) are put and deleted with the change they follow, never updated.
        fn.addToRolePolicy(deny(['dynamodb:UpdateItem'], leadingKeys(['INTENT#*', 'LIST#*'])));
        fn.addToRolePolicy(deny(['dynamodb:PartiQLUpdate']));
      } else {
        fn.addToRolePolicy(
          deny(
            ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:PartiQLInsert'],
            leadingKeys(['INTENT#*', 'IDEMPOTENCY#*']),
          ),
        );
      }
    }
  }

  /** Lets another principal (an agent's role, say) start approval executions directly. */
  grantStartExecution(grantee: IGrantable): Grant {
    return this.stateMachine.grantStartExecution(grantee);
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
): Grant {
  const stack = Stack.of(fn);
  const arn = (resource: string, resourceName: string) =>
    stack.formatArn({
      service: 'ses',
      resource,
      resourceName,
      arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
    });
  const address = /<([^>]+)>/.exec(emailFrom)?.[1] ?? emailFrom;
  return Grant.addToPrincipal({
    grantee: fn,
    actions: ['ses:SendEmail'],
    resourceArns: [
      arn('identity', '*'),
      ...(configurationSet
        ? [arn('configuration-set', configurationSet.configurationSetName)]
        : []),
    ],
    conditions: { StringEquals: { 'ses:FromAddress': address.trim() } },
  });
}

/** The table access a function's manifest entry names; `describe` reads the table's status only. */
function grantTable(fn: CountersignFunction, table: ITableV2, access: TableAccess): Grant {
  if (access === 'describe') {
    return Grant.addToPrincipal({
      grantee: fn,
      actions: ['dynamodb:DescribeTable'],
      resourceArns: [table.tableArn],
    });
  }
  return access === 'read' ? table.grantReadData(fn) : table.grantReadWriteData(fn);
}

function writtenPrefixes(spec: FunctionSpec): readonly TablePrefix[] {
  return typeof spec.table === 'object' ? spec.table.write : [];
}
