import type { RequestKind } from '../domain/intent';
import { type IntentState, type PendingNotification, toView } from '../domain/intent';
import { isTeamRef } from '../domain/policy';
import {
  renderSlackNotification,
  renderSlackOutcome,
  type SlackAudience,
} from '../domain/slack-blocks';
import { askedAtStage, planStages } from '../domain/stages';
import { type SlackGateway, SlackUnavailableError, type TeamRepository } from './ports';

/**
 * `retryable`: the failure may pass (Slack unreachable, rate-limited, paused after an outage),
 * unlike Slack's own refusals (`message_not_found`, `channel_not_found`, no such user).
 */
export type NotificationOutcome =
  | { ok: true; messageId: string }
  | { ok: false; error: string; retryable?: boolean; reason?: 'quota' };

type Route = { kind: 'user' } | { kind: 'team'; team: string; channel: string };

/** How many team-channel posts are remembered, to post each once per run of a stage. */
const REMEMBERED_CHANNEL_POSTS = 500;
/**
 * After Slack was unreachable (past the client's retries), the next sends fail at once for this
 * long: a stage with many reviewers must not spend its time limit waiting on Slack, nor delay
 * their email notices.
 */
const OUTAGE_PAUSE_MS = 60_000;
/**
 * Slack user ids found by email are kept this long: `users.lookupByEmail` is rate-limited (Tier
 * 3, about 50 a minute), and a reviewer asked about many intents would otherwise spend one call
 * per message. A miss is not kept, so a reviewer who joins Slack is found at the next notice.
 */
const USER_ID_TTL_MS = 10 * 60_000;
const REMEMBERED_USER_IDS = 1000;

/**
 * Sends the Slack side of a stage's notifications. A reviewer asked by email gets a direct
 * message (found with `users.lookupByEmail`); the members of a team with a `slack_channel` are
 * notified by one message in that channel instead, which any member may act on. The team's
 * channel is posted once per stage and kind, however many members the team has: the members'
 * notifications share that one message (and its outcome in the trail).
 */
export class SlackNotifier {
  private readonly channelPosts = new Map<string, Promise<NotificationOutcome>>();
  private readonly userIds = new Map<string, { id: string; until: number }>();
  private unavailableUntil = 0;

  constructor(
    private readonly gateway: SlackGateway,
    private readonly teams: TeamRepository,
  ) {}

  async send(input: {
    intent: IntentState;
    notification: PendingNotification;
    reviewUrl: string;
    now: Date;
  }): Promise<NotificationOutcome> {
    const { intent, notification } = input;
    if (input.now.getTime() < this.unavailableUntil) {
      return {
        ok: false,
        error: 'Slack was unavailable moments ago; not tried again yet',
        retryable: true,
      };
    }
    if (notification.kind === 'decided') return this.showOutcome(input);
    const kind = notification.kind;
    try {
      const route = await this.routeFor(intent, notification.to);
      if (route.kind === 'team') {
        // The intent's version identifies this run of the stage (entering it wrote a version),
        // so the channel is posted once per run: a retried stage task posts again, at least once.
        const key = [intent.id, intent.version, notification.kind, route.channel];
        return await this.once(key.join('|'), () =>
          this.post(route.channel, input, kind, { kind: 'team', team: route.team }, null).catch(
            (error: unknown) => this.failed(error, input.now),
          ),
        );
      }
      const userId = await this.userIdFor(notification.to, input.now);
      if (!userId) {
        return { ok: false, error: `no Slack user has the email ${notification.to}` };
      }
      return await this.post(userId, input, kind, { kind: 'user' }, input.reviewUrl).catch(
        (error: unknown) => {
          // The account may be gone since it was looked up: look it up afresh next time.
          this.userIds.delete(notification.to);
          throw error;
        },
      );
    } catch (error) {
      return this.failed(error, input.now);
    }
  }

  /**
   * The `decided` notice on Slack: the message posted earlier (`message_id`) is rewritten to
   * show the outcome, so its buttons disappear wherever it was posted, a DM or a team channel.
   */
  private async showOutcome(input: {
    intent: IntentState;
    notification: PendingNotification;
    now: Date;
  }): Promise<NotificationOutcome> {
    const messageId = input.notification.message_id ?? '';
    const posted = parseSlackMessageId(messageId);
    if (!posted) return { ok: false, error: `not a Slack message id: ${messageId.slice(0, 100)}` };
    try {
      await this.gateway.updateMessage({
        ...posted,
        // Final, so no buttons whatever the audience or step.
        ...renderSlackOutcome(toView(input.intent), {
          audience: { kind: 'user' },
          messageStep: null,
          now: input.now,
        }),
      });
      return { ok: true, messageId };
    } catch (error) {
      return this.failed(error, input.now);
    }
  }

