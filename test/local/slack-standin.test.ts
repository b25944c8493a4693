import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { WebClient } from '@slack/web-api';
import { afterEach, describe, expect, it } from 'vitest';
import { Outbox } from '../../local/outbox';
import { type SlackStandIn, startSlackStandIn } from '../../local/standins/slack';
import { rawRequest } from '../e2e/harness';

/** The Slack stand-in answers the bot token the stack configured, as Slack answers its own. */
const BOT_TOKEN = 'xoxb-local-configured';
let standIn: SlackStandIn | undefined;
let dir: string | undefined;
afterEach(async () => {
  await standIn?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function start() {
  dir = mkdtempSync(path.join(tmpdir(), 'slack-'));
  standIn = await startSlackStandIn({
    outbox: new Outbox(path.join(dir, 'outbox.jsonl')),
    botToken: BOT_TOKEN,
  });
  return standIn;
}

const slackWith = (endpoint: string, token: string) =>
  new WebClient(token, { slackApiUrl: `${endpoint}/api/`, retryConfig: { retries: 0 } });

describe('Slack stand-in credentials', () => {
  it('answers the configured bot token and refuses any other as Slack does', async () => {
    const { endpoint } = await start();
    const found = await slackWith(endpoint, BOT_TOKEN).users.lookupByEmail({
      email: 'cfo@company.com',
    });
    expect(found.ok).toBe(true);
    await expect(
      slackWith(endpoint, 'xoxb-countersign-local').users.lookupByEmail({
        email: 'cfo@company.com',
      }),
    ).rejects.toMatchObject({ data: { ok: false, error: 'invalid_auth' } });
  });

  it('refuses a request addressed to another host name', async () => {
    const { endpoint } = await start();
    const port = new URL(endpoint).port;
    const rebound = await rawRequest(`${endpoint}/api/users.lookupByEmail`, {
      method: 'POST',
      headers: {
        host: `attacker.example:${port}`,
        authorization: `Bearer ${BOT_TOKEN}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: 'email=cfo%40company.com',
    });
    expect(rebound.status).toBe(403);
    expect(rebound.body).not.toContain('cfo');
  });
});
