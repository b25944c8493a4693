import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import aslValidator from 'asl-validator';
import { App, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FUNCTIONS } from '../../lambdas/functions';
import { CountersignStack, type CountersignStackProps } from '../../lib/countersign-stack';
import { NAG_REASONS } from '../../lib/nag-suppressions';
import { loadLocalDefinition } from '../../local/cdk-definition';

/**
 * The deployment as `cdk deploy` would ship it, checked offline: cdk-nag's AwsSolutions rules
 * as a validation plugin (as bin/countersign.ts runs them), the state machine against the
 * Amazon States Language, and the security and operations properties of the template.
 */
const NO_BUNDLING = { 'aws:cdk:bundling-stacks': [] };
const ENV = { account: '111111111111', region: 'eu-west-1' };
const FUNCTION_COUNT = Object.keys(FUNCTIONS).length;

/** Synthesized CloudFormation, read loosely: the assertions say what they expect. */
// biome-ignore lint/suspicious/noExplicitAny: template JSON has no static shape worth declaring
type Json = any;
type Resource = { Type: string; Properties: Record<string, Json>; Metadata?: Record<string, Json> };

function synth(props: CountersignStackProps = {}) {
  const outdir = mkdtempSync(path.join(tmpdir(), 'countersign-deploy-'));
  const app = new App({ outdir, context: NO_BUNDLING });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const stack = new CountersignStack(app, 'Countersign', { env: ENV, ...props });
  const template = Template.fromStack(stack);
  app.synth();
  return { outdir, stack, template };
}

/** Function id (`lambdas/functions.ts`) → its resource, and the policies attached to its role. */
function byFunction(template: Template) {
  const functions = template.findResources('AWS::Lambda::Function') as Record<string, Resource>;
  const policies = template.findResources('AWS::IAM::Policy') as Record<string, Resource>;
  const result = new Map<string, { fn: Resource; statements: Json[] }>();
  for (const fn of Object.values(functions)) {
    const id = fn.Metadata?.['countersign:function'];
    if (typeof id !== 'string') continue;
    const roleId = fn.Properties.Role['Fn::GetAtt'][0];
    const statements = Object.values(policies)
      .filter(
        (policy) => JSON.stringify(policy.Properties.Roles) === JSON.stringify([{ Ref: roleId }]),
      )
      .flatMap((policy) => policy.Properties.PolicyDocument.Statement);
    result.set(id, { fn, statements });
  }
  return result;
}

const actionsOf = (statement: { Action: string | string[] }) =>
  Array.isArray(statement.Action) ? statement.Action : [statement.Action];

