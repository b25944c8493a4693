import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SlackWebGateway } from '../../lambdas/adapters/slack-web';
import { SlackUnavailableError } from '../../lambdas/core/ports';
import { slackWebClient } from '../../lambdas/shared/clients';
import { type FakeSlack, startFakeSlack } from '../handlers/fake-slack';

let slack: FakeSlack;
let gateway: SlackWebGateway;

beforeAll(async () => {
  slack = await startFakeSlack();
  gateway = new SlackWebGateway(await slackWebClient('xoxb-unit', 'interactions', slack.apiUrl));
});
afterEach(() => slack.reset());
afterAll(() => slack.close());

describe('SlackWebGateway', () => {
  it('answers null for people Slack does not know', async () => {
    slack.on('users.lookupByEmail', () => ({ body: { ok: false, error: 'users_not_found' } }));
    slack.on('users.info', () => ({ body: { ok: false, error: 'user_not_found' } }));
    expect(await gateway.userIdByEmail('nobody@x.com')).toBeNull();
    expect(await gateway.emailOfUser('U_NOBODY')).toBeNull();
  });

  it('maps a user to an email only for a live person whose address Slack confirmed', async () => {
    const users: Record<string, Record<string, unknown>> = {
      U_OK: { is_email_confirmed: true },
      U_UNCONFIRMED: { is_email_confirmed: false },
      U_GONE: { deleted: true },
      U_BOT: { is_bot: true },
    };
    slack.on('users.info', (args) => ({
      body: {
        ok: true,
        user: { id: args.user, profile: { email: 'cfo@company.com' }, ...users[String(args.user)] },
      },
    }));
    expect(await gateway.emailOfUser('U_OK')).toBe('cfo@company.com');
    expect(await gateway.emailOfUser('U_UNCONFIRMED')).toBeNull();
    expect(await gateway.emailOfUser('U_GONE')).toBeNull();
    expect(await gateway.emailOfUser('U_BOT')).toBeNull();
  });

  it("passes Slack's own refusals through with their code", async () => {
    slack.on('chat.postMessage', () => ({ body: { ok: false, error: 'channel_not_found' } }));
    const refusal = await gateway
      .postMessage({ channel: 'C_GONE', text: 'x', blocks: [] })
      .catch((error: unknown) => error);
    expect(refusal).not.toBeInstanceOf(SlackUnavailableError);
    expect(String(refusal)).toContain('channel_not_found');
  });

  it('does not sleep through a long rate limit: the notifications client fails the call in seconds', async () => {
    const notifications = new SlackWebGateway(
      await slackWebClient('xoxb-unit', 'notifications', slack.apiUrl),
    );
    slack.on('chat.postMessage', () => ({
      status: 429,
      headers: { 'retry-after': '120' },
      body: { ok: false, error: 'ratelimited' },
    }));
    const started = Date.now();
    const failure = await notifications
      .postMessage({ channel: 'U_CFO', text: 'x', blocks: [] })
      .catch((error: unknown) => error);
    // Waiting out 120 s (per attempt) would run the stage task past its 60 s.
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(failure).toBeInstanceOf(SlackUnavailableError);
    expect(String(failure)).toContain('rate-limited this call for 120 s');
    expect(slack.callsTo('chat.postMessage').length).toBeLessThanOrEqual(3);
  }, 20_000);

  it('turns server errors into SlackUnavailableError after retrying', async () => {
    slack.on('chat.update', () => ({ status: 503, body: { ok: false } }));
    const failure = await gateway
      .updateMessage({ channel: 'C1', ts: '1.2', text: 'x', blocks: [] })
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(SlackUnavailableError);
    // The interactions client tries twice, no more: Slack waits 3 seconds in all.
    expect(slack.callsTo('chat.update')).toHaveLength(2);
  });

  it("gives up when the caller's time is out, and sends nothing more after", async () => {
    slack.on('chat.update', () => ({ delayMs: 10_000, body: { ok: true } }));
    const started = performance.now();
    const failure = await gateway
      .updateMessage(
        { channel: 'C1', ts: '1.2', text: 'x', blocks: [] },
        { signal: AbortSignal.timeout(200) },
      )
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(SlackUnavailableError);
    expect(performance.now() - started).toBeLessThan(1000);
    // Past the client's own per-attempt timeout (1.5 s): its retry would have been sent by now.
    await new Promise((resolve) => setTimeout(resolve, 1800));
    expect(slack.callsTo('chat.update')).toHaveLength(1);
  });

  it('does not sleep on a rate limit when answering an interaction', async () => {
    slack.on('views.open', () => ({
      status: 429,
      headers: { 'retry-after': '30' },
      body: { ok: false, error: 'ratelimited' },
    }));
    const started = Date.now();
    const failure = await gateway
      .openView('trigger', {
        type: 'modal',
        callback_id: 'c',
        title: { type: 'plain_text', text: 't' },
        submit: { type: 'plain_text', text: 's' },
        close: { type: 'plain_text', text: 'c' },
        private_metadata: '',
        blocks: [],
      })
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(SlackUnavailableError);
    expect(Date.now() - started).toBeLessThan(1500);
  });
});
