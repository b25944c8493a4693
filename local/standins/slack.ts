import { createHash, createHmac, randomUUID } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { Outbox } from '../outbox';
import { sameSecret } from '../request-guard';
import { readBody, type StandIn, sendJson, startStandIn } from './http-util';

/** A modal opened with `views.open`, as Slack would hold it for the user who clicked. */
export interface OpenedView {
  id: string;
  trigger_id: string;
  at: string;
  view: Record<string, unknown>;
}

/** A message posted with `chat.postEphemeral`: only `user` would see it, in `channel`. */
export interface EphemeralMessage {
  channel: string;
  user: string;
  text: string;
  at: string;
}

export interface SlackStandIn extends StandIn {
  /** What Slack shows people outside the channel history: modals and ephemeral messages. */
  interactions(): { views: OpenedView[]; ephemerals: EphemeralMessage[] };
  /** The token its methods accept. */
  botToken: string;
}

/** How many modals and ephemeral messages are kept in memory (they are transient in Slack too). */
const KEPT_INTERACTIONS = 200;

/**
 * The Slack Web API methods Countersign calls, on this machine (point `@slack/web-api`'s
 * `slackApiUrl` at `${endpoint}/api/`). Posted messages land in the outbox with their blocks, so
 * a click can be replayed exactly as Slack would send it; each email maps to a stable user id,
 * as `users.lookupByEmail` would answer, and `users.info` maps it back (the directory of users
 * looked up is kept in `directoryFile`, so it survives a restart). Modals and ephemeral messages
 * are kept in memory for the local console and tests (`interactions()`).
 */
export async function startSlackStandIn(options: {
  outbox: Outbox;
  directoryFile?: string;
  /** The bot token the stack gave its handlers; any other is `invalid_auth`, as in Slack. */
  botToken: string;
}): Promise<SlackStandIn> {
  const { outbox } = options;
  const directory = loadDirectory(options.directoryFile);
  const views: OpenedView[] = [];
  const ephemerals: EphemeralMessage[] = [];
  const keep = <T>(list: T[], item: T) => {
    list.push(item);
    if (list.length > KEPT_INTERACTIONS) list.shift();
  };
  const standIn = await startStandIn(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://slack.local');
    const method = url.pathname.replace(/^\/api\//, '');
    const raw = req.method === 'POST' ? await readBody(req) : '';
    // Like Slack: every method but the few public ones needs a token, the one the stack set.
    const token = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (token === undefined) return sendJson(res, 200, { ok: false, error: 'not_authed' });
    if (!sameSecret(token, options.botToken)) {
      return sendJson(res, 200, { ok: false, error: 'invalid_auth' });
    }
    const args = parseArguments(raw, req.headers['content-type'] ?? '', url.searchParams);
    switch (method) {
      case 'users.lookupByEmail': {
        const email = String(args.email ?? '')
          .trim()
          .toLowerCase();
        if (!email.includes('@'))
          return sendJson(res, 200, { ok: false, error: 'users_not_found' });
        const id = slackUserIdFor(email);
        if (directory.get(id) !== email) {
          directory.set(id, email);
          saveDirectory(options.directoryFile, directory);
        }
        return sendJson(res, 200, {
          ok: true,
          user: { id, name: email.split('@')[0], profile: { email } },
        });
      }
      case 'users.info': {
        const id = String(args.user ?? '');
        const email = directory.get(id);
        if (!email) return sendJson(res, 200, { ok: false, error: 'user_not_found' });
        return sendJson(res, 200, {
          ok: true,
          user: { id, name: email.split('@')[0], is_email_confirmed: true, profile: { email } },
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
      case 'chat.postEphemeral': {
        const channel = String(args.channel ?? '');
        const user = String(args.user ?? '');
        if (!channel) return sendJson(res, 200, { ok: false, error: 'channel_not_found' });
        if (!user) return sendJson(res, 200, { ok: false, error: 'user_not_in_channel' });
        keep(ephemerals, { channel, user, text: String(args.text ?? ''), at: now() });
        return sendJson(res, 200, { ok: true, message_ts: slackTimestamp() });
      }
      case 'views.open': {
        const triggerId = String(args.trigger_id ?? '');
        const view = parseObject(args.view);
        if (!triggerId) return sendJson(res, 200, { ok: false, error: 'invalid_trigger' });
        if (!view) return sendJson(res, 200, { ok: false, error: 'invalid_arguments' });
        const opened: OpenedView = {
          id: `V${randomUUID().replace(/-/g, '').slice(0, 10).toUpperCase()}`,
          trigger_id: triggerId,
          at: now(),
          view,
        };
        keep(views, opened);
        return sendJson(res, 200, {
          ok: true,
          view: { ...view, id: opened.id, state: { values: {} } },
        });
      }
      case 'auth.test':
        return sendJson(res, 200, { ok: true, user_id: 'UCOUNTERSIGN', team: 'local' });
      default:
        return sendJson(res, 200, { ok: false, error: 'unknown_method' });
    }
  });
  return {
    ...standIn,
    botToken: options.botToken,
    interactions: () => ({ views: [...views], ephemerals: [...ephemerals] }),
  };
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
  /** The id of the actions block the button sits in (Slack sends it with the action). */
  blockId?: string;
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
        ...(click.blockId ? { block_id: click.blockId } : {}),
        value: click.value,
        action_ts: slackTimestamp(),
      },
    ],
  };
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

/** The form body Slack posts when a modal is submitted, with the values typed into its inputs. */
export function buildViewSubmissionBody(submission: {
  userId: string;
  view: { id: string; callback_id?: unknown; private_metadata?: unknown };
  /** `{ <block_id>: { <action_id>: "typed value" } }` */
  values: Record<string, Record<string, string>>;
}): string {
  const values = Object.fromEntries(
    Object.entries(submission.values).map(([blockId, actions]) => [
      blockId,
      Object.fromEntries(
        Object.entries(actions).map(([actionId, value]) => [
          actionId,
          { type: 'plain_text_input', value },
        ]),
      ),
    ]),
  );
  const payload = {
    type: 'view_submission',
    team: { id: 'TLOCAL', domain: 'local' },
    user: { id: submission.userId },
    api_app_id: 'ALOCAL',
    token: 'deprecated-verification-token',
    trigger_id: `local.${randomUUID()}`,
    view: {
      id: submission.view.id,
      type: 'modal',
      callback_id: submission.view.callback_id ?? '',
      private_metadata: submission.view.private_metadata ?? '',
      state: { values },
    },
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

function parseObject(value: unknown): Record<string, unknown> | undefined {
  const parsed = typeof value === 'string' ? safeParse(value) : value;
  return parsed && typeof parsed === 'object' && !Array.isArray(parsed)
    ? (parsed as Record<string, unknown>)
    : undefined;
}

function now(): string {
  return new Date().toISOString();
}

/** Slack user id -> email of everyone looked up so far. */
function loadDirectory(file: string | undefined): Map<string, string> {
  const directory = new Map<string, string>();
  if (!file || !existsSync(file)) return directory;
  const parsed = safeParse(readFileSync(file, 'utf8'));
  if (parsed && typeof parsed === 'object') {
    for (const [id, email] of Object.entries(parsed)) {
      if (typeof email === 'string') directory.set(id, email);
    }
  }
  return directory;
}

function saveDirectory(file: string | undefined, directory: Map<string, string>): void {
  if (!file) return;
  const temporary = `${file}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(Object.fromEntries(directory), null, 2)}\n`);
  renameSync(temporary, file);
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