describe('Countersign deployment (all options)', () => {
  let outdir: string;
  let template: Template;
  let functions: ReturnType<typeof byFunction>;

  beforeAll(() => {
    ({ outdir, template } = synth({
      emailFrom: 'approvals@company.com',
      emailConfigurationSetName: 'countersign-mail',
      alarmTopicArn: 'arn:aws:sns:eu-west-1:111111111111:ops-alarms',
      allowedReviewerDomains: ['company.com', 'Sub.Company.com'],
    }));
    functions = byFunction(template);
  });
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  it('passes cdk-nag AwsSolutions: every finding kept carries a written reason, the report is clean', () => {
    const report = JSON.parse(
      readFileSync(path.join(outdir, 'validation-report.json'), 'utf8'),
    ) as {
      pluginReports: { violations?: unknown[] }[];
    };
    expect(report.pluginReports.flatMap((r) => r.violations ?? [])).toEqual([]);
    // The acknowledgements are in the assembly's metadata, each with its reason.
    const metadata = readFileSync(path.join(outdir, 'Countersign.metadata.json'), 'utf8');
    for (const reason of Object.values(NAG_REASONS)) {
      expect(reason.length).toBeGreaterThan(40);
    }
    expect(metadata).toContain('aws:cdk:acknowledged-rules');
    expect(metadata).toContain(NAG_REASONS.authorizer);
  });

  it('fails the synthesis on a finding without a reason', () => {
    const app = new App({
      outdir: mkdtempSync(path.join(tmpdir(), 'countersign-nag-')),
      context: NO_BUNDLING,
    });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    const stack = new CountersignStack(app, 'Countersign', { env: ENV });
    // An unjustified wildcard, added after the construct.
    stack.countersign.functions.health.addToRolePolicy(
      new PolicyStatement({ actions: ['s3:GetObject'], resources: ['*'] }),
    );
    expect(() => app.synth()).toThrow(/IAM entity contains wildcard permissions/);
  });

  it('passes asl-validator, and the definition is the one the local engine runs', () => {
    const { definition } = loadLocalDefinition(
      template.toJSON() as Parameters<typeof loadLocalDefinition>[0],
    );
    const result = aslValidator(definition, { checkPaths: true, checkArn: true });
    expect(result.errorsText()).toBe('');
    expect(result.isValid).toBe(true);
  });

  it('matches the reviewed snapshot of the state machine definition', async () => {
    // Local ARNs stand for the functions, so neither logical-id nor asset hashes appear.
    const { definition } = loadLocalDefinition(
      template.toJSON() as Parameters<typeof loadLocalDefinition>[0],
    );
    const text = `${JSON.stringify(definition, null, 2).replace(/[0-9a-f]{64}/g, '<asset-hash>')}\n`;
    await expect(text).toMatchFileSnapshot('./__snapshots__/state-machine.asl.json');
  });

  it('keeps every secret in Secrets Manager: functions get ARNs, the template no values', () => {
    for (const [id, { fn }] of functions) {
      for (const [name, value] of Object.entries(fn.Properties.Environment?.Variables ?? {})) {
        if (/SECRET|TOKEN|PASSWORD|API_KEY|ADMIN_KEY/.test(name)) {
          expect(name, `${id}: ${name}`).toMatch(/_ARN$/);
          expect(JSON.stringify(value), `${id}: ${name}`).toMatch(
            /"Ref":"[A-Za-z0-9]*Secret|BootstrapAdminKey|^"arn:/,
          );
        }
      }
    }
    const secrets = template.findResources('AWS::SecretsManager::Secret') as Record<
      string,
      Resource
    >;
    expect(Object.keys(secrets).length).toBeGreaterThanOrEqual(3);
    for (const secret of Object.values(secrets)) {
      expect(secret.Properties).not.toHaveProperty('SecretString');
      expect(secret.Properties.GenerateSecretString).toMatchObject({ PasswordLength: 64 });
    }
  });

  it('gives the bootstrap admin key to the functions that authenticate API keys, and no others', () => {
    // The wait channel authenticates each subscribe, and its push checks the key is not revoked.
    const authenticating = [
      'admin',
      'intents-decide',
      'intents-read',
      'intents-wait',
      'intents-write',
      'mcp',
      'wait-push',
      'wait-socket',
    ];
    const readers = [...functions].filter(([, { statements }]) =>
      JSON.stringify(statements).includes('BootstrapAdminKey'),
    );
    expect(readers.map(([id]) => id).sort()).toEqual(authenticating);
    for (const id of authenticating) {
      expect(
        functions.get(id)?.fn.Properties.Environment.Variables.BOOTSTRAP_ADMIN_KEY_ARN,
      ).toEqual({
        Ref: expect.stringMatching(/^CountersignBootstrapAdminKey/),
      });
    }
    template.hasOutput('BootstrapAdminKeySecretArn', {
      Value: { Ref: Match.stringLikeRegexp('^CountersignBootstrapAdminKey') },
    });
  });

  it('gives each function a role of its own without AWS managed policies, writing to its own log group', () => {
    for (const role of Object.values(
      template.findResources('AWS::IAM::Role') as Record<string, Resource>,
    )) {
      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    }
    for (const [id, { fn, statements }] of functions) {
      const logs = statements.find((s) => actionsOf(s).includes('logs:PutLogEvents'));
      expect(logs?.Resource, id).toEqual({
        'Fn::GetAtt': [fn.Properties.LoggingConfig.LogGroup.Ref, 'Arn'],
      });
    }
  });

  it('lets the three senders (stage-task, notify-decided, the inbox) email only from the configured address, with its configuration set', () => {
    const statements = [...functions].flatMap(([id, { statements }]) =>
      statements
        .filter((s) => actionsOf(s).some((a) => a.startsWith('ses:')))
        .map((s) => [id, s] as const),
    );
    expect(statements.map(([id]) => id).sort()).toEqual(['inbox', 'notify-decided', 'stage-task']);
    for (const [id, statement] of statements) {
      expect(statement.Action, id).toBe('ses:SendEmail');
      expect(statement.Condition, id).toEqual({
        StringEquals: { 'ses:FromAddress': 'approvals@company.com' },
      });
      const resources = JSON.stringify(statement.Resource);
      expect(resources).toContain(':ses:eu-west-1:111111111111:identity/*');
      expect(resources).toContain(':configuration-set/countersign-mail');
      expect(resources).not.toContain('"*"');
      expect(functions.get(id)?.fn.Properties.Environment.Variables).toMatchObject({
        EMAIL_FROM: 'approvals@company.com',
        EMAIL_CONFIGURATION_SET: 'countersign-mail',
      });
    }
  });

  it('restricts reviewers to the allowed domains where reviewers are named', () => {
    for (const id of ['intents-write', 'admin']) {
      expect(functions.get(id)?.fn.Properties.Environment.Variables.ALLOWED_REVIEWER_DOMAINS).toBe(
        'company.com,sub.company.com',
      );
    }
  });

  it('runs the reconciler every 15 minutes, allowed to describe and start executions of this machine only', () => {
    const reconciler = functions.get('reconciler');
    expect(reconciler).toBeDefined();
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(15 minutes)',
      State: 'ENABLED',
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Countersignreconciler'), 'Arn'] },
          RetryPolicy: Match.objectLike({ MaximumRetryAttempts: 0 }),
        }),
      ],
    });
    const states = (reconciler?.statements ?? []).filter((s) =>
      actionsOf(s).some((a) => a.startsWith('states:')),
    );
    const describe = states.find((s) => actionsOf(s).includes('states:DescribeExecution'));
    const start = states.find((s) => actionsOf(s).includes('states:StartExecution'));
    expect(JSON.stringify(describe?.Resource)).toMatch(
      /:execution:.*CountersignWorkflowStateMachine/,
    );
    expect(start?.Resource).toEqual({
      Ref: expect.stringMatching(/^CountersignWorkflowStateMachine/),
    });
    expect(JSON.stringify(states)).not.toContain('SendTask');
    expect(reconciler?.fn.Properties.Environment.Variables.STATE_MACHINE_ARN).toEqual({
      Ref: expect.stringMatching(/^CountersignWorkflowStateMachine/),
    });
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: Match.stringLikeRegexp('^Countersignreconciler') },
      MaximumRetryAttempts: 0,
    });
  });

  it("alarms on failed, timed-out and aborted executions, on each function's errors and on API 5xx, to the topic", () => {
    const all = Object.values(
      template.findResources('AWS::CloudWatch::Alarm') as Record<string, Resource>,
    );
    // Besides these: Lambda throttling (one alarm per ten functions) and a flood of 4xx, which
    // test/cdk/protection.test.ts checks; all of them notify the topic.
    const protection = 2 + 1;
    expect(all).toHaveLength(3 + FUNCTION_COUNT + 1 + protection);
    for (const alarm of all) {
      expect(alarm.Properties).toMatchObject({
        AlarmActions: ['arn:aws:sns:eu-west-1:111111111111:ops-alarms'],
        OKActions: ['arn:aws:sns:eu-west-1:111111111111:ops-alarms'],
      });
    }
    const alarms = all.filter(
      (alarm) =>
        alarm.Properties.MetricName !== undefined && alarm.Properties.MetricName !== '4XXError',
    );
    const metrics = alarms.map(
      (alarm) => `${alarm.Properties.Namespace}/${alarm.Properties.MetricName}`,
    );
    for (const metric of ['ExecutionsFailed', 'ExecutionsTimedOut', 'ExecutionsAborted']) {
      expect(metrics).toContain(`AWS/States/${metric}`);
    }
    expect(metrics.filter((m) => m === 'AWS/Lambda/Errors')).toHaveLength(FUNCTION_COUNT);
    expect(metrics).toContain('AWS/ApiGateway/5XXError');
    for (const alarm of alarms) {
      expect(alarm.Properties).toMatchObject({
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
        AlarmActions: ['arn:aws:sns:eu-west-1:111111111111:ops-alarms'],
        OKActions: ['arn:aws:sns:eu-west-1:111111111111:ops-alarms'],
      });
    }
  });

  it('logs every execution state change, without execution data', () => {
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineType: 'STANDARD',
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: Match.objectLike({ Level: 'ALL', IncludeExecutionData: false }),
    });
  });

  it('answers the API, the Slack URL, the table, the machine and the secrets as outputs', () => {
    for (const output of [
      'ApiUrl',
      'SlackInteractionsUrl',
      'TableName',
      'StateMachineArn',
      'BootstrapAdminKeySecretArn',
      'WebhookSigningSecretArn',
      'WaitSocketUrl',
    ]) {
      template.hasOutput(output, {});
    }
  });
});

