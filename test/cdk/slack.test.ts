import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { afterAll, describe, expect, it } from 'vitest';
import { CountersignStack } from '../../lib/countersign-stack';

/** Asset bundling is skipped: these tests read the template, they do not deploy it. */
const NO_BUNDLING = { 'aws:cdk:bundling-stacks': [] };
const BOT_TOKEN_ARN =
  'arn:aws:secretsmanager:eu-west-1:111111111111:secret:countersign/slack-bot-token-AbCdEf';
const SIGNING_ARN =
  'arn:aws:secretsmanager:eu-west-1:111111111111:secret:countersign/slack-signing-secret-GhIjKl';

const outdirs: string[] = [];
afterAll(() => {
  for (const dir of outdirs) rmSync(dir, { recursive: true, force: true });
});

function synth(withSlack: boolean): Template {
  const outdir = mkdtempSync(path.join(tmpdir(), 'countersign-cdk-slack-'));
  outdirs.push(outdir);
  const app = new App({ outdir, context: NO_BUNDLING });
  // The secrets exist already: the operator stored them from the Slack app's settings.
  const existing = new Stack(app, 'Existing');
  const stack = new CountersignStack(app, 'Countersign', {
    env: { account: '111111111111', region: 'eu-west-1' },
    emailFrom: 'approvals@company.com',
    ...(withSlack
      ? {
          slackBotToken: Secret.fromSecretCompleteArn(existing, 'Bot', BOT_TOKEN_ARN),
          slackSigningSecret: Secret.fromSecretCompleteArn(existing, 'Signing', SIGNING_ARN),
        }
      : {}),
  });
  return Template.fromStack(stack);
}

type Resource = { Metadata?: Record<string, unknown>; Properties: Record<string, unknown> };

function functionEnv(template: Template, id: string): Record<string, unknown> {
  const fn = Object.values(
    template.findResources('AWS::Lambda::Function') as Record<string, Resource>,
  ).find((resource) => resource.Metadata?.['countersign:function'] === id);
  return ((fn?.Properties.Environment as { Variables?: Record<string, unknown> } | undefined)
    ?.Variables ?? {}) as Record<string, unknown>;
}

/** Role logical ids (function construct ids) whose policies mention `text`. */
function rolesReading(template: Template, text: string): string[] {
  return Object.entries(template.findResources('AWS::IAM::Policy') as Record<string, Resource>)
    .filter(([, policy]) => JSON.stringify(policy.Properties.PolicyDocument).includes(text))
    .map(([id]) => id.replace(/(ServiceRole|Role)?DefaultPolicy.*$/, ''))
    .sort();
}

describe('Countersign with Slack', () => {
  const template = synth(true);

  it('routes POST /slack/interactions to its own function', () => {
    template.hasResourceProperties('AWS::ApiGateway::Resource', { PathPart: 'interactions' });
    template.hasResourceProperties('AWS::ApiGateway::Method', { HttpMethod: 'POST' });
    expect(functionEnv(template, 'slack-interactions')).toMatchObject({
      SLACK_BOT_TOKEN_ARN: BOT_TOKEN_ARN,
      SLACK_SIGNING_SECRET_ARN: SIGNING_ARN,
    });
  });

  it('gives the bot token to the three functions that call Slack, the signing secret to one', () => {
    for (const sender of ['stage-task', 'notify-decided']) {
      expect(functionEnv(template, sender)).toMatchObject({ SLACK_BOT_TOKEN_ARN: BOT_TOKEN_ARN });
      expect(functionEnv(template, sender).SLACK_SIGNING_SECRET_ARN).toBeUndefined();
    }
    expect(rolesReading(template, 'slack-bot-token')).toEqual([
      'Countersignnotifydecided',
      'Countersignslackinteractions',
      'Countersignstagetask',
    ]);
    expect(rolesReading(template, 'slack-signing-secret')).toEqual([
      'Countersignslackinteractions',
    ]);
    // Never the values: only ARNs are in the template.
    expect(JSON.stringify(template.toJSON())).not.toMatch(/xoxb-|SLACK_BOT_TOKEN"\s*:/);
  });

  it('turns the slack channel on for new intents', () => {
    expect(functionEnv(template, 'intents-write').NOTIFICATION_CHANNELS).toBe('email,slack');
  });
});

describe('Countersign without Slack', () => {
  it('notifies by email only and hands no Slack secret to anyone', () => {
    const template = synth(false);
    expect(functionEnv(template, 'intents-write').NOTIFICATION_CHANNELS).toBe('email');
    expect(JSON.stringify(template.toJSON())).not.toContain('SLACK_');
  });

  it('fails when only one of the two Slack secrets is given', () => {
    const app = new App({ context: NO_BUNDLING });
    const existing = new Stack(app, 'Existing');
    expect(
      () =>
        new CountersignStack(app, 'Half', {
          env: { account: '111111111111', region: 'eu-west-1' },
          slackBotToken: Secret.fromSecretCompleteArn(existing, 'Bot', BOT_TOKEN_ARN),
        }),
    ).toThrow(/slackBotToken and slackSigningSecret go together/);
  });
});
