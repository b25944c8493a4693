import { appendFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SLACK_ACTIONS } from '../../lambdas/domain/slack-blocks';
import { buildBlockActionsBody, signSlackRequest } from '../../local/standins/slack';
import { CountersignClient } from '../../sdk/src/index';
import { type FakeSlack, startFakeSlack } from '../handlers/fake-slack';
import {
  newDataDir,
  outboxItems,
  removeDataDir,
  type StackProcess,
  startStack,
  until,
} from './harness';

/**
 * `npm start` with real SES and Slack configured (COUNTERSIGN_EMAIL_FROM,
 * COUNTERSIGN_SLACK_BOT_TOKEN, …): the notices leave through the AWS SDK and the Slack Web API
 * with the user's settings instead of landing in the outbox, and Slack clicks are verified with
 * the real app's signing secret. The "real" services are doubles on loopback, reached through
 * the same overrides a user could set (AWS_ENDPOINT_URL_SESV2, COUNTERSIGN_SLACK_API_URL).
 */
interface SesCall {
  headers: IncomingHttpHeaders;
  body: {
    FromEmailAddress?: string;
    Destination?: { ToAddresses?: string[] };
    Content?: { Simple?: { Headers?: { Name: string; Value: string }[] } };
  };
}

const REAL_SIGNING_SECRET = 'real-slack-app-signing-secret';
let stack: StackProcess;
let dataDir: string;
let slack: FakeSlack;
let ses: { url: string; calls: SesCall[]; server: Server };

async function startFakeSes(): Promise<typeof ses> {
  const calls: SesCall[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      calls.push({
        headers: req.headers,
        body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as SesCall['body'],
      });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ MessageId: `ses-${calls.length}` }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, calls, server };
}

beforeAll(async () => {
  [slack, ses] = await Promise.all([startFakeSlack(), startFakeSes()]);
  slack.on('users.lookupByEmail', (args) => ({
    body: { ok: true, user: { id: 'U_CFO', profile: { email: args.email } } },
  }));
  slack.on('users.info', () => ({
    body: {
      ok: true,
      user: { id: 'U_CFO', is_email_confirmed: true, profile: { email: 'cfo@company.com' } },
    },
  }));
  slack.on('chat.postMessage', () => ({
    body: { ok: true, channel: 'D_CFO', ts: '1780000000.000100' },
  }));
  dataDir = newDataDir();
  stack = await startStack(dataDir, undefined, realServicesEnv());
}, 120_000);

/** What a user sets for `npm start` with their own SES sender and Slack app. */
function realServicesEnv(): Record<string, string> {
  return {
    COUNTERSIGN_EMAIL_FROM: 'approvals@example.com',
    COUNTERSIGN_SES_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'AKIAEXAMPLEUSERKEY',
    AWS_SECRET_ACCESS_KEY: 'user-secret',
    AWS_ENDPOINT_URL_SESV2: ses.url,
    COUNTERSIGN_SLACK_BOT_TOKEN: 'xoxb-the-users-own-bot',
    COUNTERSIGN_SLACK_SIGNING_SECRET: REAL_SIGNING_SECRET,
    COUNTERSIGN_SLACK_API_URL: `${slack.apiUrl}`,
  };
}

afterAll(async () => {
  await stack?.stop();
  removeDataDir(dataDir);
  await slack?.close();
  await new Promise((resolve) => ses?.server.close(resolve));
});

