/**
 * Protection in the template: the long poll in a function of its own with reserved concurrency
 * (a prop), its method throttled within that reservation; separate per-method throttles for
 * anonymous routes, agents, reviewers' decisions and Slack (a prop); 429 with Retry-After from
 * API Gateway; an optional WAF web ACL with a rate-based rule; alarms on Lambda throttling and on
 * a flood of 4xx.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { afterAll, describe, expect, it } from 'vitest';
import { FUNCTIONS } from '../../lambdas/functions';
import { CountersignStack, type CountersignStackProps } from '../../lib/countersign-stack';

type Resource = { Properties: Record<string, unknown>; Metadata?: Record<string, unknown> };
const outdirs: string[] = [];
afterAll(() => {
  for (const dir of outdirs) rmSync(dir, { recursive: true, force: true });
});

function synth(props: Partial<CountersignStackProps> = {}): Template {
  const outdir = mkdtempSync(path.join(tmpdir(), 'countersign-protection-'));
  outdirs.push(outdir);
  const app = new App({ outdir, context: { 'aws:cdk:bundling-stacks': [] } });
  return Template.fromStack(
    new CountersignStack(app, 'Countersign', {
      env: { account: '111111111111', region: 'eu-west-1' },
      emailFrom: 'approvals@company.com',
      ...props,
    }),
  );
}

const fn = (template: Template, id: string) =>
  Object.values(template.findResources('AWS::Lambda::Function') as Record<string, Resource>).find(
    (resource) => resource.Metadata?.['countersign:function'] === id,
  );

/** `<path>/<METHOD>` → [rate, burst] of the REST stage's method settings. */
function methodThrottles(template: Template): Record<string, [unknown, unknown]> {
  const [stage] = Object.values(
    template.findResources('AWS::ApiGateway::Stage') as Record<string, Resource>,
  );
  const settings = (stage?.Properties.MethodSettings ?? []) as Record<string, unknown>[];
  return Object.fromEntries(
    settings
      .filter((setting) => setting.ThrottlingRateLimit !== undefined)
      .map((setting) => [
        `${String(setting.ResourcePath).slice(1).replace(/~1/g, '/')}/${setting.HttpMethod}`,
        [setting.ThrottlingRateLimit, setting.ThrottlingBurstLimit],
      ]),
  );
}

describe('protection by default', () => {
  const template = synth();

  it('runs the long poll alone, with reserved concurrency, throttled to stay within it', () => {
    expect(FUNCTIONS.intentsWait.routes).toEqual([
      { method: 'GET', path: '/v1/intents/{id}/wait' },
    ]);
    expect(FUNCTIONS.intentsRead.routes.map((route) => route.path)).not.toContain(
      '/v1/intents/{id}/wait',
    );
    expect(fn(template, 'intents-wait')?.Properties.ReservedConcurrentExecutions).toBe(50);
    expect(fn(template, 'intents-read')?.Properties.ReservedConcurrentExecutions).toBeUndefined();
    // 50 concurrent polls of up to 25 s each: 2 new polls a second, a burst of 25.
    expect(methodThrottles(template)['/v1/intents/{id}/wait/GET']).toEqual([2, 25]);
  });

  it('throttles anonymous, agent, reviewer and Slack traffic apart; the admin API by the stage', () => {
    const throttles = methodThrottles(template);
    expect(throttles).toMatchObject({
      '/healthz/GET': [10, 20],
      '/.well-known/jwks.json/GET': [10, 20],
      '/v1/openapi.json/GET': [10, 20],
      '/review/{token}/POST': [10, 20],
      '/v1/intents/POST': [50, 100],
      '/v1/intents/{id}/GET': [50, 100],
      '/v1/intents/{id}/cancel/POST': [50, 100],
      '/mcp/POST': [50, 100],
      '/v1/intents/{id}/decision/POST': [20, 40],
      '/inbox/bulk/decide/POST': [20, 40],
      '/slack/interactions/POST': [20, 40],
    });
    expect(throttles['/v1/keys/POST']).toBeUndefined();
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      MethodSettings: Match.arrayWith([
        Match.objectLike({ ResourcePath: '/*', HttpMethod: '*', ThrottlingRateLimit: 50 }),
      ]),
    });
  });

  it('answers a throttled request 429 with Retry-After, in the contract shape', () => {
    template.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
      ResponseType: 'THROTTLED',
      StatusCode: '429',
      ResponseParameters: { 'gatewayresponse.header.Retry-After': "'1'" },
    });
  });

  it('alarms on Lambda throttling any function, and on a flood of 4xx', () => {
    const alarms = Object.values(
      template.findResources('AWS::CloudWatch::Alarm') as Record<string, Resource>,
    );
    const throttled = alarms.filter((alarm) => JSON.stringify(alarm).includes('"Throttles"'));
    const functionsWatched = throttled.flatMap((alarm) =>
      (alarm.Properties.Metrics as { MetricStat?: { Metric: { MetricName: string } } }[]).filter(
        (metric) => metric.MetricStat?.Metric.MetricName === 'Throttles',
      ),
    );
    expect(functionsWatched).toHaveLength(Object.keys(FUNCTIONS).length);
    expect(
      alarms.some(
        (alarm) => alarm.Properties.MetricName === '4XXError' && alarm.Properties.Threshold === 500,
      ),
    ).toBe(true);
  });

  it('has no web ACL unless asked for', () => {
    template.resourceCountIs('AWS::WAFv2::WebACL', 0);
  });
});

describe('protection as configured', () => {
  const template = synth({
    waitConcurrency: 200,
    routeThrottling: {
      slack: { rateLimit: 5, burstLimit: 7 },
      anonymous: { rateLimit: 1, burstLimit: 2 },
    },
    webAcl: { rateLimitPerFiveMinutes: 300 },
  });

  it('reserves and throttles what the props say', () => {
    expect(fn(template, 'intents-wait')?.Properties.ReservedConcurrentExecutions).toBe(200);
    expect(methodThrottles(template)).toMatchObject({
      '/v1/intents/{id}/wait/GET': [8, 100],
      '/slack/interactions/POST': [5, 7],
      '/healthz/GET': [1, 2],
      '/v1/intents/POST': [50, 100],
    });
  });

  it('puts a WAF web ACL on the stage, blocking an address past the rate with 429', () => {
    template.hasResourceProperties('AWS::WAFv2::WebACL', {
      Scope: 'REGIONAL',
      DefaultAction: { Allow: {} },
      Rules: [
        Match.objectLike({
          Statement: { RateBasedStatement: { Limit: 300, AggregateKeyType: 'IP' } },
          Action: {
            Block: {
              CustomResponse: Match.objectLike({
                ResponseCode: 429,
                ResponseHeaders: [{ Name: 'Retry-After', Value: '60' }],
              }),
            },
          },
        }),
      ],
    });
    template.hasResourceProperties('AWS::WAFv2::WebACLAssociation', {
      ResourceArn: Match.objectLike({
        'Fn::Join': Match.arrayWith([Match.arrayWith([':apigateway:eu-west-1::/restapis/'])]),
      }),
    });
  });
});