  private failed(error: unknown, now: Date): NotificationOutcome {
    const unavailable = error instanceof SlackUnavailableError;
    if (unavailable) this.unavailableUntil = now.getTime() + OUTAGE_PAUSE_MS;
    return { ok: false, error: describeFailure(error), retryable: unavailable };
  }

  /**
   * A member asked through a team with a Slack channel is reached in that channel, unless they
   * are also asked by their own address. Membership is read when the team is notified.
   */
  private async routeFor(intent: IntentState, to: string): Promise<Route> {
    const deadline = Date.parse(intent.deadline_at);
    const stages = planStages(intent.policy, Date.parse(intent.step_started_at), deadline);
    const asked = askedAtStage(intent.asked, stages, Math.max(0, intent.stage_index));
    if (asked.includes(to)) return { kind: 'user' };
    for (const target of asked.filter(isTeamRef)) {
      const team = await this.teams.get(target.slice('team:'.length));
      if (team?.slack_channel && team.members.includes(to)) {
        return { kind: 'team', team: team.name, channel: team.slack_channel };
      }
    }
    return { kind: 'user' };
  }

  private async userIdFor(email: string, now: Date): Promise<string | null> {
    const known = this.userIds.get(email);
    if (known && known.until > now.getTime()) return known.id;
    const id = await this.gateway.userIdByEmail(email);
    this.userIds.delete(email);
    if (id) {
      this.userIds.set(email, { id, until: now.getTime() + USER_ID_TTL_MS });
      if (this.userIds.size > REMEMBERED_USER_IDS) {
        const oldest = this.userIds.keys().next().value;
        if (oldest !== undefined) this.userIds.delete(oldest);
      }
    }
    return id;
  }

  private async post(
    channel: string,
    input: { intent: IntentState; notification: PendingNotification; now: Date },
    kind: RequestKind,
    audience: SlackAudience,
    reviewUrl: string | null,
  ): Promise<NotificationOutcome> {
    const content = renderSlackNotification(input.intent, kind, {
      audience,
      reviewUrl,
      now: input.now,
      stepClock: input.intent,
    });
    const posted = await this.gateway.postMessage({
      channel,
      ...content,
      metadata: {
        event_type: 'countersign_notification',
        event_payload: {
          intent_id: input.intent.id,
          kind,
          to: audience.kind === 'team' ? `team:${audience.team}` : input.notification.to,
          ...(reviewUrl ? { review_url: reviewUrl } : {}),
        },
      },
    });
    return { ok: true, messageId: slackMessageId(posted) };
  }

  private once(
    key: string,
    send: () => Promise<NotificationOutcome>,
  ): Promise<NotificationOutcome> {
    const existing = this.channelPosts.get(key);
    if (existing) return existing;
    const sending = send();
    this.channelPosts.set(key, sending);
    if (this.channelPosts.size > REMEMBERED_CHANNEL_POSTS) {
      const oldest = this.channelPosts.keys().next().value;
      if (oldest !== undefined) this.channelPosts.delete(oldest);
    }
    return sending;
  }
}

/** How the trail names a posted Slack message, so that it can be found and updated later. */
function slackMessageId(posted: { channel: string; ts: string }): string {
  return `slack:${posted.channel}:${posted.ts}`;
}

function parseSlackMessageId(messageId: string): { channel: string; ts: string } | null {
  const match = /^slack:([^:]+):(\d+\.\d+)$/.exec(messageId);
  return match?.[1] && match[2] ? { channel: match[1], ts: match[2] } : null;
}

/** A failure as the trail records it: Slack's error code, never a token or a request. */
function describeFailure(error: unknown): string {
  if (error instanceof Error) {
    const code = 'code' in error && typeof error.code === 'string' ? ` (${error.code})` : '';
    return `${error.name}${code}: ${error.message}`.slice(0, 500);
  }
  return 'send failed';
}