describe('npm start with real SES and Slack configured', () => {
  it('sends through them, verifies clicks with the real app secret, and keeps the outbox empty', async () => {
    const agent = new CountersignClient({
      baseUrl: stack.url,
      apiKey: stack.settings.api_keys.agent,
    });
    expect(stack.output()).toContain('real SES, from approvals@example.com');
    const id = await agent.sendIntent({
      intent_type: 'intent.payment.v1',
      to_agent: 'agent://myorg/payments',
      payload: { amount: 40, reviewer: 'cfo@company.com' },
    });

    const [email] = await until(
      async () => (ses.calls.length > 0 ? ses.calls : undefined),
      15_000,
      'the email at SES',
    );
    expect(email?.body.FromEmailAddress).toBe('approvals@example.com');
    expect(email?.body.Destination?.ToAddresses).toEqual(['cfo@company.com']);
    // Signed with the user's credentials for the SES region they chose.
    expect(email?.headers.authorization).toContain('Credential=AKIAEXAMPLEUSERKEY/');
    expect(email?.headers.authorization).toContain('/eu-west-1/ses/aws4_request');
    const dm = await until(
      async () => slack.callsTo('chat.postMessage')[0],
      15_000,
      'the Slack DM',
    );
    expect(dm.authorization).toBe('Bearer xoxb-the-users-own-bot');
    expect(dm.args.channel).toBe('U_CFO');

    const click = buildBlockActionsBody({
      userId: 'U_CFO',
      channel: 'D_CFO',
      messageTs: '1780000000.000100',
      actionId: SLACK_ACTIONS.approve,
      value: id,
    });
    const post = (headers: Record<string, string>) =>
      fetch(`${stack.url}/slack/interactions`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
        body: click,
      });
    // The stand-in's secret (local.json) no longer speaks for Slack.
    const forged = await post(signSlackRequest(stack.settings.slack_signing_secret, click));
    expect(forged.status).toBe(401);
    expect((await agent.getIntent(id)).status).toBe('pending');
    const accepted = await post(signSlackRequest(REAL_SIGNING_SECRET, click));
    expect(accepted.status).toBe(200);
    const decided = await agent.waitFor(id, { timeoutMs: 10_000 });
    expect(decided.decision).toMatchObject({ by: 'cfo@company.com', channel: 'slack' });

    const items = await outboxItems(stack);
    expect(items.filter((item) => item.intent_id === id && item.channel !== 'webhook')).toEqual([]);
  });

  it("signs the console's Slack clicks with the real app's secret, so they decide", async () => {
    const agent = new CountersignClient({
      baseUrl: stack.url,
      apiKey: stack.settings.api_keys.agent,
    });
    const id = await agent.sendIntent({
      intent_type: 'intent.payment.v1',
      to_agent: 'agent://myorg/payments',
      payload: { amount: 41, reviewer: 'cfo@company.com' },
    });
    const dm = await until(
      async () =>
        slack
          .callsTo('chat.postMessage')
          .find((call) => JSON.stringify(call.args.metadata).includes(id)),
      15_000,
      'the Slack DM',
    );
    // The console clicks the Slack messages of the outbox: those the stand-in recorded in an
    // earlier run on this data dir, before the user configured their Slack app. Such a run is
    // replayed here by writing the DM into the outbox while the stack is down.
    await stack.stop();
    const recorded = {
      id: 'msg_from_a_stand_in_run',
      channel: 'slack',
      to: 'cfo@company.com',
      subject: String(dm.args.text),
      text: String(dm.args.text),
      review_url: null,
      intent_id: id,
      kind: 'notify',
      at: new Date().toISOString(),
      slack: { channel: 'D_CFO', user: 'U_CFO', ts: '1780000000.000100', blocks: dm.args.blocks },
    };
    appendFileSync(path.join(dataDir, 'outbox.jsonl'), `${JSON.stringify(recorded)}\n`);
    stack = await startStack(dataDir, undefined, realServicesEnv());

    const clicked = await fetch(`${stack.url}/_local/console/slack/click`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${stack.settings.api_keys.admin}`,
        'Content-Type': 'application/json',
      },
      body: JSON.stringify({ message_id: recorded.id, action_id: SLACK_ACTIONS.approve }),
    });
    expect(clicked.status).toBe(200);
    // The answer of POST /slack/interactions to the signed click: accepted, not 401.
    expect(((await clicked.json()) as { status: number }).status).toBe(200);
    const restarted = new CountersignClient({
      baseUrl: stack.url,
      apiKey: stack.settings.api_keys.agent,
    });
    const decided = await restarted.waitFor(id, { timeoutMs: 10_000 });
    expect(decided.status).toBe('approved');
    expect(decided.decision).toMatchObject({ by: 'cfo@company.com', channel: 'slack' });
  }, 120_000);
});
