import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Outbox } from '../../local/outbox';
import type { StandIn } from '../../local/standins/http-util';
import { startWebhookStandIn } from '../../local/standins/webhook';
import { signWebhook } from '../../sdk/src/webhooks';

/** The webhook stand-in records only deliveries signed with the stack's webhook secret. */
const SECRET = 'the-stacks-webhook-secret';
let standIn: StandIn | undefined;
let dir: string | undefined;
afterEach(async () => {
  await standIn?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const delivery = (secret: string) => {
  const body = JSON.stringify({ id: 'int_1', status: 'approved' });
  return {
    intent_id: 'int_1',
    url: 'http://127.0.0.1:9/hook',
    body,
    signature: signWebhook(body, secret, Math.floor(Date.now() / 1000)),
    jws: 'header.payload.signature',
    attempt: 1,
    ok: true,
    status: 200,
    error: null,
  };
};

describe('webhook stand-in', () => {
  it('records a delivery signed with the secret and refuses any other input', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'webhook-'));
    const outbox = new Outbox(path.join(dir, 'outbox.jsonl'));
    standIn = await startWebhookStandIn({ outbox, signingSecret: SECRET });
    const post = (body: string) =>
      fetch(`${standIn?.endpoint}/deliveries`, { method: 'POST', body });

    expect((await post(JSON.stringify(delivery('another-secret')))).status).toBe(403);
    expect((await post('{not json')).status).toBe(400);
    expect(outbox.list()).toHaveLength(0);
    expect((await post(JSON.stringify(delivery(SECRET)))).status).toBe(200);
    expect(outbox.list()).toMatchObject([{ channel: 'webhook', intent_id: 'int_1' }]);
  });
});