describe('Countersign deployment (defaults and opt-outs)', () => {
  it('synthesizes clean without an account or region, as `cdk synth` does from a clean clone', () => {
    const { outdir } = synth({ env: undefined });
    try {
      const report = JSON.parse(
        readFileSync(path.join(outdir, 'validation-report.json'), 'utf8'),
      ) as { pluginReports: { violations?: unknown[] }[] };
      expect(report.pluginReports.flatMap((r) => r.violations ?? [])).toEqual([]);
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });

  it('notifies no one by default, and accepts no bootstrap key once turned off', () => {
    const { outdir, template } = synth({ bootstrapAdminKey: false });
    try {
      for (const alarm of Object.values(
        template.findResources('AWS::CloudWatch::Alarm') as Record<string, Resource>,
      )) {
        expect(alarm.Properties.AlarmActions).toBeUndefined();
      }
      for (const [, { fn, statements }] of byFunction(template)) {
        expect(fn.Properties.Environment.Variables.BOOTSTRAP_ADMIN_KEY_ARN).toBeUndefined();
        expect(JSON.stringify(statements)).not.toContain('BootstrapAdminKey');
        expect(fn.Properties.Environment.Variables.ALLOWED_REVIEWER_DOMAINS).toBeUndefined();
      }
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });

  it('warns at synth when no reviewer domains are set, and not once they are', () => {
    const warnings = (props: CountersignStackProps) => {
      const { outdir, stack } = synth(props);
      try {
        return Annotations.fromStack(stack)
          .findWarning('*', Match.stringLikeRegexp('allowedReviewerDomains is not set'))
          .map((warning) => warning.id);
      } finally {
        rmSync(outdir, { recursive: true, force: true });
      }
    };
    expect(warnings({})).toHaveLength(1);
    expect(warnings({ allowedReviewerDomains: ['company.com'] })).toEqual([]);
  });

  it('lets a throwaway stack destroy its table: no deletion protection, no retain', () => {
    const { outdir, template } = synth({ tableRemovalPolicy: RemovalPolicy.DESTROY });
    try {
      template.hasResource('AWS::DynamoDB::GlobalTable', {
        DeletionPolicy: 'Delete',
        Properties: Match.objectLike({
          Replicas: [Match.objectLike({ DeletionProtectionEnabled: false })],
        }),
      });
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });
});
