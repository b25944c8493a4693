import { createHash, createHmac, randomUUID } from 'node:crypto';
import type { Outbox } from '../outbox';
import { readBody, type StandIn, sendJson, startStandIn } from './http-util';

/**
 * The Slack Web API methods Countersign calls, on this machine (point `@slack/web-api`'s
 * `slackApiUrl` at `${endpoint}/api/`). Posted messages land in the outbox with their blocks, so
 * a click can be replayed exactly as Slack would send it; each email maps to a stable user id,
 * as `users.lookupByEmail` would answer.
 */
export async function startSlackStandIn(options: { outbox: Outbox }): Promise<StandIn> {
  const { outbox } = options;
  return startStandIn(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://slack.local');
    const method = url.pathname.replace(/^\/api\//, '');
    const raw = req.method === 'POST' ? await readBody(req) : '';
    const args = parseArguments(raw, req.headers['content-type'] ?? '', url.searchParams);
    switch (method) {
      case 'users.lookupByEmail': {
        const email = String(args.email ?? '');
        if (!email.includes('@'))
          return sendJson(res, 200, { ok: false, error: 'users_not_found' });
        return sendJson(res, 200, {
          ok: true,
          user: { id: slackUserIdFor(email), name: email.split('@')[0], profile: { email } },
        });
      }
      case 'chat.postMessage': {
        const channel = String(args.channel ?? '');
        if (!channel) return sendJson(res, 200, { ok: false, error: 'channel_not_found' });
        const ts = slackTimestamp();
        const blocks = parseBlocks(args.blocks);
        const metadata = readMetadata(args.metadata);
        outbox.append({
          channel: 'slack',
          to: String(metadata.to ?? channel),
          subject: String(args.text ?? ''),
          text: String(args.text ?? ''),
          review_url: typeof metadata.review_url === 'string' ? metadata.review_url : null,
          intent_id: typeof metadata.intent_id === 'string' ? metadata.intent_id : null,
          kind: typeof metadata.kind === 'string' ? metadata.kind : null,
          slack: { channel, user: channel.startsWith('U') ? channel : null, ts, blocks },
        });
        return sendJson(res, 200, { ok: true, channel, ts, message: { text: args.text, blocks } });
      }
      case 'chat.update': {
        const channel = String(args.channel ?? '');
        const ts = String(args.ts ?? '');
        const existing = outbox
          .list()
          .find((item) => item.slack?.channel === channel && item.slack.ts === ts);
        if (!existing) return sendJson(res, 200, { ok: false, error: 'message_not_found' });
        const blocks = parseBlocks(args.blocks);
        outbox.update(existing.id, (item) => ({
          ...item,
          text: String(args.text ?? item.text),
          slack: { channel, user: item.slack?.user ?? null, ts, blocks },
        }));
        return sendJson(res, 200, { ok: true, channel, ts });
      }
      case 'auth.test':
        return sendJson(res, 200, { ok: true, user_id: 'UCOUNTERSIGN', team: 'local' });
      default:
        return sendJson(res, 200, { ok: false, error: 'unknown_method' });
    }
  });
}

/** The stand-in Slack user id of a reviewer's email: stable across restarts. */
export function slackUserIdFor(email: string): string {
  const digest = createHash('sha256').update(email.trim().toLowerCase()).digest('hex');
  return `U${digest.slice(0, 10).toUpperCase()}`;
}

/** Headers Slack sends with an interaction: `v0` HMAC-SHA256 over `v0:<timestamp>:<raw body>`. */
export function signSlackRequest(
  signingSecret: string,
  rawBody: string,
  timestampSeconds = Math.floor(Date.now() / 1000),
): Record<string, string> {
  const signature = createHmac('sha256', signingSecret)
    .update(`v0:${timestampSeconds}:${rawBody}`)
    .digest('hex');
  return {
    'x-slack-request-timestamp': String(timestampSeconds),
    'x-slack-signature': `v0=${signature}`,
  };
}

export interface BlockActionsClick {
  userId: string;
  channel: string;
  messageTs: string;
  actionId: string;
  value: string;
  triggerId?: string;
  responseUrl?: string;
}

/** The form body Slack posts to the interactivity URL when a button is clicked. */
export function buildBlockActionsBody(click: BlockActionsClick): string {
  const payload = {
    type: 'block_actions',
    user: { id: click.userId },
    api_app_id: 'ALOCAL',
    token: 'deprecated-verification-token',
    trigger_id: click.triggerId ?? `local.${randomUUID()}`,
    team: { id: 'TLOCAL', domain: 'local' },
    channel: { id: click.channel },
    container: { type: 'message', message_ts: click.messageTs, channel_id: click.channel },
    message: { ts: click.messageTs },
    response_url: click.responseUrl ?? '',
    actions: [
      {
        type: 'button',
        action_id: click.actionId,
        value: click.value,
        action_ts: slackTimestamp(),
      },
    ],
  };
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

function slackTimestamp(): string {
  const now = Date.now();
  return `${Math.floor(now / 1000)}.${String((now % 1000) * 1000 + Math.floor(Math.random() * 1000)).padStart(6, '0')}`;
}

function parseArguments(
  raw: string,
  contentType: string,
  query: URLSearchParams,
): Record<string, unknown> {
  const args: Record<string, unknown> = Object.fromEntries(query);
  if (!raw) return args;
  if (contentType.includes('application/json')) {
    try {
      return { ...args, ...(JSON.parse(raw) as Record<string, unknown>) };
    } catch {
      return args;
    }
  }
  return { ...args, ...Object.fromEntries(new URLSearchParams(raw)) };
}

function parseBlocks(value: unknown): unknown[] {
  if (Array.isArray(value)) return value;
  if (typeof value !== 'string') return [];
  try {
    const parsed: unknown = JSON.parse(value);
    return Array.isArray(parsed) ? parsed : [];
  } catch {
    return [];
  }
}

/** Countersign puts the intent, kind and review link in message metadata, as any app may. */
function readMetadata(value: unknown): Record<string, unknown> {
  const parsed = typeof value === 'string' ? safeParse(value) : value;
  if (parsed && typeof parsed === 'object' && 'event_payload' in parsed) {
    const payload = (parsed as { event_payload: unknown }).event_payload;
    if (payload && typeof payload === 'object') return payload as Record<string, unknown>;
  }
  return {};
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
