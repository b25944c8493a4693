import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DECIDED_NOTICE_RETRY } from '../../lambdas/domain/stages';
import { CALLBACK_RETRY } from '../../lambdas/domain/webhook';
import { FUNCTION_METADATA_KEY, FUNCTIONS } from '../../lambdas/functions';
import { ApprovalWorkflow } from '../../lib/approval-workflow';
import { CountersignStack } from '../../lib/countersign-stack';
import { loadLocalDefinition } from '../../local/cdk-definition';

/** Asset bundling is skipped: these tests read the template, they do not deploy it. */
const NO_BUNDLING = { 'aws:cdk:bundling-stacks': [] };

describe('CountersignStack', () => {
  let outdir: string;
  let template: Template;

  beforeAll(() => {
    outdir = mkdtempSync(path.join(tmpdir(), 'countersign-cdk-'));
    const app = new App({ outdir, context: NO_BUNDLING });
    const stack = new CountersignStack(app, 'Countersign', {
      env: { account: '111111111111', region: 'eu-west-1' },
      emailFrom: 'approvals@company.com',
    });
    template = Template.fromStack(stack);
    app.synth();
  });
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  it("passes CDK's own CloudFormation validation (no circular dependencies)", () => {
    const reportFile = path.join(outdir, 'validation-report.json');
    const violations = existsSync(reportFile)
      ? (
          JSON.parse(readFileSync(reportFile, 'utf8')) as {
            pluginReports: { violations?: unknown[] }[];
          }
        ).pluginReports.flatMap((report) => report.violations ?? [])
      : [];
    expect(violations).toEqual([]);
  });

  it('keeps the table safe: point-in-time recovery, deletion protection, retained', () => {
    template.hasResource('AWS::DynamoDB::GlobalTable', {
      DeletionPolicy: 'Retain',
      Properties: Match.objectLike({
        Replicas: [
          Match.objectLike({
            DeletionProtectionEnabled: true,
            PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
          }),
        ],
      }),
    });
  });

  it('runs every function on Node 22, ARM64, with source maps', () => {
    const functions = template.findResources('AWS::Lambda::Function');
    const ours = Object.values(functions).filter((fn) => fn.Metadata?.['countersign:function']);
    expect(ours).toHaveLength(Object.keys(FUNCTIONS).length);
    for (const fn of ours) {
      expect(fn.Properties.Runtime).toBe(Runtime.NODEJS_22_X.name);
      expect(fn.Properties.Architectures).toEqual(['arm64']);
      expect(fn.Properties.Environment.Variables.NODE_OPTIONS).toBe('--enable-source-maps');
    }
    // One log group per function, plus the two APIs' access logs and the execution logs.
    template.resourcePropertiesCountIs(
      'AWS::Logs::LogGroup',
      { RetentionInDays: 30 },
      Object.keys(FUNCTIONS).length + 3,
    );
  });

  it('is a Standard state machine with logging', () => {
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineType: 'STANDARD',
      LoggingConfiguration: Match.objectLike({ Level: 'ALL', IncludeExecutionData: false }),
    });
  });

  it('puts no secret in the template: the link key is a generated Secrets Manager secret', () => {
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      GenerateSecretString: Match.objectLike({ PasswordLength: 64 }),
    });
    const text = JSON.stringify(template.toJSON());
    expect(text).not.toMatch(/LINK_SIGNING_SECRET"\s*:/);
  });

  it('signs callbacks with a generated secret that only the deliver function reads', () => {
    const functions = template.findResources('AWS::Lambda::Function');
    const [deliverId, deliver] =
      Object.entries(functions).find(
        ([, fn]) => fn.Metadata?.['countersign:function'] === 'deliver-callback',
      ) ?? [];
    expect(deliver?.Properties.Environment.Variables.WEBHOOK_SIGNING_SECRET_ARN).toEqual({
      Ref: expect.stringMatching(/WebhookSigningSecret/),
    });
    const readers = Object.entries(template.findResources('AWS::IAM::Policy')).filter(
      ([, policy]) =>
        JSON.stringify(policy.Properties.PolicyDocument).includes('WebhookSigningSecret'),
    );
    expect(readers).toHaveLength(1);
    expect(JSON.stringify(readers[0]?.[1].Properties.Roles)).toContain(
      String(deliverId).replace(/[0-9A-F]{8}$/, ''),
    );
    template.hasOutput('WebhookSigningSecretArn', {});
  });

  /** The policy statements of each function's role, by function id. */
  function statementsByFunction(): Map<
    string,
    { Effect: string; Action: unknown; Resource: unknown; Condition?: unknown }[]
  > {
    const byFunction = new Map<
      string,
      { Effect: string; Action: unknown; Resource: unknown; Condition?: unknown }[]
    >();
    for (const [id, policy] of Object.entries(template.findResources('AWS::IAM::Policy'))) {
      const fn = /^Countersign(.+?)RoleDefaultPolicy/.exec(id)?.[1];
      if (!fn) continue;
      byFunction.set(fn, [
        ...(byFunction.get(fn) ?? []),
        ...policy.Properties.PolicyDocument.Statement,
      ]);
    }
    return byFunction;
  }
  const actionsOf = (statement: { Action: unknown }) => [statement.Action].flat() as string[];

  it('signs receipts and callbacks with an Ed25519 KMS key: kms:Sign for the signers, GetPublicKey for the JWKS', () => {
    template.hasResourceProperties('AWS::KMS::Key', {
      KeySpec: 'ECC_NIST_EDWARDS25519',
      KeyUsage: 'SIGN_VERIFY',
    });
    template.hasResource('AWS::KMS::Key', { DeletionPolicy: 'Retain' });
    const holders = (action: string) =>
      [...statementsByFunction()]
        .filter(([, statements]) =>
          statements.some((s) => s.Effect === 'Allow' && actionsOf(s).includes(action)),
        )
        .map(([fn]) => fn)
        .sort();
    expect(holders('kms:Sign')).toEqual([
      'delivercallback',
      'inbox',
      'intentsdecide',
      'intentswrite',
      'mcp',
      'planstage',
      'reconciler',
      'review',
      'slackinteractions',
    ]);
    expect(holders('kms:GetPublicKey')).toEqual(['jwks']);
    for (const [fn, statements] of statementsByFunction()) {
      const kms = statements.filter((s) => actionsOf(s).some((a) => a.startsWith('kms:')));
      // One action on the signing key itself, never a wildcard.
      for (const statement of kms) {
        expect({ fn, actions: actionsOf(statement) }).toEqual({
          fn,
          actions: [fn === 'jwks' ? 'kms:GetPublicKey' : 'kms:Sign'],
        });
        expect(JSON.stringify(statement.Resource)).toMatch(/SigningKey/);
      }
    }
    const functions = template.findResources('AWS::Lambda::Function');
    const jwks = Object.values(functions).find(
      (fn) => fn.Metadata?.['countersign:function'] === 'jwks',
    );
    expect(jwks?.Properties.Environment.Variables.SIGNING_KEY_ARN).toEqual({
      'Fn::GetAtt': [expect.stringMatching(/SigningKey/), 'Arn'],
    });
    template.hasResourceProperties('AWS::ApiGateway::Resource', { PathPart: '.well-known' });
    template.hasResourceProperties('AWS::ApiGateway::Resource', { PathPart: 'jwks.json' });
  });

  it('lets no function delete or rewrite trail items, and the admin function write no intent item', () => {
    const statements = statementsByFunction();
    const denies = (fn: string) => (statements.get(fn) ?? []).filter((s) => s.Effect === 'Deny');
    const denied = (fn: string, action: string, condition?: unknown) =>
      denies(fn).some(
        (s) =>
          actionsOf(s).includes(action) &&
          JSON.stringify(s.Condition) === JSON.stringify(condition),
      );
    const intentItems = { 'ForAnyValue:StringLike': { 'dynamodb:LeadingKeys': ['INTENT#*'] } };
    const writers = [
      'intentswrite',
      'mcp',
      'intentsdecide',
      'review',
      'inbox',
      'slackinteractions',
      'planstage',
      'stagetask',
      'notifydecided',
      'delivercallback',
      'reconciler',
    ];
    for (const fn of [...writers, 'admin']) {
      expect({ fn, batch: denied(fn, 'dynamodb:BatchWriteItem') }).toEqual({ fn, batch: true });
      expect({ fn, deletes: denied(fn, 'dynamodb:DeleteItem', intentItems) }).toEqual({
        fn,
        deletes: true,
      });
    }
    // Nor update listing items (they are put and deleted with the change they follow).
    const intentAndListingItems = {
      'ForAnyValue:StringLike': { 'dynamodb:LeadingKeys': ['INTENT#*', 'LIST#*'] },
    };
    for (const fn of writers) {
      expect({ fn, updates: denied(fn, 'dynamodb:UpdateItem', intentAndListingItems) }).toEqual({
        fn,
        updates: true,
      });
    }
    expect(
      denied('admin', 'dynamodb:PutItem', {
        'ForAnyValue:StringLike': { 'dynamodb:LeadingKeys': ['INTENT#*', 'IDEMPOTENCY#*'] },
      }),
    ).toBe(true);
    // The read function and the JWKS function write nothing at all.
    for (const fn of ['intentsread', 'jwks']) {
      const allowed = (statements.get(fn) ?? [])
        .filter((s) => s.Effect === 'Allow')
        .flatMap(actionsOf);
      expect(allowed.filter((a) => /PutItem|UpdateItem|DeleteItem|BatchWrite/.test(a))).toEqual([]);
    }
  });

  it('scopes SendTaskSuccess to this state machine, for the decision, MCP and stage functions only', () => {
    const policies = template.findResources('AWS::IAM::Policy');
    const holders = Object.entries(policies).filter(([, policy]) =>
      JSON.stringify(policy.Properties.PolicyDocument).includes('states:SendTaskSuccess'),
    );
    expect(holders.map(([id]) => id.replace(/RoleDefaultPolicy.*/, '')).sort()).toEqual([
      'Countersigninbox',
      'Countersignintentsdecide',
      'Countersignmcp',
      'Countersignreview',
      'Countersignslackinteractions',
      'Countersignstagetask',
    ]);
    for (const [, policy] of holders) {
      const statement = (
        policy.Properties.PolicyDocument.Statement as { Action: unknown; Resource: unknown }[]
      ).find((s) => JSON.stringify(s.Action).includes('SendTaskSuccess'));
      expect(JSON.stringify(statement?.Resource)).toContain(':stateMachine:Countersign-Workflow-');
    }
  });

  it('lets the health function describe the table for readiness, and nothing more', () => {
    const policies = Object.entries(template.findResources('AWS::IAM::Policy')).filter(([id]) =>
      id.startsWith('Countersignhealth'),
    );
    expect(policies).toHaveLength(1);
    const statements = policies[0]?.[1].Properties.PolicyDocument.Statement as {
      Effect: string;
      Action: unknown;
      Resource: unknown;
    }[];
    // What it may do; the denies every function carries (PartiQL writes) take nothing away here.
    const onTable = statements.filter(
      (statement) =>
        statement.Effect === 'Allow' && JSON.stringify(statement.Action).includes('dynamodb:'),
    );
    expect(onTable.map((statement) => statement.Action)).toEqual(['dynamodb:DescribeTable']);
    expect(JSON.stringify(onTable[0]?.Resource)).toMatch(
      /"Fn::GetAtt":\["CountersignTable[0-9A-F]+","Arn"\]/,
    );
    const health = Object.values(template.findResources('AWS::Lambda::Function')).find(
      (fn) => fn.Metadata?.[FUNCTION_METADATA_KEY] === FUNCTIONS.health.id,
    );
    expect(Object.keys(health?.Properties.Environment.Variables ?? {})).toContain('TABLE_NAME');
  });

  it('throttles the API and answers unknown routes in the contract error shape', () => {
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      StageName: 'v1',
      MethodSettings: Match.arrayWith([
        Match.objectLike({ ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 }),
      ]),
    });
    template.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
      ResponseType: 'MISSING_AUTHENTICATION_TOKEN',
      StatusCode: '404',
      ResponseTemplates: { 'application/json': Match.stringLikeRegexp('"code":"not_found"') },
    });
  });

  it('serves /mcp (POST, GET, DELETE) from the MCP function, which may start executions', () => {
    const resources = template.findResources('AWS::ApiGateway::Resource', {
      Properties: { PathPart: 'mcp' },
    });
    const [mcpResource] = Object.keys(resources);
    expect(mcpResource).toBeDefined();
    const mcpFunction = Object.entries(template.findResources('AWS::Lambda::Function')).find(
      ([, fn]) => fn.Metadata?.['countersign:function'] === 'mcp',
    );
    expect(mcpFunction?.[1].Properties.Timeout).toBe(29);
    for (const method of ['POST', 'GET', 'DELETE']) {
      template.hasResourceProperties('AWS::ApiGateway::Method', {
        HttpMethod: method,
        ResourceId: { Ref: mcpResource },
        Integration: Match.objectLike({
          Type: 'AWS_PROXY',
          Uri: Match.objectLike({
            'Fn::Join': Match.arrayWith([
              Match.arrayWith([{ 'Fn::GetAtt': [mcpFunction?.[0], 'Arn'] }]),
            ]),
          }),
        }),
      });
    }
    const starters = Object.entries(template.findResources('AWS::IAM::Policy')).filter(
      ([, policy]) =>
        JSON.stringify(policy.Properties.PolicyDocument).includes('states:StartExecution'),
    );
    expect(starters.map(([id]) => id)).toContainEqual(expect.stringMatching(/^Countersignmcp/));
  });

  it('serves the reviewer inbox and bulk decisions, each route from its function', () => {
    const resources = template.findResources('AWS::ApiGateway::Resource') as Record<
      string,
      { Properties: { PathPart: string; ParentId: unknown } }
    >;
    /** The resource id of a path such as `/inbox/sign-in/{token}`, walking from the root. */
    const resourceOf = (path: string) => {
      const [api] = Object.keys(template.findResources('AWS::ApiGateway::RestApi'));
      let parent: unknown = { 'Fn::GetAtt': [api, 'RootResourceId'] };
      let found: string | undefined;
      for (const part of path.split('/').filter(Boolean)) {
        const under = JSON.stringify(parent);
        found = Object.entries(resources).find(
          ([, r]) =>
            r.Properties.PathPart === part && JSON.stringify(r.Properties.ParentId) === under,
        )?.[0];
        expect(found, path).toBeDefined();
        parent = { Ref: found };
      }
      return found;
    };
    const functionId = (key: string) =>
      Object.entries(template.findResources('AWS::Lambda::Function')).find(
        ([, fn]) => fn.Metadata?.[FUNCTION_METADATA_KEY] === key,
      )?.[0];
    const routes = [
      ...FUNCTIONS.inbox.routes.map((route) => ({ ...route, fn: 'inbox' })),
      { method: 'POST', path: '/v1/decisions', fn: 'intents-decide' },
    ];
    expect(routes.map((r) => `${r.method} ${r.path}`)).toEqual(
      expect.arrayContaining([
        'GET /inbox',
        'POST /inbox/sign-in',
        'GET /inbox/sign-in/{token}',
        'HEAD /inbox/sign-in/{token}',
        'POST /inbox/sign-in/{token}',
        'POST /inbox/sign-out',
        'GET /inbox/intents/{id}',
        'POST /inbox/intents/{id}',
        'POST /inbox/bulk',
        'POST /inbox/bulk/decide',
      ]),
    );
    for (const route of routes) {
      template.hasResourceProperties('AWS::ApiGateway::Method', {
        HttpMethod: route.method,
        ResourceId: { Ref: resourceOf(route.path) },
        Integration: Match.objectLike({
          Type: 'AWS_PROXY',
          Uri: Match.objectLike({
            'Fn::Join': Match.arrayWith([
              Match.arrayWith([{ 'Fn::GetAtt': [functionId(route.fn), 'Arn'] }]),
            ]),
          }),
        }),
      });
    }
    // The inbox sends its sign-in emails from the configured address and builds links from the
    // public URL; it needs no link-signing secret and no API key of its own.
    const inbox = template.findResources('AWS::Lambda::Function')[functionId('inbox') ?? ''];
    const variables = Object.keys(inbox?.Properties.Environment.Variables ?? {});
    expect(variables).toEqual(
      expect.arrayContaining(['TABLE_NAME', 'EMAIL_FROM', 'PUBLIC_BASE_URL', 'SIGNING_KEY_ARN']),
    );
    expect(variables).not.toContain('LINK_SIGNING_SECRET_ARN');
    expect(variables).not.toContain('BOOTSTRAP_ADMIN_KEY_ARN');
    expect(inbox?.Properties.Timeout).toBe(29);
    const statements = statementsByFunction().get('inbox') ?? [];
    expect(
      statements.some(
        (s) =>
          s.Effect === 'Allow' &&
          actionsOf(s).includes('ses:SendEmail') &&
          JSON.stringify(s.Condition).includes('approvals@company.com'),
      ),
    ).toBe(true);
  });

  it('the local stack runs exactly this definition', () => {
    const local = loadLocalDefinition(
      template.toJSON() as Parameters<typeof loadLocalDefinition>[0],
    );
    expect(Object.keys((local.definition as { States: object }).States).sort()).toEqual([
      'AwaitDecision',
      'CallbackWanted',
      'DeliverCallback',
      'Done',
      'HoldReminders',
      'NotifyDecided',
      'PlanStage',
      'Route',
    ]);
  });
});

