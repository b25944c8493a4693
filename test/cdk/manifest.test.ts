/**
 * The function manifest (`lambdas/functions.ts`) is what the construct deploys: each function
 * gets the settings its needs name and no other, a required setting without a value stops the
 * synthesis, the function keeps its logical id inside the composed construct, and grants come
 * back as `iam.Grant`.
 */
import { readFileSync } from 'node:fs';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { describe, expect, it } from 'vitest';
import {
  FUNCTION_ENTRIES,
  FUNCTIONS,
  type FunctionSpec,
  missingSettings,
  settingsOf,
} from '../../lambdas/functions';
import { SETTINGS, type SettingKey } from '../../lambdas/shared/config';
import { Countersign, type CountersignProps } from '../../lib/countersign';

const NO_BUNDLING = { 'aws:cdk:bundling-stacks': [] };

function synthesize(props: (stack: Stack) => CountersignProps = () => ({})) {
  const app = new App({ context: NO_BUNDLING });
  const stack = new Stack(app, 'S', { env: { account: '111111111111', region: 'eu-west-1' } });
  const countersign = new Countersign(stack, 'Approvals', props(stack));
  return { stack, countersign, template: Template.fromStack(stack) };
}

/** Function id → the names of the variables it is given. */
function environments(template: Template): Map<string, string[]> {
  const functions = template.findResources('AWS::Lambda::Function') as Record<
    string,
    { Metadata?: Record<string, unknown>; Properties: { Environment?: { Variables?: object } } }
  >;
  const result = new Map<string, string[]>();
  for (const fn of Object.values(functions)) {
    const id = fn.Metadata?.['countersign:function'];
    if (typeof id !== 'string') continue;
    const names = Object.keys(fn.Properties.Environment?.Variables ?? {}).filter(
      (name) => name !== 'NODE_OPTIONS',
    );
    result.set(id, names.sort());
  }
  return result;
}

/** A secret is given as `<NAME>_ARN`, read from Secrets Manager at run time. */
const namesOf = (keys: SettingKey[]) =>
  keys.map((key) => {
    const setting: { name: string; secret?: true } = SETTINGS[key];
    return setting.secret ? `${setting.name}_ARN` : setting.name;
  });
const inAws = (key: SettingKey) => ['aws', 'both'].includes(SETTINGS[key].where);

