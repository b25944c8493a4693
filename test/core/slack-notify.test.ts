import { describe, expect, it } from 'vitest';
import {
  type SlackGateway,
  type SlackMessage,
  SlackUnavailableError,
  type Team,
  type TeamRepository,
} from '../../lambdas/core/ports';
import { SlackNotifier } from '../../lambdas/core/slack-notify';
import type { IntentState } from '../../lambdas/domain/intent';
import { pendingIntent, T0 } from '../domain/fixtures';

/** A Slack workspace in memory: who exists, what was posted, and whether it answers at all. */
class Workspace implements SlackGateway {
  posted: SlackMessage[] = [];
  lookups: string[] = [];
  down = false;
  constructor(private readonly users: Record<string, string>) {}
  async userIdByEmail(email: string) {
    if (this.down) throw new SlackUnavailableError('Slack is unavailable: fetch failed');
    this.lookups.push(email);
    return this.users[email] ?? null;
  }
  async emailOfUser() {
    return null;
  }
  async postMessage(message: SlackMessage) {
    if (this.down) throw new SlackUnavailableError('Slack is unavailable: HTTP 503');
    this.posted.push(message);
    return { channel: message.channel, ts: `1780000000.00000${this.posted.length}` };
  }
  async updateMessage() {}
  async postEphemeral() {}
  async openView() {}
}

const teams = (list: Team[]): TeamRepository => ({
  get: async (name) => list.find((team) => team.name === name) ?? null,
  put: async () => undefined,
  list: async () => list,
  delete: async () => false,
});

/** The intent as the stage task sees it once the first stage was entered. */
function entered(asked: string[], recipients: string[]): IntentState {
  return {
    ...pendingIntent({ reviewers: asked, policy: { channels: ['slack'] } }),
    recipients,
    stage_index: 0,
    step_started_at: T0.toISOString(),
    version: 7,
  };
}

const notify = (to: string) => ({ to, kind: 'notify' as const, channel: 'slack' as const });

describe('SlackNotifier', () => {
  it('reaches a member of a team with a channel there, and a member also asked by name directly', async () => {
    const workspace = new Workspace({ 'a@x.com': 'U_A' });
    const notifier = new SlackNotifier(
      workspace,
      teams([
        {
          name: 'finance',
          members: ['a@x.com', 'b@x.com'],
          slack_channel: 'C_FIN',
          updated_at: '',
        },
      ]),
    );
    const intent = entered(['a@x.com', 'team:finance'], ['a@x.com', 'b@x.com']);
    const send = (to: string) =>
      notifier.send({ intent, notification: notify(to), reviewUrl: `https://r/${to}`, now: T0 });

    expect(await send('a@x.com')).toEqual({ ok: true, messageId: 'slack:U_A:1780000000.000001' });
    expect(await send('b@x.com')).toEqual({ ok: true, messageId: 'slack:C_FIN:1780000000.000002' });
    expect(workspace.posted.map((m) => [m.channel, m.metadata?.event_payload.to])).toEqual([
      ['U_A', 'a@x.com'],
      ['C_FIN', 'team:finance'],
    ]);
  });

  it('after Slack was unreachable, fails the next sends at once for a minute, then tries again', async () => {
    const workspace = new Workspace({ 'a@x.com': 'U_A', 'b@x.com': 'U_B' });
    const notifier = new SlackNotifier(workspace, teams([]));
    const intent = entered(['a@x.com', 'b@x.com'], ['a@x.com', 'b@x.com']);
    const send = (to: string, now: Date) =>
      notifier.send({ intent, notification: notify(to), reviewUrl: 'https://r', now });

    workspace.down = true;
    expect(await send('a@x.com', T0)).toEqual({
      ok: false,
      error: 'SlackUnavailableError: Slack is unavailable: fetch failed',
      retryable: true,
    });
    workspace.down = false;
    expect(await send('b@x.com', new Date(T0.getTime() + 30_000))).toEqual({
      ok: false,
      error: 'Slack was unavailable moments ago; not tried again yet',
      retryable: true,
    });
    expect(workspace.lookups).toEqual([]);
    expect(await send('b@x.com', new Date(T0.getTime() + 61_000))).toMatchObject({ ok: true });
  });

  it('a refusal about one message (no such user) does not pause the others', async () => {
    const workspace = new Workspace({ 'b@x.com': 'U_B' });
    const notifier = new SlackNotifier(workspace, teams([]));
    const intent = entered(['a@x.com', 'b@x.com'], ['a@x.com', 'b@x.com']);
    const send = (to: string) =>
      notifier.send({ intent, notification: notify(to), reviewUrl: 'https://r', now: T0 });

    expect(await send('a@x.com')).toEqual({
      ok: false,
      error: 'no Slack user has the email a@x.com',
    });
    expect(await send('b@x.com')).toMatchObject({ ok: true });
  });
});
