/**
 * The wait channel in the template: a WebSocket API routed on `action` to the wait-socket
 * function (answering on the route's response), throttled, with access logs; the table's stream
 * with both images, feeding the wait-push function through a filter that passes only an
 * intent's META item leaving `pending`; the push may manage this API's connections only; the
 * read function names the channel to clients.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CountersignStack } from '../../lib/countersign-stack';

type Resource = { Properties: Record<string, unknown>; Metadata?: Record<string, unknown> };

describe('the wait channel', () => {
  let outdir: string;
  let template: Template;
  const logicalIdOf = (functionId: string) =>
    Object.entries(
      template.findResources('AWS::Lambda::Function') as Record<string, Resource>,
    ).find(([, fn]) => fn.Metadata?.['countersign:function'] === functionId)?.[0] ?? 'missing';

  beforeAll(() => {
    outdir = mkdtempSync(path.join(tmpdir(), 'countersign-wait-'));
    const app = new App({ outdir, context: { 'aws:cdk:bundling-stacks': [] } });
    template = Template.fromStack(
      new CountersignStack(app, 'Countersign', {
        env: { account: '111111111111', region: 'eu-west-1' },
        emailFrom: 'approvals@company.com',
        throttlingRateLimit: 20,
        throttlingBurstLimit: 40,
      }),
    );
  });
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  it('routes subscribe, ping and anything else to the wait-socket function, answering on the route', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      ProtocolType: 'WEBSOCKET',
      RouteSelectionExpression: '$request.body.action',
    });
    const routes = Object.values(
      template.findResources('AWS::ApiGatewayV2::Route') as Record<string, Resource>,
    );
    expect(routes.map((route) => route.Properties.RouteKey).sort()).toEqual([
      '$default',
      'ping',
      'subscribe',
    ]);
    for (const route of routes)
      expect(route.Properties.RouteResponseSelectionExpression).toBe('$default');
    template.resourceCountIs('AWS::ApiGatewayV2::RouteResponse', 3);
    template.hasResourceProperties('AWS::ApiGatewayV2::Integration', {
      IntegrationType: 'AWS_PROXY',
      IntegrationUri: Match.objectLike({
        'Fn::Join': Match.arrayWith([
          Match.arrayWith([{ 'Fn::GetAtt': [logicalIdOf('wait-socket'), 'Arn'] }]),
        ]),
      }),
    });
  });

  it('throttles the channel like the REST API and logs its access', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: 'v1',
      AutoDeploy: true,
      DefaultRouteSettings: Match.objectLike({ ThrottlingRateLimit: 20, ThrottlingBurstLimit: 40 }),
      AccessLogSettings: Match.objectLike({ Format: Match.stringLikeRegexp('connectionId') }),
    });
  });

  it("pushes from the table's stream, filtered to an intent leaving pending", () => {
    template.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' },
    });
    const mappings = Object.values(
      template.findResources('AWS::Lambda::EventSourceMapping') as Record<string, Resource>,
    );
    expect(mappings).toHaveLength(1);
    const mapping = mappings[0]?.Properties ?? {};
    expect(mapping.FunctionName).toEqual({ Ref: logicalIdOf('wait-push') });
    expect(mapping.BisectBatchOnFunctionError).toBe(true);
    expect(mapping.MaximumRetryAttempts).toBe(3);
    const filters = (mapping.FilterCriteria as { Filters: { Pattern: string }[] }).Filters;
    expect(filters.map((filter) => JSON.parse(filter.Pattern))).toEqual([
      {
        eventName: ['MODIFY'],
        dynamodb: {
          NewImage: { sk: { S: ['META'] }, status: { S: [{ 'anything-but': ['pending'] }] } },
          OldImage: { status: { S: ['pending'] } },
        },
      },
    ]);
  });

  it("lets only the push manage the channel's connections, and tells it and the clients where", () => {
    const policies = Object.values(
      template.findResources('AWS::IAM::Policy') as Record<string, Resource>,
    );
    const managers = policies.filter((policy) =>
      JSON.stringify(policy).includes('execute-api:ManageConnections'),
    );
    expect(managers).toHaveLength(1);
    const pushRole = (
      template.findResources('AWS::Lambda::Function')[logicalIdOf('wait-push')] as Resource
    ).Properties.Role as { 'Fn::GetAtt': [string] };
    expect(JSON.stringify(managers[0]?.Properties.Roles)).toContain(pushRole['Fn::GetAtt'][0]);
    const env = (id: string) =>
      (
        (template.findResources('AWS::Lambda::Function')[logicalIdOf(id)] as Resource).Properties
          .Environment as {
          Variables: Record<string, unknown>;
        }
      ).Variables;
    expect(JSON.stringify(env('wait-push').WAIT_SOCKET_ENDPOINT)).toMatch(
      /https:\/\/.*execute-api.*\/v1/,
    );
    expect(JSON.stringify(env('intents-read').WAIT_SOCKET_URL)).toMatch(/wss:\/\//);
    for (const id of ['intents-write', 'intents-decide', 'mcp', 'admin']) {
      expect(env(id).WAIT_SOCKET_URL).toBeUndefined();
    }
  });
});
