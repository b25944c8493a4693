import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import * as path from 'node:path';
import { z } from 'zod';
import { authenticate } from '../../lambdas/core/auth';
import type { KeyRepository } from '../../lambdas/core/ports';
import { DomainError } from '../../lambdas/domain/errors';
import { errorResult } from '../../lambdas/shared/http';
import type { Outbox, OutboxItem } from '../outbox';
import { readBody } from '../standins/http-util';
import {
  buildBlockActionsBody,
  buildViewSubmissionBody,
  type SlackStandIn,
  signSlackRequest,
  slackUserIdFor,
} from '../standins/slack';
import { CONSOLE_CSS, consoleHtml } from './page';

/**
 * The local console at `GET /_local/`: a page for people trying Countersign on this machine.
 *
 * - The page, its script and its style carry no data and are served without a key. Every data
 *   call the page makes (`/v1/intents…`, `/_local/outbox`, `/_local/slack`) and both console
 *   actions below need the admin key as a Bearer header: the page asks for it once and keeps it
 *   in the tab's sessionStorage. It is never put in a URL, a cookie or a log line, so another
 *   site (or a DNS-rebinding page on this port) cannot act with it.
 * - `POST /_local/console/slack/click` and `/_local/console/slack/submit` replay a click on a
 *   Slack button, or the submission of a modal, exactly as Slack sends them to
 *   `POST /slack/interactions` (form body `payload=<json>`, v0 signature): the signing secret stays
 *   here. They take JSON only, with the admin key, so a plain cross-site form cannot reach them.
 */
export interface ConsoleContext {
  keys: KeyRepository;
  outbox: Outbox;
  slack: SlackStandIn;
  slackSigningSecret: string;
  /** The API's own base URL (known once the server listens). */
  apiUrl(): string;
}

const HEADERS = {
  'Cache-Control': 'no-store',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
};

/**
 * Script only from this origin (`/_local/console.js`), data only from this origin, nothing
 * framed but the email previews (`srcdoc`, sandboxed without scripts; inline styles are allowed
 * for them, as emails use them), no form posts, no framing of the console itself.
 */
const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "frame-src 'none'",
  "form-action 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** How many clicks the console remembers, to know who submits the modal a click opened. */
const KEPT_CLICKS = 200;

const clickSchema = z
  .object({
    message_id: z.string().min(1).max(100),
    action_id: z.string().min(1).max(255),
    /** Who clicks a message posted in a team's channel (a DM is clicked by its recipient). */
    as: z
      .string()
      .trim()
      .toLowerCase()
      .max(320)
      .regex(/^[^@\s]+@[^@\s]+$/, 'must be an email address')
      .optional(),
  })
  .strict();

const submitSchema = z
  .object({
    view_id: z.string().min(1).max(100),
    values: z.record(z.string().max(255), z.record(z.string().max(255), z.string().max(3000))),
  })
  .strict();

