import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { ConfigurationSet } from 'aws-cdk-lib/aws-ses';
import { Topic } from 'aws-cdk-lib/aws-sns';
import type { Construct, Node } from 'constructs';
import type { OperatorPolicy } from '../sdk/src/types';
import { Countersign, type CountersignProps } from './countersign';

export interface CountersignStackProps extends StackProps, CountersignProps {
  /**
   * The name of an existing SES configuration set, when `emailConfigurationSet` is not given.
   * @default - no configuration set
   */
  readonly emailConfigurationSetName?: string;
  /**
   * The full ARN of an existing secret holding the Slack bot token, when `slackBotToken` is
   * not given.
   * @default - no Slack channel
   */
  readonly slackBotTokenSecretArn?: string;
  /**
   * The full ARN of an existing secret holding the Slack signing secret, when
   * `slackSigningSecret` is not given.
   * @default - no Slack channel
   */
  readonly slackSigningSecretArn?: string;
  /**
   * The ARN of an existing SNS topic for the alarms, when `alarmTopic` is not given.
   * @default - the alarms notify no one
   */
  readonly alarmTopicArn?: string;
}

/** The stack `cdk deploy` creates: one Countersign and its outputs. */
export class CountersignStack extends Stack {
  readonly countersign: Countersign;

  constructor(scope: Construct, id: string, props: CountersignStackProps = {}) {
    super(scope, id, props);
    const {
      emailConfigurationSetName,
      slackBotTokenSecretArn,
      slackSigningSecretArn,
      alarmTopicArn,
    } = props;
    this.countersign = new Countersign(this, 'Countersign', {
      ...props,
      emailConfigurationSet:
        props.emailConfigurationSet ??
        (emailConfigurationSetName
          ? ConfigurationSet.fromConfigurationSetName(
              this,
              'EmailConfigurationSet',
              emailConfigurationSetName,
            )
          : undefined),
      slackBotToken:
        props.slackBotToken ??
        (slackBotTokenSecretArn
          ? Secret.fromSecretCompleteArn(this, 'SlackBotToken', slackBotTokenSecretArn)
          : undefined),
      slackSigningSecret:
        props.slackSigningSecret ??
        (slackSigningSecretArn
          ? Secret.fromSecretCompleteArn(this, 'SlackSigningSecret', slackSigningSecretArn)
          : undefined),
      alarmTopic:
        props.alarmTopic ??
        (alarmTopicArn ? Topic.fromTopicArn(this, 'AlarmTopic', alarmTopicArn) : undefined),
    });
    const output = (outputId: string, value: string, description: string) =>
      new CfnOutput(this, outputId, { value, description });
    output('ApiUrl', this.countersign.apiUrl, 'The base URL for the SDK, the CLI and agents');
    output(
      'SlackInteractionsUrl',
      `${this.countersign.apiUrl}slack/interactions`,
      "The Slack app's interactivity request URL",
    );
    output(
      'WaitSocketUrl',
      this.countersign.waitSocketUrl,
      'The wait channel (WebSocket) the SDKs wait on; GET /v1/intents/{id} names it too',
    );
    output('TableName', this.countersign.table.tableName, 'Intents, audit trails, keys and teams');
    output(
      'StateMachineArn',
      this.countersign.stateMachine.stateMachineArn,
      'The approval state machine (one execution per intent)',
    );
    output(
      'BootstrapAdminKeySecretArn',
      this.countersign.bootstrapAdminKeySecret.secretArn,
      'The first admin key: aws secretsmanager get-secret-value --secret-id <arn> --query SecretString --output text',
    );
    output(
      'WebhookSigningSecretArn',
      this.countersign.webhookSigningSecret.secretArn,
      'Deprecated (the HMAC Countersign-Signature header, removed next release): aws secretsmanager get-secret-value --secret-id <arn>',
    );
    output(
      'SigningKeyArn',
      this.countersign.signingKey.keyArn,
      'The KMS key that signs receipts and callbacks; its public key is served at /.well-known/jwks.json',
    );
  }
}

/**
 * The deployment settings of `bin/countersign.ts`, each from CDK context (`-c name=value`, or
 * `cdk.json`) or else from an environment variable. A malformed value fails the synthesis with
 * its name, so that nothing deploys with a silently ignored setting.
 */
