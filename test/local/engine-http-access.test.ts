import { ListStateMachinesCommand, SFNClient } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawRequest } from '../e2e/harness';
import { type Harness, openHarness } from '../local-sfn/helpers';

/**
 * The local engine's HTTP endpoint, as `npm start` opens it: it answers only requests signed with
 * the access key id the stack gave its handlers, and only when addressed to its loopback address
 * (a page reached through DNS rebinding sends its own host name).
 */
const ACCESS_KEY_ID = 'LOCALENGINEKEY';
let harness: Harness;
let endpoint: string;

beforeAll(async () => {
  harness = await openHarness({
    machine: { StartAt: 'Done', States: { Done: { Type: 'Succeed' } } },
  });
  endpoint = await harness.sfn.listen(0, '127.0.0.1', { accessKeyId: ACCESS_KEY_ID });
});
afterAll(() => harness?.close());

const clientWith = (accessKeyId: string) =>
  new SFNClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId, secretAccessKey: 'any' },
    maxAttempts: 1,
  });

describe('local Step Functions endpoint access', () => {
  it('answers the configured access key id and refuses any other', async () => {
    const own = clientWith(ACCESS_KEY_ID);
    const listed = await own.send(new ListStateMachinesCommand({}));
    expect(listed.stateMachines?.map((machine) => machine.name)).toEqual(['machine']);
    own.destroy();

    const other = clientWith('local');
    await expect(other.send(new ListStateMachinesCommand({}))).rejects.toMatchObject({
      name: 'UnrecognizedClientException',
    });
    other.destroy();

    const unsigned = await rawRequest(endpoint, {
      method: 'POST',
      headers: { 'x-amz-target': 'AWSStepFunctions.ListStateMachines' },
      body: '{}',
    });
    expect(unsigned.status).toBe(400);
    expect(unsigned.body).not.toContain('machine');
  });

  it('refuses a request addressed to another host name', async () => {
    const port = new URL(endpoint).port;
    const rebound = await rawRequest(endpoint, {
      method: 'POST',
      headers: {
        host: `attacker.example:${port}`,
        'x-amz-target': 'AWSStepFunctions.ListStateMachines',
        authorization: `AWS4-HMAC-SHA256 Credential=${ACCESS_KEY_ID}/20240101/us-east-1/states/aws4_request, SignedHeaders=host, Signature=0`,
      },
      body: '{}',
    });
    expect(rebound.status).toBe(403);
    expect(rebound.body).not.toContain('stateMachines');
  });
});