export function createConsoleRoutes(context: ConsoleContext) {
  /** trigger_id of a console click -> the Slack user who clicked (who submits its modal). */
  const clickers = new Map<string, string>();
  let script: Promise<string> | undefined;

  return async function serveConsole(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    const url = new URL(req.url ?? '/', 'http://local');
    const method = req.method ?? 'GET';
    const isRead = method === 'GET' || method === 'HEAD';
    if (url.pathname === '/_local' && isRead) {
      res.writeHead(308, { ...HEADERS, Location: '/_local/' });
      res.end();
      return true;
    }
    if (url.pathname === '/_local/' && isRead) {
      sendText(res, method, 'text/html; charset=utf-8', consoleHtml(), CONSOLE_CSP);
      return true;
    }
    if (url.pathname === '/_local/console.css' && isRead) {
      sendText(res, method, 'text/css; charset=utf-8', CONSOLE_CSS);
      return true;
    }
    if (url.pathname === '/_local/console.js' && isRead) {
      script ??= buildClientScript();
      const built = await script.catch((error: unknown) => {
        script = undefined;
        throw error;
      });
      sendText(res, method, 'text/javascript; charset=utf-8', built);
      return true;
    }
    if (url.pathname === '/_local/console/slack/click' && method === 'POST') {
      await answer(res, async () => click(await readAction(req, clickSchema)));
      return true;
    }
    if (url.pathname === '/_local/console/slack/submit' && method === 'POST') {
      await answer(res, async () => submit(await readAction(req, submitSchema)));
      return true;
    }
    return false;
  };

  async function readAction<T>(req: IncomingMessage, schema: z.ZodType<T>): Promise<T> {
    // A page on another origin can post a form or a "simple" request here, but not with an
    // Authorization header or a JSON content type without a CORS preflight, which this server
    // never grants.
    const principal = await authenticate(req.headers.authorization, context.keys);
    if (principal.role !== 'admin') {
      throw new DomainError('forbidden', 'The console needs the admin key.');
    }
    const site = req.headers['sec-fetch-site'];
    if (site !== undefined && site !== 'same-origin' && site !== 'none') {
      throw new DomainError('forbidden', 'Console actions come from the console page only.');
    }
    if (!(req.headers['content-type'] ?? '').startsWith('application/json')) {
      throw new DomainError('invalid_request', 'Console actions take a JSON body.');
    }
    let body: unknown;
    try {
      body = JSON.parse(await readBody(req));
    } catch {
      throw new DomainError('invalid_request', 'The body is not valid JSON.');
    }
    return schema.parse(body);
  }

  /** A click on a button of a Slack message in the outbox, sent as Slack would send it. */
  async function click(input: z.infer<typeof clickSchema>) {
    const item = context.outbox.list().find((candidate) => candidate.id === input.message_id);
    if (!item?.slack) throw new DomainError('not_found', 'No such Slack message in the outbox.');
    const found = findButton(item, input.action_id);
    if (!found) {
      throw new DomainError('invalid_request', 'This message has no such button (any more).');
    }
    let userId = item.slack.user;
    if (!userId) {
      if (!input.as) {
        throw new DomainError('validation_failed', 'Say who clicks this channel message.', {
          details: [{ field: 'as', message: 'a reviewer email is required' }],
        });
      }
      // A member of the workspace: Slack knows every member's email; the stand-in knows those
      // it was asked about, so ask it first.
      await callSlackStandIn('users.lookupByEmail', { email: input.as });
      userId = slackUserIdFor(input.as);
    }
    const triggerId = `console.${randomUUID()}`;
    remember(triggerId, userId);
    const since = new Date().toISOString();
    const body = buildBlockActionsBody({
      userId,
      channel: item.slack.channel,
      messageTs: item.slack.ts,
      actionId: input.action_id,
      ...(found.blockId ? { blockId: found.blockId } : {}),
      value: found.value,
      triggerId,
    });
    const slackAnswer = await postToInteractions(body);
    const { views } = context.slack.interactions();
    const opened = views.find((view) => view.trigger_id === triggerId);
    return {
      status: slackAnswer.status,
      response: slackAnswer.body,
      user: userId,
      modal: opened ? { id: opened.id, view: opened.view } : null,
      ephemerals: ephemeralsFor(userId, since),
    };
  }

  /** The submission of a modal a console click opened, by the person who clicked. */
  async function submit(input: z.infer<typeof submitSchema>) {
    const opened = context.slack.interactions().views.find((view) => view.id === input.view_id);
    const userId = opened ? clickers.get(opened.trigger_id) : undefined;
    if (!opened || !userId) {
      throw new DomainError('not_found', 'This form is no longer open; click the button again.');
    }
    const since = new Date().toISOString();
    const body = buildViewSubmissionBody({
      userId,
      view: {
        id: opened.id,
        callback_id: opened.view.callback_id,
        private_metadata: opened.view.private_metadata,
      },
      values: input.values,
    });
    const slackAnswer = await postToInteractions(body);
    return {
      status: slackAnswer.status,
      response: slackAnswer.body,
      user: userId,
      ephemerals: ephemeralsFor(userId, since),
    };
  }

  function remember(triggerId: string, userId: string): void {
    clickers.set(triggerId, userId);
    if (clickers.size > KEPT_CLICKS) {
      const oldest = clickers.keys().next().value;
      if (oldest !== undefined) clickers.delete(oldest);
    }
  }

  function ephemeralsFor(userId: string, since: string): string[] {
    return context.slack
      .interactions()
      .ephemerals.filter((message) => message.user === userId && message.at >= since)
      .map((message) => message.text);
  }

  async function postToInteractions(body: string): Promise<{ status: number; body: unknown }> {
    const response = await fetch(`${context.apiUrl()}/slack/interactions`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/x-www-form-urlencoded',
        ...signSlackRequest(context.slackSigningSecret, body),
      },
      body,
    });
    const text = await response.text();
    let parsed: unknown = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = text;
    }
    return { status: response.status, body: parsed };
  }

  async function callSlackStandIn(method: string, args: Record<string, string>): Promise<void> {
    await fetch(`${context.slack.endpoint}/api/${method}`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${context.slack.botToken}`,
        'Content-Type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams(args).toString(),
    });
  }
}

interface ButtonLike {
  action_id?: unknown;
  value?: unknown;
}

/** The button with `actionId` in the message's actions block, and that block's id. */
function findButton(
  item: OutboxItem,
  actionId: string,
): { value: string; blockId: string | undefined } | undefined {
  for (const block of item.slack?.blocks ?? []) {
    if (!block || typeof block !== 'object') continue;
    const {
      type,
      block_id: blockId,
      elements,
    } = block as {
      type?: unknown;
      block_id?: unknown;
      elements?: unknown;
    };
    if (type !== 'actions' || !Array.isArray(elements)) continue;
    const button = (elements as ButtonLike[]).find((element) => element.action_id === actionId);
    if (button && typeof button.value === 'string') {
      return { value: button.value, blockId: typeof blockId === 'string' ? blockId : undefined };
    }
  }
  return undefined;
}

async function answer(res: ServerResponse, work: () => Promise<unknown>): Promise<void> {
  let status = 200;
  let text: string;
  try {
    text = JSON.stringify(await work());
  } catch (error) {
    const result = errorResult(error);
    status = result.statusCode;
    text = result.body;
  }
  res.writeHead(status, {
    ...HEADERS,
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
  });
  res.end(text);
}

function sendText(
  res: ServerResponse,
  method: string,
  contentType: string,
  body: string,
  csp?: string,
): void {
  res.writeHead(200, {
    ...HEADERS,
    'Content-Type': contentType,
    'Content-Length': Buffer.byteLength(body),
    ...(csp ? { 'Content-Security-Policy': csp } : {}),
  });
  res.end(method === 'HEAD' ? undefined : body);
}

/** The page's script, written in TypeScript (client.ts), bundled on first use. */
async function buildClientScript(): Promise<string> {
  const { build } = await import('esbuild');
  const result = await build({
    entryPoints: [path.join(import.meta.dirname, 'client.ts')],
    bundle: true,
    write: false,
    format: 'iife',
    target: 'es2022',
    platform: 'browser',
    legalComments: 'none',
    logLevel: 'silent',
  });
  const output = result.outputFiles[0];
  if (!output) throw new Error('the console script did not build');
  return output.text;
}