export function settingsFromContext(
  node: Node,
  env: Record<string, string | undefined> = process.env,
): CountersignStackProps {
  const read = (contextKey: string, envName: string): string | undefined => {
    const value: unknown = node.tryGetContext(contextKey) ?? env[envName];
    if (value === undefined || value === null || value === '') return undefined;
    if (typeof value === 'string') return value;
    // cdk.json may hold lists and objects: a list of domains, the default policies.
    return Array.isArray(value) ? value.join(',') : JSON.stringify(value);
  };
  const number = (contextKey: string, envName: string): number | undefined => {
    const raw = read(contextKey, envName);
    if (raw === undefined) return undefined;
    const value = Number(raw);
    if (!Number.isFinite(value) || value <= 0) {
      throw new Error(`${contextKey} must be a positive number, got ${JSON.stringify(raw)}`);
    }
    return value;
  };
  const retentionDays = number('logRetentionDays', 'COUNTERSIGN_LOG_RETENTION_DAYS');
  if (retentionDays !== undefined && !Object.values(RetentionDays).includes(retentionDays)) {
    throw new Error(
      `logRetentionDays must be one of CloudWatch's retention periods (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, …), got ${retentionDays}`,
    );
  }
  const reconcileMinutes = number(
    'reconcileIntervalMinutes',
    'COUNTERSIGN_RECONCILE_INTERVAL_MINUTES',
  );
  const policies = read('defaultPolicies', 'COUNTERSIGN_DEFAULT_POLICIES');
  const domains = read('allowedReviewerDomains', 'COUNTERSIGN_ALLOWED_REVIEWER_DOMAINS');
  const bootstrap = read('bootstrapAdminKey', 'COUNTERSIGN_BOOTSTRAP_ADMIN_KEY');
  if (bootstrap !== undefined && bootstrap !== 'true' && bootstrap !== 'false') {
    throw new Error(`bootstrapAdminKey must be true or false, got ${JSON.stringify(bootstrap)}`);
  }
  const removal = read('tableRemovalPolicy', 'COUNTERSIGN_TABLE_REMOVAL_POLICY');
  if (removal !== undefined && removal !== 'retain' && removal !== 'destroy') {
    throw new Error(`tableRemovalPolicy must be retain or destroy, got ${JSON.stringify(removal)}`);
  }
  const webAclRate = number('webAclRateLimit', 'COUNTERSIGN_WEB_ACL_RATE_LIMIT');
  const settings: CountersignStackProps = {
    emailFrom: read('emailFrom', 'COUNTERSIGN_EMAIL_FROM'),
    emailConfigurationSetName: read('emailConfigurationSet', 'COUNTERSIGN_EMAIL_CONFIGURATION_SET'),
    slackBotTokenSecretArn: read(
      'slackBotTokenSecretArn',
      'COUNTERSIGN_SLACK_BOT_TOKEN_SECRET_ARN',
    ),
    slackSigningSecretArn: read('slackSigningSecretArn', 'COUNTERSIGN_SLACK_SIGNING_SECRET_ARN'),
    alarmTopicArn: read('alarmTopicArn', 'COUNTERSIGN_ALARM_TOPIC_ARN'),
    publicBaseUrl: read('publicBaseUrl', 'COUNTERSIGN_PUBLIC_BASE_URL'),
    allowedReviewerDomains: domains
      ?.split(',')
      .map((domain) => domain.trim())
      .filter(Boolean),
    defaultPolicies: policies === undefined ? undefined : parsePolicies(policies),
    logRetention: retentionDays as RetentionDays | undefined,
    throttlingRateLimit: number('throttlingRateLimit', 'COUNTERSIGN_THROTTLING_RATE_LIMIT'),
    throttlingBurstLimit: number('throttlingBurstLimit', 'COUNTERSIGN_THROTTLING_BURST_LIMIT'),
    waitConcurrency: number('waitConcurrency', 'COUNTERSIGN_WAIT_CONCURRENCY'),
    webAcl: webAclRate === undefined ? undefined : { rateLimitPerFiveMinutes: webAclRate },
    bootstrapAdminKey: bootstrap === undefined ? undefined : bootstrap === 'true',
    reconcileInterval:
      reconcileMinutes === undefined ? undefined : Duration.minutes(reconcileMinutes),
    tableRemovalPolicy:
      removal === undefined
        ? undefined
        : removal === 'destroy'
          ? RemovalPolicy.DESTROY
          : RemovalPolicy.RETAIN,
  };
  return Object.fromEntries(
    Object.entries(settings).filter(([, value]) => value !== undefined),
  ) as CountersignStackProps;
}

/** Context or environment JSON; the construct checks each policy against the schema at synth. */
function parsePolicies(raw: string): Record<string, OperatorPolicy> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new Error(`defaultPolicies must be JSON, got ${JSON.stringify(raw)}`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new Error('defaultPolicies must be a JSON object keyed by intent_type (or "*")');
  }
  return parsed as Record<string, OperatorPolicy>;
}
