import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import { afterEach, describe, expect, it } from 'vitest';
import { SesEmailSender } from '../../lambdas/adapters/ses-email';
import { Outbox } from '../../local/outbox';
import type { StandIn } from '../../local/standins/http-util';
import { startSesStandIn } from '../../local/standins/ses';
import { rawRequest } from '../e2e/harness';

/** The SES stand-in must answer the unmodified SES v2 client as SES does, and record what it sent. */
let standIn: StandIn | undefined;
let dir: string | undefined;
afterEach(async () => {
  await standIn?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const ACCESS_KEY_ID = 'LOCALSTANDINKEY';

async function start(accessKeyId = ACCESS_KEY_ID) {
  dir = mkdtempSync(path.join(tmpdir(), 'ses-'));
  const outbox = new Outbox(path.join(dir, 'outbox.jsonl'));
  standIn = await startSesStandIn({ outbox, accessKeyId: ACCESS_KEY_ID });
  const ses = new SESv2Client({
    endpoint: standIn.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId, secretAccessKey: 'local' },
    maxAttempts: 1,
  });
  return { outbox, ses };
}

const anEmail = () =>
  new SendEmailCommand({
    FromEmailAddress: 'countersign@localhost',
    Destination: { ToAddresses: ['cfo@company.com'] },
    Content: { Simple: { Subject: { Data: 'Hi' }, Body: { Text: { Data: 'Hi' } } } },
  });

describe('SES v2 stand-in', () => {
  it('records an email sent by the production sender, with its intent, kind and review link', async () => {
    const { outbox, ses } = await start();
    const sender = new SesEmailSender(ses, 'countersign@example.com', 'tracking-off');
    const { messageId } = await sender.send({
      to: 'cfo@company.com',
      subject: 'Approval needed: Q1\r\nBcc: evil@x.com',
      text: 'Please review',
      html: '<p>Please review</p>',
      intentId: 'int_1',
      kind: 'remind',
      reviewUrl: 'http://127.0.0.1:4700/review/token',
    });
    expect(messageId).toMatch(/^local-/);
    const [item] = outbox.list();
    expect(item).toMatchObject({
      channel: 'email',
      to: 'cfo@company.com',
      text: 'Please review',
      html: '<p>Please review</p>',
      intent_id: 'int_1',
      kind: 'remind',
      review_url: 'http://127.0.0.1:4700/review/token',
    });
    // A subject can never smuggle a header: the sender makes it one line.
    expect(item?.subject).not.toMatch(/[\r\n]/);
  });

  it('refuses a malformed request as SES does, recording nothing', async () => {
    const { outbox, ses } = await start();
    const error = await ses
      .send(new SendEmailCommand({ Destination: { ToAddresses: [] }, Content: {} }))
      .catch((caught: unknown) => caught);
    expect(error).toMatchObject({ name: 'BadRequestException' });
    expect(outbox.list()).toHaveLength(0);
  });

  it('refuses a request signed with other credentials than the stack configured', async () => {
    const { outbox, ses } = await start('local');
    const error = await ses.send(anEmail()).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ name: 'UnrecognizedClientException' });
    const unsigned = await fetch(`${standIn?.endpoint}/v2/email/outbound-emails`, {
      method: 'POST',
      body: '{}',
    });
    expect(unsigned.status).toBe(403);
    expect(outbox.list()).toHaveLength(0);
  });

  it('answers only requests addressed to its loopback address (DNS rebinding)', async () => {
    const { outbox, ses } = await start();
    const port = new URL(standIn?.endpoint ?? '').port;
    const signed = await signedSendEmailHeaders(ses);
    const rebound = await rawRequest(`${standIn?.endpoint}/v2/email/outbound-emails`, {
      method: 'POST',
      headers: { ...signed.headers, host: `attacker.example:${port}` },
      body: signed.body,
    });
    expect(rebound.status).toBe(403);
    expect(rebound.body).toContain('answers only requests addressed to');
    // The same signed request, addressed to the stand-in, was recorded once (when captured).
    expect(outbox.list()).toHaveLength(1);
  });
});

/** The headers and body the SES client sends for a valid SendEmail (its signature included). */
async function signedSendEmailHeaders(
  ses: SESv2Client,
): Promise<{ headers: Record<string, string>; body: string }> {
  let captured: { headers: Record<string, string>; body: string } | undefined;
  const command = anEmail();
  command.middlewareStack.add(
    (next) => async (args) => {
      const request = args.request as { headers: Record<string, string>; body: string };
      captured = { headers: { ...request.headers }, body: String(request.body) };
      return next(args);
    },
    { step: 'finalizeRequest', priority: 'low' },
  );
  await ses.send(command);
  if (!captured) throw new Error('the SES client sent nothing');
  return captured;
}