describe('The function manifest', () => {
  it('gives each function exactly the settings its needs name, all of them when configured', () => {
    const { template } = synthesize((stack) => ({
      emailFrom: 'approvals@company.com',
      allowedReviewerDomains: ['company.com'],
      slackBotToken: new Secret(stack, 'Bot'),
      slackSigningSecret: new Secret(stack, 'Signing'),
    }));
    const given = environments(template);
    expect([...given.keys()].sort()).toEqual(FUNCTION_ENTRIES.map(([, spec]) => spec.id).sort());
    for (const [, spec] of FUNCTION_ENTRIES) {
      // Everything AWS sets for this function, except the SES configuration set (not given here).
      const expected = namesOf(
        settingsOf(spec).filter((key) => inAws(key) && key !== 'emailConfigurationSet'),
      ).sort();
      expect({ id: spec.id, names: given.get(spec.id) }).toEqual({ id: spec.id, names: expected });
    }
    // Spot checks of what the needs mean: only the Slack functions hold the Slack secrets.
    const holders = (name: string) =>
      [...given].filter(([, names]) => names.includes(name)).map(([id]) => id);
    expect(holders('SLACK_SIGNING_SECRET_ARN')).toEqual(['slack-interactions']);
    expect(holders('SLACK_BOT_TOKEN_ARN').sort()).toEqual([
      'notify-decided',
      'slack-interactions',
      'stage-task',
    ]);
    expect(holders('WAIT_SOCKET_URL')).toEqual(['intents-read']);
    // The inbox saves profiles (an out-of-office delegate) and must check their domains too.
    expect(holders('ALLOWED_REVIEWER_DOMAINS').sort()).toEqual([
      'admin',
      'inbox',
      'intents-write',
      'mcp',
    ]);
  });

  it('leaves optional settings unset when the deployment does not configure them', () => {
    const given = environments(synthesize(() => ({ bootstrapAdminKey: false })).template);
    for (const names of given.values()) {
      expect(names).not.toContain('SLACK_BOT_TOKEN_ARN');
      expect(names).not.toContain('BOOTSTRAP_ADMIN_KEY_ARN');
      expect(names).not.toContain('ALLOWED_REVIEWER_DOMAINS');
    }
    expect(given.get('intents-wait')).toContain('WAIT_POLL_MS');
  });

  it('refuses to synthesize when a function needs a setting the construct does not set', () => {
    // As if a need had gained a setting that nobody gives a value in AWS.
    const setting = SETTINGS.readinessStateMachineArn as { where: string };
    setting.where = 'both';
    try {
      expect(() => synthesize()).toThrow(
        'Countersign: settings without a value: health: READINESS_STATE_MACHINE_ARN',
      );
    } finally {
      setting.where = 'local';
    }
    expect(() => synthesize()).not.toThrow();
  });

  it('refuses an empty required setting, which the handlers would read as unset', () => {
    expect(() => synthesize(() => ({ emailFrom: '' }))).toThrow(
      /settings without a value: .*stage-task: EMAIL_FROM/,
    );
  });

  it('never gives a secret setting as a plain value', () => {
    const spec = FUNCTIONS.review as { settings?: Partial<Record<SettingKey, string>> };
    spec.settings = { linkSigningSecret: 'plain text' };
    try {
      expect(() => synthesize()).toThrow('Countersign: LINK_SIGNING_SECRET must be a secret');
    } finally {
      delete spec.settings;
    }
  });

  it('lists the required settings a runtime lacks, by function', () => {
    const spec: FunctionSpec = {
      id: 'mailer',
      entry: 'x.ts',
      description: 'x',
      routes: [],
      timeoutSeconds: 1,
      table: 'read',
      needs: ['sendsEmail', 'signs'],
    };
    const given = new Set<SettingKey>(['tableName', 'emailFrom']);
    expect(missingSettings([spec], (_spec, key) => given.has(key), 'aws')).toEqual([
      'mailer: PUBLIC_BASE_URL',
      'mailer: SIGNING_KEY_ARN',
    ]);
    // Locally the key is a file; the configuration set and the SES region stay optional.
    expect(missingSettings([spec], (_spec, key) => given.has(key), 'local')).toEqual([
      'mailer: PUBLIC_BASE_URL',
      'mailer: SIGNING_KEY_FILE',
    ]);
  });

  it('keeps the function logical ids the subclassing construct had', () => {
    const { stack, countersign } = synthesize();
    for (const [key, spec] of FUNCTION_ENTRIES) {
      const logicalId = stack.getLogicalId(
        countersign.functions[key].lambda.node.defaultChild as never,
      );
      expect(logicalId).toMatch(new RegExp(`^Approvals${spec.id.replaceAll('-', '')}[0-9A-F]{8}$`));
    }
    expect(stack.getLogicalId(countersign.functions.health.lambda.node.defaultChild as never)).toBe(
      'Approvalshealth795AD313',
    );
    expect(FUNCTIONS.health.id).toBe('health');
  });

  it('returns grants as iam.Grant', () => {
    const { stack, countersign } = synthesize();
    const agent = new Role(stack, 'Agent', {
      assumedBy: new ServicePrincipal('ec2.amazonaws.com'),
    });
    const grant = countersign.grantStartExecution(agent);
    expect(grant.success).toBe(true);
    expect(grant.principalStatements.flatMap((statement) => statement.actions)).toEqual([
      'states:StartExecution',
    ]);
  });

  it('types the default policies as the admin API takes them', () => {
    const typed: CountersignProps = {
      defaultPolicies: { 'intent.payment.*': { required_approvals: 2, reviewers: ['a@b.com'] } },
    };
    // @ts-expect-error: not a timeout action (a type error at `cdk synth`'s compile, not a deploy).
    const wrong: CountersignProps = { defaultPolicies: { '*': { timeout: { action: 'maybe' } } } };
    expect(() => synthesize(() => typed)).not.toThrow();
    expect(() => synthesize(() => wrong)).toThrow(/timeout/);
  });

  it("is the table of docs/deploy.md's Permissions section", () => {
    const cells = (line: string) =>
      line
        .split('|')
        .slice(1, -1)
        .map((cell) => cell.trim());
    const documented = readFileSync('docs/deploy.md', 'utf8')
      .split('\n')
      .filter((line) => /^\| `[a-z-]+` +\|/.test(line))
      .map(cells);
    const manifest = FUNCTION_ENTRIES.map(([, spec]) => [
      `\`${spec.id}\``,
      spec.table === undefined
        ? '—'
        : typeof spec.table === 'string'
          ? spec.table
          : `write ${spec.table.write.map((prefix) => `\`${prefix}\``).join(' ')}`,
      spec.needs.length > 0 ? spec.needs.join(', ') : '—',
    ]);
    expect(documented).toEqual(manifest);
  });
});