describe('Countersign props', () => {
  it('fails when a default policy is invalid, naming the intent type and the field', () => {
    const app = new App({ context: NO_BUNDLING });
    expect(
      () =>
        new CountersignStack(app, 'Bad', {
          defaultPolicies: { 'intent.expense.v1': { timeout: { after: 'soon' } } },
        }),
    ).toThrow(/defaultPolicies has an invalid policy: intent\.expense\.v1\.timeout\.after/);
  });
});

describe('ApprovalWorkflow states', () => {
  it('pauses on a callback task whose timeout comes from the plan and loops back on timeout', () => {
    // GIVEN
    const stack = new Stack(new App({ context: NO_BUNDLING }), 'Test');
    const fn = (id: string) =>
      LambdaFunction.fromFunctionArn(
        stack,
        id,
        `arn:aws:lambda:us-east-1:111111111111:function:${id}`,
      );
    // WHEN
    const workflow = new ApprovalWorkflow(stack, 'Workflow', {
      planStageFunction: fn('plan'),
      stageTaskFunction: fn('stage'),
      notifyDecidedFunction: fn('notify'),
      deliverCallbackFunction: fn('deliver'),
    });
    const definition = Template.fromStack(stack).findResources('AWS::StepFunctions::StateMachine');
    const [machine] = Object.values(definition);
    const body = stack.resolve(machine?.Properties.DefinitionString) as {
      'Fn::Join': [string, unknown[]];
    };
    const states = JSON.parse(
      body['Fn::Join'][1].map((part) => (typeof part === 'string' ? part : 'ARN')).join(''),
    ).States;
    // THEN
    expect(states.AwaitDecision).toMatchObject({
      Type: 'Task',
      Resource: 'arn:ARN:states:::lambda:invoke.waitForTaskToken',
      TimeoutSecondsPath: '$.next.timeout_seconds',
      Parameters: {
        Payload: {
          'intent_id.$': '$.intent_id',
          'stage.$': '$.next.stage',
          'step.$': '$.next.step',
          'task_token.$': '$$.Task.Token',
        },
      },
      Catch: [{ ErrorEquals: ['States.Timeout'], Next: 'PlanStage', ResultPath: null }],
      Next: 'PlanStage',
    });
    expect(states.AwaitDecision).not.toHaveProperty('HeartbeatSeconds');
    // PlanStage is told which execution asks: one superseded during its hold stops.
    expect(states.PlanStage.Parameters.Payload).toEqual({
      'intent_id.$': '$.intent_id',
      'execution.$': '$$.Execution.Name',
    });
    expect(states.Route.Choices).toEqual([
      { Variable: '$.next.action', StringEquals: 'await', Next: 'AwaitDecision' },
      { Variable: '$.next.action', StringEquals: 'hold', Next: 'HoldReminders' },
      { Variable: '$.next.action', StringEquals: 'stop', Next: 'Done' },
    ]);
    // Reminders held for working hours: a Wait until the planned timestamp, then plan again.
    expect(states.HoldReminders).toEqual({
      Type: 'Wait',
      TimestampPath: '$.next.hold_until',
      Next: 'PlanStage',
    });
    // Every final intent tells its reviewers first, then calls back if it has a callback_url;
    // a notice that cannot be sent (its retries exhausted) still goes on to the callback.
    expect(states.Route.Default).toBe('NotifyDecided');
    expect(states.NotifyDecided).toMatchObject({
      Type: 'Task',
      Parameters: {
        Payload: { 'intent_id.$': '$.intent_id', 'attempt.$': '$$.State.RetryCount' },
      },
      ResultPath: null,
      TimeoutSeconds: 60,
      Catch: [{ ErrorEquals: ['States.ALL'], Next: 'CallbackWanted', ResultPath: null }],
      Next: 'CallbackWanted',
    });
    // One retrier: the attempt number the handler gets is RetryCount, which must count only it.
    expect(states.NotifyDecided.Retry).toEqual([
      {
        ErrorEquals: ['States.TaskFailed', 'States.Timeout'],
        IntervalSeconds: DECIDED_NOTICE_RETRY.intervalSeconds,
        MaxAttempts: DECIDED_NOTICE_RETRY.attempts - 1,
        BackoffRate: DECIDED_NOTICE_RETRY.backoffRate,
      },
    ]);
    expect(states.CallbackWanted.Choices).toEqual([
      { Variable: '$.next.callback', BooleanEquals: true, Next: 'DeliverCallback' },
    ]);
    expect(states.CallbackWanted.Default).toBe('Done');
    // The callback's backoff is the task's Retry (durable); its Catch ends the execution anyway.
    expect(states.DeliverCallback).toMatchObject({
      Type: 'Task',
      Parameters: {
        Payload: { 'intent_id.$': '$.intent_id', 'retry_count.$': '$$.State.RetryCount' },
      },
      ResultPath: null,
      Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Done', ResultPath: null }],
      Next: 'Done',
    });
    expect(states.DeliverCallback.Retry).toEqual([
      {
        ErrorEquals: ['States.TaskFailed', 'States.Timeout'],
        IntervalSeconds: CALLBACK_RETRY.intervalSeconds,
        MaxAttempts: CALLBACK_RETRY.maxRetries,
        BackoffRate: CALLBACK_RETRY.backoffRate,
        MaxDelaySeconds: CALLBACK_RETRY.maxDelaySeconds,
      },
    ]);
    expect(workflow.stateMachineName).toMatch(/^Test-Workflow-/);
  });
});
