import { App, RemovalPolicy } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { describe, expect, it } from 'vitest';
import { settingsFromContext } from '../../lib/countersign-stack';

const node = (context: Record<string, unknown>) => new App({ context }).node;

describe('settingsFromContext (bin/countersign.ts)', () => {
  it('reads every setting from CDK context, typed', () => {
    const settings = settingsFromContext(
      node({
        emailFrom: 'approvals@company.com',
        emailConfigurationSet: 'mail',
        slackBotTokenSecretArn: 'arn:aws:secretsmanager:eu-west-1:1:secret:bot-AbCdEf',
        slackSigningSecretArn: 'arn:aws:secretsmanager:eu-west-1:1:secret:sign-AbCdEf',
        alarmTopicArn: 'arn:aws:sns:eu-west-1:1:ops',
        publicBaseUrl: 'https://approvals.company.com',
        allowedReviewerDomains: 'company.com, partner.com',
        defaultPolicies: '{"*":{"timeout":{"after":"1d","action":"reject"}}}',
        logRetentionDays: '90',
        throttlingRateLimit: '20',
        throttlingBurstLimit: '40',
        bootstrapAdminKey: 'false',
        tableRemovalPolicy: 'destroy',
        reconcileIntervalMinutes: '5',
        waitConcurrency: '80',
        webAclRateLimit: '500',
      }),
      {},
    );
    expect(settings.reconcileInterval?.toMinutes()).toBe(5);
    expect({ ...settings, reconcileInterval: undefined }).toEqual({
      reconcileInterval: undefined,
      emailFrom: 'approvals@company.com',
      emailConfigurationSetName: 'mail',
      slackBotTokenSecretArn: 'arn:aws:secretsmanager:eu-west-1:1:secret:bot-AbCdEf',
      slackSigningSecretArn: 'arn:aws:secretsmanager:eu-west-1:1:secret:sign-AbCdEf',
      alarmTopicArn: 'arn:aws:sns:eu-west-1:1:ops',
      publicBaseUrl: 'https://approvals.company.com',
      allowedReviewerDomains: ['company.com', 'partner.com'],
      defaultPolicies: { '*': { timeout: { after: '1d', action: 'reject' } } },
      logRetention: RetentionDays.THREE_MONTHS,
      throttlingRateLimit: 20,
      throttlingBurstLimit: 40,
      waitConcurrency: 80,
      webAcl: { rateLimitPerFiveMinutes: 500 },
      bootstrapAdminKey: false,
      tableRemovalPolicy: RemovalPolicy.DESTROY,
    });
  });

  it('falls back to COUNTERSIGN_* environment variables; context wins', () => {
    const settings = settingsFromContext(node({ emailFrom: 'from-context@company.com' }), {
      COUNTERSIGN_EMAIL_FROM: 'from-env@company.com',
      COUNTERSIGN_ALARM_TOPIC_ARN: 'arn:aws:sns:eu-west-1:1:ops',
    });
    expect(settings).toEqual({
      emailFrom: 'from-context@company.com',
      alarmTopicArn: 'arn:aws:sns:eu-west-1:1:ops',
    });
  });

  it('accepts lists and objects from cdk.json as they are', () => {
    const settings = settingsFromContext(
      node({
        allowedReviewerDomains: ['company.com', 'partner.com'],
        defaultPolicies: { '*': { remind_after: ['1h'] } },
        logRetentionDays: 30,
        bootstrapAdminKey: true,
      }),
      {},
    );
    expect(settings).toEqual({
      allowedReviewerDomains: ['company.com', 'partner.com'],
      defaultPolicies: { '*': { remind_after: ['1h'] } },
      logRetention: RetentionDays.ONE_MONTH,
      bootstrapAdminKey: true,
    });
  });

  it('leaves out what is not set, so the construct defaults apply', () => {
    expect(settingsFromContext(node({}), {})).toEqual({});
  });

  it('fails on malformed values, naming the setting and the value', () => {
    expect(() => settingsFromContext(node({ logRetentionDays: '45' }), {})).toThrow(
      /logRetentionDays must be one of CloudWatch's retention periods.*got 45/,
    );
    expect(() => settingsFromContext(node({ throttlingRateLimit: 'fast' }), {})).toThrow(
      /throttlingRateLimit must be a positive number, got "fast"/,
    );
    expect(() => settingsFromContext(node({ defaultPolicies: '{nope' }), {})).toThrow(
      /defaultPolicies must be JSON/,
    );
    expect(() => settingsFromContext(node({ bootstrapAdminKey: 'yes' }), {})).toThrow(
      /bootstrapAdminKey must be true or false/,
    );
    expect(() => settingsFromContext(node({ tableRemovalPolicy: 'snapshot' }), {})).toThrow(
      /tableRemovalPolicy must be retain or destroy/,
    );
  });
});
