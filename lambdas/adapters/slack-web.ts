import { AsyncLocalStorage } from 'node:async_hooks';
import type { WebClient } from '@slack/web-api';
import {
  type SlackCallOptions,
  type SlackGateway,
  type SlackMessage,
  SlackUnavailableError,
} from '../core/ports';
import type { SlackModalView } from '../domain/slack-blocks';

/**
 * `SlackGateway` on the Slack Web API (`@slack/web-api`). The client is built once per container
 * (`shared/clients.ts`) with the bot token, the API URL from configuration (the local stand-in
 * in local mode) and a retry policy suited to its caller; WebClient retries failed requests
 * and honours Slack's `Retry-After` on rate limits.
 */
export class SlackWebGateway implements SlackGateway {
  constructor(private readonly client: WebClient) {}

  async userIdByEmail(email: string): Promise<string | null> {
    try {
      const result = await reachable(this.client.users.lookupByEmail({ email }));
      return result.user?.id ?? null;
    } catch (error) {
      if (isPlatformError(error, 'users_not_found')) return null;
      throw error;
    }
  }

  async emailOfUser(userId: string, options: SlackCallOptions = {}): Promise<string | null> {
    try {
      const result = await reachable(
        within(options, () => this.client.users.info({ user: userId })),
      );
      const user = result.user;
      // Only a live person whose address Slack confirmed speaks for that address.
      if (!user || user.deleted || user.is_bot || user.is_email_confirmed === false) return null;
      return user.profile?.email ?? null;
    } catch (error) {
      if (isPlatformError(error, 'user_not_found')) return null;
      throw error;
    }
  }

  async postMessage(message: SlackMessage): Promise<{ channel: string; ts: string }> {
    const result = await reachable(
      this.client.chat.postMessage({
        channel: message.channel,
        text: message.text,
        blocks: message.blocks,
        // Mentions and links only where the blocks spell them out; nothing parsed from the text.
        unfurl_links: false,
        unfurl_media: false,
        ...(message.metadata ? { metadata: message.metadata } : {}),
      }),
    );
    if (!result.channel || !result.ts) throw new Error('chat.postMessage answered without a ts');
    return { channel: result.channel, ts: result.ts };
  }

  async updateMessage(
    message: SlackMessage & { ts: string },
    options: SlackCallOptions = {},
  ): Promise<void> {
    await reachable(
      within(options, () =>
        this.client.chat.update({
          channel: message.channel,
          ts: message.ts,
          text: message.text,
          blocks: message.blocks,
        }),
      ),
    );
  }

  async postEphemeral(
    input: { channel: string; user: string; text: string },
    options: SlackCallOptions = {},
  ): Promise<void> {
    await reachable(
      within(options, () =>
        this.client.chat.postEphemeral({
          channel: input.channel,
          user: input.user,
          text: input.text,
        }),
      ),
    );
  }

  async openView(
    triggerId: string,
    view: SlackModalView,
    options: SlackCallOptions = {},
  ): Promise<void> {
    await reachable(within(options, () => this.client.views.open({ trigger_id: triggerId, view })));
  }
}

/**
 * WebClient has no per-call signal, only a per-attempt timeout. The signal of the gateway call
 * in progress reaches its requests through this store and `slackFetch`, so that a call the
 * caller gave up on is cancelled (its retry too) instead of landing after the caller moved on.
 */
const callSignal = new AsyncLocalStorage<AbortSignal>();

/**
 * The longest `Retry-After` a call waits out. WebClient sleeps for whatever Slack asks, on every
 * attempt, with its whole queue paused: a 30 s rate limit on a retried call would run the stage
 * task past its 60 s limit (the whole task is then retried, re-sending what went through). A
 * longer one fails the call instead; the notifier then treats Slack as unavailable for a while
 * (its notices go out by email, and NotifyDecided tries again later).
 */
const SLACK_MAX_RATE_LIMIT_WAIT_SECONDS = 5;

/**
 * The `fetch` of every WebClient (`shared/clients.ts`): Node's, cancelled by the caller's signal,
 * and refusing to let the client sleep through a long rate limit.
 */
export const slackFetch: typeof fetch = async (input, init) => {
  const signal = callSignal.getStore();
  const response = await fetch(
    input,
    signal
      ? { ...init, signal: init?.signal ? AbortSignal.any([init.signal, signal]) : signal }
      : init,
  );
  if (response.status === 429) {
    const retryAfter = Number.parseInt(response.headers.get('retry-after') ?? '', 10);
    if (retryAfter > SLACK_MAX_RATE_LIMIT_WAIT_SECONDS) {
      await response.body?.cancel();
      throw new Error(
        `Slack rate-limited this call for ${retryAfter} s, longer than a send waits (${SLACK_MAX_RATE_LIMIT_WAIT_SECONDS} s)`,
      );
    }
  }
  return response;
};

/**
 * Runs one gateway call under the caller's signal. The caller gets its answer (a failure) as
 * soon as the signal fires, whether or not the client was built with `slackFetch`.
 */
function within<T>(options: SlackCallOptions, call: () => Promise<T>): Promise<T> {
  const { signal } = options;
  if (!signal) return call();
  return new Promise<T>((resolve, reject) => {
    const giveUp = () =>
      reject(new SlackUnavailableError('Slack did not answer in the time this call had'));
    if (signal.aborted) {
      giveUp();
      return;
    }
    signal.addEventListener('abort', giveUp, { once: true });
    callSignal
      .run(signal, call)
      .then(resolve, reject)
      .finally(() => signal.removeEventListener('abort', giveUp));
  });
}

/**
 * Slack's own refusals (`ok: false`) are `WebAPIPlatformError`s with the code in `data.error`.
 * Checked by shape, so that importing this adapter does not load the Slack SDK.
 */
/**
 * Slack's own answers (`ok: false`) pass through; anything else (network, timeout, HTTP 5xx, a
 * rate limit past the retries) becomes `SlackUnavailableError`, which the caller may treat as
 * an outage rather than as a problem with one message.
 */
async function reachable<T>(call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (error) {
    if (error instanceof Error && 'code' in error && error.code === 'slack_webapi_platform_error') {
      throw error;
    }
    const message = error instanceof Error ? error.message : String(error);
    throw new SlackUnavailableError(`Slack is unavailable: ${message}`, { cause: error });
  }
}

function isPlatformError(error: unknown, code: string): boolean {
  if (!(error instanceof Error) || !('code' in error) || !('data' in error)) return false;
  const data = error.data;
  return (
    error.code === 'slack_webapi_platform_error' &&
    typeof data === 'object' &&
    data !== null &&
    'error' in data &&
    data.error === code
  );
}
