/**
 * Every function, run with exactly the environment the construct gives it, gets past its own
 * configuration. A handler that reads a variable its deployment does not set fails on every
 * invocation in AWS while every local and unit test passes (they set everything): PlanStage
 * once built the mail sender's dependencies, which only the stage task is given. Here each
 * handler is imported afresh with its synthesized environment only and invoked once, with the
 * AWS calls answered by mocks.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { GetPublicKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import {
  BatchGetCommand,
  DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { hashApiKey } from '../../lambdas/core/auth';
import { FUNCTIONS, type FunctionKey } from '../../lambdas/functions';
import { CountersignStack } from '../../lib/countersign-stack';
import { apiEvent, KEYS } from '../handlers/helpers';

const NO_BUNDLING = { 'aws:cdk:bundling-stacks': [] };
const outdir = mkdtempSync(path.join(tmpdir(), 'countersign-cdk-env-'));
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

function synthesizedEnvironments(): Map<string, Record<string, string>> {
  const app = new App({ outdir, context: NO_BUNDLING });
  const existing = new Stack(app, 'Existing');
  const arn = (name: string) =>
    `arn:aws:secretsmanager:eu-west-1:111111111111:secret:countersign/${name}-AbCdEf`;
  const stack = new CountersignStack(app, 'Countersign', {
    env: { account: '111111111111', region: 'eu-west-1' },
    emailFrom: 'approvals@company.com',
    allowedReviewerDomains: ['company.com'],
    slackBotToken: Secret.fromSecretCompleteArn(existing, 'Bot', arn('slack-bot-token')),
    slackSigningSecret: Secret.fromSecretCompleteArn(existing, 'Signing', arn('slack-signing')),
  });
  const functions = Template.fromStack(stack).findResources('AWS::Lambda::Function') as Record<
    string,
    { Metadata?: Record<string, unknown>; Properties: Record<string, unknown> }
  >;
  const environments = new Map<string, Record<string, string>>();
  for (const fn of Object.values(functions)) {
    const id = fn.Metadata?.['countersign:function'];
    if (typeof id !== 'string') continue;
    const variables =
      (fn.Properties.Environment as { Variables?: Record<string, unknown> } | undefined)
        ?.Variables ?? {};
    // Tokens (a secret's ARN, the API's URL) become placeholders of the right shape: what is
    // tested is which variables are set, not their deployed values.
    environments.set(
      id,
      Object.fromEntries(
        Object.entries(variables).map(([name, value]) => [
          name,
          typeof value === 'string'
            ? value
            : name.endsWith('_ARN')
              ? arn(name.toLowerCase())
              : name.endsWith('_URL')
                ? 'https://api.example.com/v1'
                : `placeholder-${name.toLowerCase()}`,
        ]),
      ),
    );
  }
  return environments;
}

const environments = synthesizedEnvironments();
const dynamo = mockClient(DynamoDBDocumentClient);
const secrets = mockClient(SecretsManagerClient);
const sfn = mockClient(SFNClient);
const kms = mockClient(KMSClient);
mockClient(SESv2Client);
const savedEnv = { ...process.env };

beforeEach(() => {
  dynamo.reset();
  // No intents, no teams; the admin test key exists.
  dynamo.on(QueryCommand).resolves({ Items: [] });
  dynamo.on(GetCommand).callsFake((input: { Key?: Record<string, unknown> }) =>
    input.Key?.pk === `APIKEY#${hashApiKey(KEYS.admin.key)}`
      ? {
          Item: {
            id: 'key_admin',
            role: 'admin',
            principal: KEYS.admin.principal,
            key_hash: hashApiKey(KEYS.admin.key),
            prefix: 'csk_',
            created_at: '2026-11-24T08:00:00.000Z',
            revoked_at: null,
          },
        }
      : {},
  );
  dynamo.on(TransactWriteCommand).resolves({});
  dynamo.on(BatchGetCommand).resolves({ Responses: {} });
  secrets.on(GetSecretValueCommand).resolves({ SecretString: 's'.repeat(64) });
  sfn.on(StartExecutionCommand).resolves({ executionArn: 'arn:x', startDate: new Date() });
  // KMS answers GetPublicKey with the DER SubjectPublicKeyInfo of the key.
  const { publicKey } = generateKeyPairSync('ed25519');
  kms.on(GetPublicKeyCommand).resolves({
    PublicKey: publicKey.export({ format: 'der', type: 'spki' }),
    KeySpec: 'ECC_NIST_EDWARDS25519',
  });
});
afterAll(() => {
  process.env = savedEnv;
});

type Invocation = { event: unknown; accepts: (result: unknown) => boolean };
const answered = (result: unknown) => (result as APIGatewayProxyResult).statusCode < 500;
const anything = () => true;

/** One ordinary invocation per function: enough to build every dependency it uses. */
const INVOCATIONS: Record<FunctionKey, Invocation> = {
  health: { event: apiEvent({ method: 'GET', resource: '/healthz' }), accepts: answered },
  jwks: {
    event: apiEvent({ method: 'GET', resource: '/.well-known/jwks.json' }),
    accepts: (result) =>
      (result as APIGatewayProxyResult).statusCode === 200 &&
      JSON.parse((result as APIGatewayProxyResult).body).keys[0].kty === 'OKP',
  },
  openapi: {
    event: apiEvent({ method: 'GET', resource: '/v1/openapi.json' }),
    accepts: (result) =>
      (result as APIGatewayProxyResult).statusCode === 200 &&
      JSON.parse((result as APIGatewayProxyResult).body).openapi === '3.1.1',
  },
  intentsWrite: {
    event: apiEvent({
      method: 'POST',
      resource: '/v1/intents',
      role: 'admin',
      body: {
        intent_type: 'intent.test.v1',
        to_agent: 'agent://test',
        reviewers: ['cfo@company.com'],
        payload: {},
      },
    }),
    accepts: (result) => (result as APIGatewayProxyResult).statusCode === 201,
  },
  intentsRead: {
    event: apiEvent({
      method: 'GET',
      resource: '/v1/intents/{id}',
      path: '/v1/intents/int_1',
      pathParameters: { id: 'int_1' },
      role: 'admin',
    }),
    accepts: (result) => (result as APIGatewayProxyResult).statusCode === 404,
  },
  intentsWait: {
    event: apiEvent({
      method: 'GET',
      resource: '/v1/intents/{id}/wait',
      path: '/v1/intents/int_1/wait',
      pathParameters: { id: 'int_1' },
      role: 'admin',
    }),
    accepts: (result) => (result as APIGatewayProxyResult).statusCode === 404,
  },
  intentsDecide: {
    event: apiEvent({
      method: 'POST',
      resource: '/v1/intents/{id}/decision',
      path: '/v1/intents/int_1/decision',
      pathParameters: { id: 'int_1' },
      role: 'admin',
      body: { outcome: 'approve' },
    }),
    accepts: (result) => (result as APIGatewayProxyResult).statusCode === 404,
  },
  mcp: {
    event: apiEvent({
      method: 'POST',
      resource: '/mcp',
      role: 'admin',
      headers: { Accept: 'application/json, text/event-stream' },
      body: {
        jsonrpc: '2.0',
        id: 1,
        method: 'tools/call',
        params: {
          name: 'request_approval',
          arguments: {
            summary: 'Test',
            reviewers: ['cfo@company.com'],
            payload: {},
            wait_seconds: 0,
          },
        },
      },
    }),
    accepts: (result) => {
      const { statusCode, body } = result as APIGatewayProxyResult;
      return statusCode === 200 && JSON.parse(body).result?.structuredContent?.status === 'pending';
    },
  },
  admin: {
    event: apiEvent({ method: 'GET', resource: '/v1/keys', role: 'admin' }),
    accepts: (result) => (result as APIGatewayProxyResult).statusCode === 200,
  },
  review: {
    event: apiEvent({
      method: 'GET',
      resource: '/review/{token}',
      path: '/review/not-a-token',
      pathParameters: { token: 'not-a-token' },
    }),
    accepts: answered,
  },
  inbox: {
    event: apiEvent({
      method: 'POST',
      resource: '/inbox/sign-in',
      body: 'email=cfo%40company.com',
      headers: {
        'Content-Type': 'application/x-www-form-urlencoded',
        Origin: 'https://api.example.com',
      },
    }),
    accepts: (result) => {
      const { statusCode, body } = result as APIGatewayProxyResult;
      return statusCode === 200 && body.includes('Check your email');
    },
  },
  slackInteractions: {
    event: apiEvent({
      method: 'POST',
      resource: '/slack/interactions',
      body: 'payload=%7B%7D',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    }),
    accepts: (result) => (result as APIGatewayProxyResult).statusCode === 401,
  },
  planStage: { event: { intent_id: 'int_1' }, accepts: anything },
  stageTask: {
    event: { intent_id: 'int_1', step: 0, stage: 0, task_token: 'token' },
    accepts: anything,
  },
  notifyDecided: { event: { intent_id: 'int_1', attempt: 0 }, accepts: anything },
  deliverCallback: { event: { intent_id: 'int_1', retry_count: 0 }, accepts: anything },
  waitSocket: {
    event: {
      requestContext: { connectionId: 'conn-1', routeKey: 'subscribe' },
      body: JSON.stringify({ action: 'subscribe', intent_id: 'int_1', key: KEYS.admin.key }),
    },
    accepts: (result) =>
      JSON.parse((result as APIGatewayProxyResult).body).error?.code === 'not_found',
  },
  waitPush: {
    event: {
      Records: [
        {
          eventName: 'MODIFY',
          dynamodb: {
            NewImage: { pk: { S: 'INTENT#int_1' }, sk: { S: 'META' }, status: { S: 'approved' } },
            OldImage: { pk: { S: 'INTENT#int_1' }, sk: { S: 'META' }, status: { S: 'pending' } },
          },
        },
      ],
    },
    accepts: anything,
  },
  reconciler: { event: {}, accepts: anything },
};

describe('each function with the environment the construct gives it', () => {
  it.each(Object.keys(FUNCTIONS) as FunctionKey[])('%s runs', async (key) => {
    const spec = FUNCTIONS[key];
    const environment = environments.get(spec.id);
    expect(environment, `${spec.id} is in the template`).toBeDefined();
    process.env = {
      ...environment,
      // What Lambda itself sets; never the construct's job.
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
    };
    vi.resetModules();
    const module = (await import(path.join('../..', spec.entry))) as {
      handler: (event: unknown, context?: unknown) => Promise<unknown>;
    };
    const invocation = INVOCATIONS[key];
    const result = await module.handler(invocation.event);
    expect(invocation.accepts(result), JSON.stringify(result)).toBe(true);
  });
});
