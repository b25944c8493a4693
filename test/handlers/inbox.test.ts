import { DeleteCommand, DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { apiEvent, setHandlerEnvironment } from './helpers';

/**
 * The inbox handler as deployed in AWS, where the public URL is HTTPS behind the API's stage
 * (`https://…/v1`): the session cookie is `Secure` and scoped to the stage's `/v1/inbox`, the
 * redirect stays under the stage, and a form posted from the stage's own origin is accepted.
 */
setHandlerEnvironment();
process.env.PUBLIC_BASE_URL = 'https://abc123.execute-api.eu-west-1.amazonaws.com/v1';
const dynamo = mockClient(DynamoDBDocumentClient);
const { handler } = await import('../../lambdas/handlers/inbox');

const TOKEN = 'a'.repeat(43);
const signIn = (origin: string) =>
  handler(
    apiEvent({
      method: 'POST',
      resource: '/inbox/sign-in/{token}',
      path: `/inbox/sign-in/${TOKEN}`,
      pathParameters: { token: TOKEN },
      body: '',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Origin: origin },
    }),
  );

beforeEach(() => {
  dynamo.reset();
  dynamo.on(DeleteCommand).resolves({
    Attributes: {
      pk: 'SIGNIN#x',
      sk: 'SIGNIN',
      email: 'cfo@company.com',
      expires_at: Math.floor(Date.now() / 1000) + 600,
    },
  });
  dynamo.on(PutCommand).resolves({});
});

describe('the inbox behind API Gateway over HTTPS', () => {
  it('sets a Secure, HttpOnly, SameSite=Lax session cookie for the stage path, for 12 hours at most', async () => {
    const result = await signIn('https://abc123.execute-api.eu-west-1.amazonaws.com');
    expect(result.statusCode).toBe(303);
    expect(result.headers?.Location).toBe('/v1/inbox');
    expect(result.headers?.['Set-Cookie']).toMatch(
      /^countersign_inbox=[A-Za-z0-9_-]{43}; Path=\/v1\/inbox; Max-Age=43200; HttpOnly; SameSite=Lax; Secure$/,
    );
    // The session is stored by the hash of its token, with the TTL; never the token itself.
    const [put] = dynamo.commandCalls(PutCommand).map((call) => call.args[0].input.Item);
    const token = /=([^;]+)/.exec(String(result.headers?.['Set-Cookie']))?.[1] ?? '';
    expect(put?.pk).toMatch(/^SESSION#[0-9a-f]{64}$/);
    expect(JSON.stringify(put)).not.toContain(token);
    expect(put?.expires_at).toBeLessThanOrEqual(Math.floor(Date.now() / 1000) + 12 * 3600);
  });

  it('refuses a sign-in posted from another origin, and uses nothing up', async () => {
    const result = await signIn('https://evil.example');
    expect(result.statusCode).toBe(403);
    expect(result.headers?.['Set-Cookie']).toBeUndefined();
    expect(dynamo.commandCalls(DeleteCommand)).toHaveLength(0);
  });
});
