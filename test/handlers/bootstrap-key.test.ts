import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { apiEvent, setHandlerEnvironment } from './helpers';

/**
 * The first run after `cdk deploy`: the operator reads the bootstrap admin key from Secrets
 * Manager and logs in with it (`countersign login` lists intents to check it), then creates
 * real keys. The functions get the secret's ARN only, as in the deployed template.
 */
setHandlerEnvironment();
const SECRET_ARN =
  'arn:aws:secretsmanager:eu-west-1:111111111111:secret:CountersignBootstrap-AbCdEf';
process.env.BOOTSTRAP_ADMIN_KEY_ARN = SECRET_ARN;
const BOOTSTRAP = 'q7Xk2mN9vB4cR8tY1wE6uI3oP5aS0dF7gH2jK9lZ4xC8vB1nM6qW3eR5tY0uI7oP';

const dynamo = mockClient(DynamoDBDocumentClient);
const secrets = mockClient(SecretsManagerClient);
const { handler: intentsRead } = await import('../../lambdas/handlers/intents-read');
const { handler: admin } = await import('../../lambdas/handlers/admin');

const bearer = (key: string) => ({ Authorization: `Bearer ${key}` });

describe('the bootstrap admin key', () => {
  beforeEach(() => {
    dynamo.on(GetCommand).resolves({}); // no such key in the table
    dynamo.on(QueryCommand).resolves({ Items: [] });
    dynamo.on(PutCommand).resolves({});
    secrets
      .on(GetSecretValueCommand, { SecretId: SECRET_ARN })
      .resolves({ SecretString: BOOTSTRAP });
  });
  afterEach(() => {
    dynamo.reset();
    secrets.reset();
  });

  it('logs in (GET /v1/intents) and creates the first real admin key', async () => {
    // Act
    const listed = await intentsRead(
      apiEvent({ method: 'GET', resource: '/v1/intents', headers: bearer(BOOTSTRAP) }),
    );
    const created = await admin(
      apiEvent({
        method: 'POST',
        resource: '/v1/keys',
        headers: bearer(BOOTSTRAP),
        body: { role: 'admin', principal: 'ops@company.com' },
      }),
    );
    // Assess
    expect(listed.statusCode).toBe(200);
    expect(created.statusCode).toBe(201);
    expect(JSON.parse(created.body)).toMatchObject({ role: 'admin', principal: 'ops@company.com' });
    expect(JSON.parse(created.body).key).toMatch(/^csk_/);
    // The secret was read from Secrets Manager, by ARN.
    expect(secrets.commandCalls(GetSecretValueCommand)[0]?.args[0].input).toEqual({
      SecretId: SECRET_ARN,
    });
  });

  it('refuses any other unknown key with 401', async () => {
    const result = await admin(
      apiEvent({ method: 'GET', resource: '/v1/keys', headers: bearer(`${BOOTSTRAP.slice(1)}x`) }),
    );
    expect(result.statusCode).toBe(401);
    expect(JSON.parse(result.body).error.code).toBe('unauthenticated');
  });
});
