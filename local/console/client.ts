/// <reference lib="dom" />
/// <reference lib="dom.iterable" />

/**
 * The local console's script (served as `/_local/console.js`, bundled by routes.ts).
 *
 * - The admin key is asked for once, kept in this tab's sessionStorage and sent only as an
 *   `Authorization: Bearer` header to this origin. It never goes into a URL.
 * - Every value shown is set with `textContent` or as an attribute, never parsed as HTML; the
 *   only HTML rendered is an email's, inside a sandboxed `srcdoc` frame that cannot run script.
 * - The views refresh every two seconds and are rebuilt only when their data changed.
 */

import { INTENT_STATUSES } from '../../lambdas/domain/intent';
import type { AuditEvent, Intent, IntentStatus } from '../../sdk/src/types';
import type { OutboxItem as StoredOutboxItem } from '../outbox';

const KEY_STORAGE = 'countersign.console.admin-key';
const POLL_MS = 2000;
const LIST_LIMIT = 100;

interface SlackText {
  type?: string;
  text?: string;
}

interface SlackElement {
  type?: string;
  action_id?: string;
  text?: SlackText;
  value?: string;
  url?: string;
  style?: string;
  confirm?: { title?: SlackText; text?: SlackText; confirm?: SlackText; deny?: SlackText };
}

interface SlackBlock {
  type?: string;
  block_id?: string;
  text?: SlackText;
  fields?: SlackText[];
  elements?: (SlackElement & SlackText)[];
  label?: SlackText;
  hint?: SlackText;
  element?: {
    action_id?: string;
    multiline?: boolean;
    max_length?: number;
    initial_value?: string;
  };
}

interface SlackView {
  title?: SlackText;
  submit?: SlackText;
  close?: SlackText;
  blocks?: SlackBlock[];
}

/** An outbox item as `GET /_local/outbox` serves it, with the Slack blocks this page renders. */
type OutboxItem = StoredOutboxItem<SlackBlock>;

/** The contract's types as this page reads them (`test/contract/types.test.ts` compares them). */
export type { AuditEvent, Intent, OutboxItem };

interface ConsoleAnswer {
  status: number;
  response: unknown;
  user: string;
  modal?: { id: string; view: SlackView } | null;
  ephemerals: string[];
}

type Route =
  | { name: 'intents' }
  | { name: 'intent'; id: string }
  | { name: 'outbox' }
  | { name: 'signin' };

class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const state = {
  key: sessionStorage.getItem(KEY_STORAGE) ?? '',
  statusFilter: '' as IntentStatus | '',
  channelFilter: '' as OutboxItem['channel'] | '',
  /** The last data rendered, to rebuild a view only when something changed. */
  rendered: '',
  /** Which <details> are open, by id, so that a refresh keeps them open. */
  open: new Set<string>(),
  /** "Click as" emails typed for channel messages, by message id. */
  clickAs: new Map<string, string>(),
  /** Recipients of intents seen so far (for "click as" suggestions). */
  recipients: new Map<string, string[]>(),
  timer: 0,
  generation: 0,
};

const app = byId('app');
const nav = byId('nav');
const live = byId('live');
const signout = byId('signout');
const toasts = byId('toasts');
const dialog = byId('dialog') as HTMLDialogElement;

function byId(id: string): HTMLElement {
  const found = document.getElementById(id);
  if (!found) throw new Error(`the console page has no #${id}`);
  return found;
}

// ---------------------------------------------------------------------------------------------
// DOM helpers: strings always become text nodes.

type Child = Node | string | number | null | undefined | false;

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Record<string, string | undefined> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value !== undefined) node.setAttribute(name, value);
  }
  append(node, children);
  return node;
}

function append(node: Node, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.appendChild(typeof child === 'object' ? child : document.createTextNode(String(child)));
  }
}

/** Only http(s) links are made clickable; anything else stays text. */
function safeHref(url: string | null | undefined): string | undefined {
  if (!url) return undefined;
  try {
    const parsed = new URL(url, location.href);
    return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? parsed.href : undefined;
  } catch {
    return undefined;
  }
}

function externalLink(url: string, label: Child, className?: string): HTMLElement {
  const href = safeHref(url);
  if (!href) return el('span', { class: className }, label);
  return el('a', { href, target: '_blank', rel: 'noopener noreferrer', class: className }, label);
}

function statusPill(status: string): HTMLElement {
  return el('span', { class: `pill s-${status}` }, status.replace('_', ' '));
}

function when(iso: string): HTMLElement {
  const time = el('time', { datetime: iso, title: iso }, `${absolute(iso)}`);
  return el('span', {}, time, el('span', { class: 'muted' }, ` (${relative(iso)})`));
}

function absolute(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  const today = new Date().toDateString() === date.toDateString();
  return today
    ? date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' })
    : date.toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' });
}

function relative(iso: string): string {
  const ms = Date.parse(iso) - Date.now();
  if (!Number.isFinite(ms)) return '';
  const abs = Math.abs(ms);
  const units: [number, string][] = [
    [86_400_000, 'd'],
    [3_600_000, 'h'],
    [60_000, 'min'],
    [1000, 's'],
  ];
  let text = 'now';
  for (const [size, unit] of units) {
    if (abs >= size) {
      text = `${Math.floor(abs / size)} ${unit}`;
      break;
    }
  }
  if (text === 'now') return 'just now';
  return ms > 0 ? `in ${text}` : `${text} ago`;
}

function pretty(value: unknown): string {
  return JSON.stringify(value, null, 2) ?? 'null';
}

function prettyText(text: string): string {
  try {
    return pretty(JSON.parse(text));
  } catch {
    return text;
  }
}

function toast(text: string, kind: 'ok' | 'err' = 'ok'): void {
  const node = el('div', { class: kind === 'err' ? 'toast err' : 'toast' }, text);
  toasts.appendChild(node);
  setTimeout(() => node.remove(), kind === 'err' ? 9000 : 6000);
}

// ---------------------------------------------------------------------------------------------
// Talking to the API with the admin key.

async function api<T>(path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Authorization: `Bearer ${state.key}` };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(path, {
    method: body === undefined ? 'GET' : 'POST',
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: 'no-store',
    credentials: 'omit',
    referrerPolicy: 'no-referrer',
  });
  const text = await response.text();
  let parsed: unknown = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = null;
  }
  if (!response.ok) {
    const message =
      (parsed as { error?: { message?: string } } | null)?.error?.message ??
      `HTTP ${response.status}`;
    const refused =
      response.status === 401 || (response.status === 403 && path.startsWith('/_local/'));
    // While signing in nothing is stored yet: the sign-in form says what went wrong.
    if (refused && sessionStorage.getItem(KEY_STORAGE)) {
      forgetKey('The admin key was refused. Enter the admin key of this stack.');
    }
    throw new ApiError(response.status, message);
  }
  return parsed as T;
}

function forgetKey(message?: string): void {
  state.key = '';
  sessionStorage.removeItem(KEY_STORAGE);
  showSignin(message);
}

// ---------------------------------------------------------------------------------------------
// Routing and refreshing.

function currentRoute(): Route {
  if (!state.key) return { name: 'signin' };
  const hash = location.hash.replace(/^#\/?/, '');
  const [name, id] = hash.split('/');
  if (name === 'intent' && id) return { name: 'intent', id: decodeURIComponent(id) };
  if (name === 'outbox') return { name: 'outbox' };
  return { name: 'intents' };
}

function onRouteChange(): void {
  state.rendered = '';
  state.generation += 1;
  const route = currentRoute();
  if (route.name === 'signin') {
    showSignin();
    return;
  }
  nav.hidden = false;
  signout.hidden = false;
  live.hidden = false;
  for (const link of nav.querySelectorAll('a')) {
    const active =
      link.dataset.route === route.name ||
      (route.name === 'intent' && link.dataset.route === 'intents');
    if (active) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  app.replaceChildren(el('div', { class: 'empty' }, 'Loading…'));
  void refresh();
}

async function refresh(): Promise<void> {
  clearTimeout(state.timer);
  const route = currentRoute();
  if (route.name === 'signin') return;
  const generation = state.generation;
  try {
    const view = await load(route);
    if (generation !== state.generation) return;
    if (view.fingerprint !== state.rendered) {
      state.rendered = view.fingerprint;
      app.replaceChildren();
      append(app, view.render());
    }
    live.classList.remove('down');
    live.textContent = 'Live';
    live.title = `Updated ${new Date().toLocaleTimeString()}; refreshes every ${POLL_MS / 1000} s`;
  } catch (error) {
    if (generation !== state.generation) return;
    if (error instanceof ApiError && error.status === 401) return;
    live.classList.add('down');
    live.textContent = 'Not reachable';
    live.title = error instanceof Error ? error.message : String(error);
  }
  if (generation === state.generation) {
    state.timer = window.setTimeout(() => void refresh(), POLL_MS);
  }
}

interface LoadedView {
  fingerprint: string;
  render(): Child[];
}

async function load(route: Route): Promise<LoadedView> {
  switch (route.name) {
    case 'intents': {
      const query = new URLSearchParams({ limit: String(LIST_LIMIT) });
      if (state.statusFilter) query.set('status', state.statusFilter);
      const page = await api<{ items: Intent[]; next_cursor: string | null }>(
        `/v1/intents?${query}`,
      );
      for (const intent of page.items) state.recipients.set(intent.id, intent.recipients);
      return {
        fingerprint: JSON.stringify([state.statusFilter, page, minuteTick()]),
        render: () => renderIntents(page.items, page.next_cursor !== null),
      };
    }
    case 'intent': {
      const id = encodeURIComponent(route.id);
      const [intent, events, outbox] = await Promise.all([
        api<Intent>(`/v1/intents/${id}`),
        api<{ items: AuditEvent[] }>(`/v1/intents/${id}/events`),
        api<{ items: OutboxItem[] }>('/_local/outbox'),
      ]);
      state.recipients.set(intent.id, intent.recipients);
      const messages = outbox.items.filter((item) => item.intent_id === intent.id).reverse();
      return {
        fingerprint: JSON.stringify([intent, events, messages, minuteTick()]),
        render: () => renderIntent(intent, events.items, messages),
      };
    }
    case 'outbox': {
      const outbox = await api<{ items: OutboxItem[] }>('/_local/outbox');
      const items = outbox.items
        .filter((item) => !state.channelFilter || item.channel === state.channelFilter)
        .reverse();
      return {
        fingerprint: JSON.stringify([state.channelFilter, items, minuteTick()]),
        render: () => renderOutbox(items, outbox.items.length),
      };
    }
    case 'signin':
      return { fingerprint: '', render: () => [] };
  }
}

/** Relative times ("in 8 h") are redrawn once a minute even when nothing else changed. */
function minuteTick(): number {
  return Math.floor(Date.now() / 60_000);
}

// ---------------------------------------------------------------------------------------------
// Sign-in.

function showSignin(message?: string): void {
  clearTimeout(state.timer);
  state.generation += 1;
  nav.hidden = true;
  signout.hidden = true;
  live.hidden = true;
  const input = el('input', {
    id: 'admin-key',
    type: 'password',
    name: 'admin-key',
    autocomplete: 'off',
    spellcheck: 'false',
    required: '',
  });
  const error = el('p', { class: 'error', role: 'alert' }, message ?? '');
  const button = el('button', { class: 'button primary', type: 'submit' }, 'Open the console');
  // No action and CSP form-action 'none': the key can never be submitted into a URL.
  const form = el(
    'form',
    { class: 'card signin', novalidate: '' },
    el('h1', {}, 'Local console'),
    el(
      'p',
      {},
      'See the intents this stack holds, their audit trails, and every email, Slack message ' +
        'and webhook it sent; open review pages and click Slack buttons as a reviewer would.',
    ),
    el('label', { for: 'admin-key' }, 'Admin key'),
    input,
    el(
      'p',
      { class: 'small' },
      'npm start prints it; it is also api_keys.admin in .countersign/local.json. It stays in ' +
        'this tab only and is sent as a Bearer header, never in a URL.',
    ),
    el('div', { class: 'actions' }, button),
    error,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const key = input.value.trim();
    if (!key) {
      error.textContent = 'Paste the admin key first.';
      return;
    }
    button.disabled = true;
    state.key = key;
    api<unknown>('/_local/outbox')
      .then(() => {
        sessionStorage.setItem(KEY_STORAGE, key);
        // Stay on the view that was asked for (a link to an intent), else show the intents.
        if (!/^#\/(intents|intent\/|outbox)/.test(location.hash)) {
          history.replaceState(null, '', '#/intents');
        }
        onRouteChange();
      })
      .catch((failure: unknown) => {
        state.key = '';
        button.disabled = false;
        error.textContent =
          failure instanceof ApiError && (failure.status === 401 || failure.status === 403)
            ? 'That is not the admin key of this stack.'
            : `Could not reach the stack: ${failure instanceof Error ? failure.message : String(failure)}`;
      });
  });
  app.replaceChildren(form);
  input.focus();
}

// ---------------------------------------------------------------------------------------------
// Intents.

function renderIntents(items: Intent[], more: boolean): Child[] {
  const chips = (['', ...INTENT_STATUSES] as const).map((status) => {
    const chip = el(
      'button',
      { class: 'chip', type: 'button', 'aria-pressed': String(state.statusFilter === status) },
      status === '' ? 'All' : status.replace('_', ' '),
    );
    chip.addEventListener('click', () => {
      state.statusFilter = status;
      state.rendered = '';
      state.generation += 1;
      void refresh();
    });
    return chip;
  });
  const toolbar = el(
    'div',
    { class: 'toolbar', role: 'group', 'aria-label': 'Filter by status' },
    el('h1', { class: 'title' }, 'Intents'),
    ...chips,
  );
  if (items.length === 0) {
    return [
      toolbar,
      el(
        'div',
        { class: 'card empty' },
        state.statusFilter
          ? `No ${state.statusFilter.replace('_', ' ')} intents.`
          : 'No intents yet. Send one with the SDK, the CLI or POST /v1/intents (see the README).',
      ),
    ];
  }
  const head = el(
    'div',
    { class: 'head', 'aria-hidden': 'true' },
    el('span', {}, 'Status'),
    el('span', {}, 'Summary'),
    el('span', {}, 'Asked'),
    el('span', {}, 'Deadline'),
  );
  const rows = items.map((intent) =>
    el(
      'a',
      {
        class: 'row',
        href: `#/intent/${encodeURIComponent(intent.id)}`,
        'data-intent-id': intent.id,
      },
      el('span', {}, statusPill(intent.status)),
      el(
        'span',
        {},
        el('div', { class: 'summary' }, intent.summary),
        el(
          'div',
          { class: 'cell' },
          `${intent.intent_type} · created ${relative(intent.created_at)}`,
        ),
      ),
      el(
        'span',
        { class: 'cell' },
        el('span', { class: 'label' }, 'Asked: '),
        intent.recipients.join(', '),
      ),
      el('span', { class: 'cell' }, el('span', { class: 'label' }, 'Deadline: '), deadline(intent)),
    ),
  );
  return [
    toolbar,
    el('div', { class: 'list' }, head, ...rows),
    more
      ? el(
          'p',
          { class: 'note' },
          `Showing the newest ${LIST_LIMIT}; filter by status to see others.`,
        )
      : null,
  ];
}

function deadline(intent: Intent): Child {
  if (intent.status !== 'pending' && intent.decision) {
    return `decided ${relative(intent.decision.at)}`;
  }
  return el(
    'span',
    { title: intent.deadline_at },
    el('b', {}, relative(intent.deadline_at)),
    ` · ${absolute(intent.deadline_at)}`,
  );
}

function renderIntent(intent: Intent, events: AuditEvent[], messages: OutboxItem[]): Child[] {
  const decision = intent.decision;
  const facts: [string, Child][] = [
    ['Id', el('span', { class: 'mono' }, intent.id)],
    ['Type', intent.intent_type],
    ['Asked by', intent.from_agent],
    ['For', intent.to_agent],
    ['Asked', intent.recipients.join(', ') || '—'],
    [
      'Approvals',
      intent.approvals.length > 0
        ? intent.approvals.map((a) => `${a.by} (${a.channel})`).join(', ')
        : 'none yet',
    ],
    ['Created', when(intent.created_at)],
    ['Deadline', when(intent.deadline_at)],
  ];
  if (decision) {
    facts.push([
      'Decision',
      `${decision.outcome} by ${decision.by} via ${decision.channel}${decision.comment ? `: “${decision.comment}”` : ''}`,
    ]);
    facts.push(['Decided', when(decision.at)]);
  }
  if (intent.callback_url) facts.push(['Callback', intent.callback_url]);

  const summaryCard = el(
    'section',
    { class: 'card' },
    statusPill(intent.status),
    el('h1', {}, intent.summary),
    el(
      'dl',
      { class: 'facts' },
      ...facts.flatMap(([name, value]) => [el('dt', {}, name), el('dd', {}, value)]),
    ),
    el('details', {}, el('summary', {}, 'Policy'), el('pre', {}, pretty(intent.policy))),
  );
  const payloadCard = el(
    'section',
    { class: 'card', 'aria-label': 'Payload' },
    el('h2', {}, 'Payload'),
    el('pre', { class: 'payload' }, pretty(intent.payload)),
  );
  const finalTypes = new Set(['approved', 'rejected', 'timed_out', 'cancelled']);
  const trailCard = el(
    'section',
    { class: 'card', 'aria-label': 'Audit trail' },
    el('h2', {}, `Audit trail (${events.length})`),
    el(
      'ol',
      { class: 'trail' },
      ...events.map((event) => {
        const hasData =
          event.data !== null &&
          typeof event.data === 'object' &&
          Object.keys(event.data as object).length > 0;
        return el(
          'li',
          {
            class: finalTypes.has(event.type) ? 'final' : undefined,
            'data-event-type': event.type,
          },
          el('div', { class: 'what' }, event.type),
          el(
            'div',
            { class: 'meta' },
            when(event.at),
            ` · ${event.actor}`,
            event.channel ? ` · ${event.channel}` : '',
          ),
          hasData ? el('pre', {}, JSON.stringify(event.data)) : null,
        );
      }),
    ),
  );
  const messagesCard = el(
    'section',
    { class: 'card', 'aria-label': 'Messages' },
    el('h2', {}, `Messages sent (${messages.length})`),
    ...(messages.length > 0
      ? messages.map((item) => renderItem(item, false))
      : [el('p', { class: 'muted' }, 'Nothing sent for this intent yet.')]),
  );
  return [
    el('a', { class: 'back', href: '#/intents' }, '← All intents'),
    el(
      'div',
      { class: 'grid detail' },
      el('div', {}, summaryCard, payloadCard, messagesCard),
      el('div', {}, trailCard),
    ),
  ];
}

// ---------------------------------------------------------------------------------------------
// Outbox.

function renderOutbox(items: OutboxItem[], total: number): Child[] {
  const channels = ['', 'email', 'slack', 'webhook'] as const;
  const chips = channels.map((channel) => {
    const chip = el(
      'button',
      { class: 'chip', type: 'button', 'aria-pressed': String(state.channelFilter === channel) },
      channel === ''
        ? 'All'
        : channel === 'email'
          ? 'Email'
          : channel === 'slack'
            ? 'Slack'
            : 'Webhook',
    );
    chip.addEventListener('click', () => {
      state.channelFilter = channel;
      state.rendered = '';
      state.generation += 1;
      void refresh();
    });
    return chip;
  });
  return [
    el(
      'div',
      { class: 'toolbar', role: 'group', 'aria-label': 'Filter by channel' },
      el('h1', { class: 'title' }, 'Outbox'),
      ...chips,
    ),
    items.length === 0
      ? el(
          'div',
          { class: 'card empty' },
          total === 0 ? 'Nothing sent yet.' : 'Nothing sent on this channel yet.',
        )
      : el('div', {}, ...items.map((item) => renderItem(item, true))),
  ];
}

function renderItem(item: OutboxItem, showIntent: boolean): HTMLElement {
  const label = { email: 'Email', slack: 'Slack', webhook: 'Webhook' }[item.channel];
  const head = el(
    'div',
    { class: 'msg-head' },
    el('span', { class: `badge b-${item.channel}` }, label),
    item.kind ? el('span', {}, item.kind) : null,
    el('span', {}, `to ${item.to}`),
    when(item.at),
    showIntent && item.intent_id
      ? el(
          'a',
          { href: `#/intent/${encodeURIComponent(item.intent_id)}`, class: 'mono' },
          item.intent_id,
        )
      : null,
  );
  const body: Child[] =
    item.channel === 'email'
      ? renderEmail(item)
      : item.channel === 'slack'
        ? renderSlack(item)
        : renderWebhook(item);
  return el(
    'article',
    {
      class: 'msg',
      'data-message-id': item.id,
      'data-channel': item.channel,
      'data-kind': item.kind ?? undefined,
      'data-intent': item.intent_id ?? undefined,
    },
    head,
    ...body,
  );
}

/** A <details> whose content is built when it is first opened, and stays open across refreshes. */
function remembered(id: string, summary: string, content: () => Child[]): HTMLDetailsElement {
  const details = el('details', {}, el('summary', {}, summary));
  let filled = false;
  const fill = () => {
    if (filled) return;
    filled = true;
    append(details, content());
  };
  if (state.open.has(id)) {
    details.open = true;
    fill();
  }
  details.addEventListener('toggle', () => {
    if (details.open) {
      state.open.add(id);
      fill();
    } else state.open.delete(id);
  });
  return details;
}

function renderEmail(item: OutboxItem): Child[] {
  const review = safeHref(item.review_url);
  const nodes: Child[] = [
    el('div', { class: 'msg-subject' }, item.subject),
    review
      ? el(
          'div',
          { class: 'actions' },
          externalLink(review, 'Open review page', 'button primary'),
          el('span', { class: 'small muted' }, 'as the reviewer this email went to'),
        )
      : null,
  ];
  if (item.html !== undefined) {
    const html = item.html;
    nodes.push(
      remembered(`${item.id}:html`, 'Show the email', () => {
        const frame = el('iframe', {
          class: 'preview',
          title: `Email to ${item.to}`,
          // No allow-scripts, no allow-same-origin: the email cannot run code or reach the
          // console; links in it do nothing (use Open review page).
          sandbox: '',
          referrerpolicy: 'no-referrer',
        });
        frame.srcdoc = html;
        return [frame];
      }),
    );
  }
  nodes.push(remembered(`${item.id}:text`, 'Plain-text version', () => [el('pre', {}, item.text)]));
  return nodes;
}

function renderWebhook(item: OutboxItem): Child[] {
  const hook = item.webhook;
  const outcome = hook
    ? hook.ok
      ? `Attempt ${hook.attempt}: delivered (HTTP ${hook.status ?? '?'})`
      : `Attempt ${hook.attempt}: failed (${hook.error ?? `HTTP ${hook.status ?? '?'}`})`
    : item.subject;
  return [
    el('div', { class: 'msg-subject' }, outcome),
    remembered(`${item.id}:body`, 'Body and signature', () => [
      el('pre', {}, prettyText(item.text)),
      hook?.jws ? el('p', { class: 'small muted mono' }, `Countersign-JWS: ${hook.jws}`) : null,
      hook
        ? el('p', { class: 'small muted mono' }, `Countersign-Signature: ${hook.signature}`)
        : null,
    ]),
  ];
}

// ---------------------------------------------------------------------------------------------
// Slack: Block Kit rendered as Slack shows it; buttons are sent as Slack would send them.

function renderSlack(item: OutboxItem): Child[] {
  const slack = item.slack;
  if (!slack) return [el('div', { class: 'msg-subject' }, item.subject)];
  const where = slack.user
    ? `Direct message to ${item.to} (${slack.user})`
    : `In channel ${slack.channel} (${item.to})`;
  const blocks = slack.blocks.map((block) => renderBlock(block, item));
  return [el('div', { class: 'small muted' }, where), el('div', { class: 'slack' }, ...blocks)];
}

function renderBlock(block: SlackBlock, item: OutboxItem | null): Child {
  switch (block.type) {
    case 'header':
      return el('div', { class: 's-header' }, block.text?.text ?? '');
    case 'section':
      return el(
        'div',
        {},
        block.text ? el('div', { class: 's-section' }, textObject(block.text)) : null,
        block.fields
          ? el(
              'div',
              { class: 's-fields' },
              ...block.fields.map((field) => el('div', { class: 's-section' }, textObject(field))),
            )
          : null,
      );
    case 'context':
      return el(
        'div',
        { class: 's-context' },
        ...(block.elements ?? []).map((element) => textObject(element)),
      );
    case 'divider':
      return el('hr');
    case 'actions':
      return item ? renderActions(block, item) : null;
    default:
      return null;
  }
}

function renderActions(block: SlackBlock, item: OutboxItem): HTMLElement {
  const channelMessage = !item.slack?.user;
  let asInput: HTMLInputElement | undefined;
  const wrapper = el('div', {});
  if (channelMessage) {
    const listId = `as-${item.id}`;
    asInput = el('input', {
      type: 'email',
      list: listId,
      placeholder: 'reviewer@company.com',
      'aria-label': 'Click as (a team member’s email)',
    });
    asInput.value = state.clickAs.get(item.id) ?? '';
    const input = asInput;
    input.addEventListener('input', () => state.clickAs.set(item.id, input.value));
    const suggestions = (item.intent_id && state.recipients.get(item.intent_id)) || [];
    wrapper.append(
      el(
        'div',
        { class: 'clickas' },
        'Click as',
        input,
        el(
          'datalist',
          { id: listId },
          ...suggestions.map((email) => el('option', { value: email })),
        ),
      ),
    );
  }
  const buttons = (block.elements ?? []).map((element) => {
    const label = element.text?.text ?? element.action_id ?? 'Button';
    if (element.url) return externalLink(element.url, label, 'button');
    const style =
      element.style === 'primary'
        ? 'button approve'
        : element.style === 'danger'
          ? 'button reject'
          : 'button';
    const button = el('button', { class: style, type: 'button' }, label);
    button.addEventListener('click', () => {
      const as = asInput?.value.trim();
      if (asInput && !as) {
        toast('Type the email of the team member who clicks.', 'err');
        asInput.focus();
        return;
      }
      const send = () => void clickSlackButton(item, element, button, as);
      if (element.confirm) confirmDialog(element.confirm, send);
      else send();
    });
    return button;
  });
  wrapper.append(el('div', { class: 'actions' }, ...buttons));
  return wrapper;
}

async function clickSlackButton(
  item: OutboxItem,
  element: SlackElement,
  button: HTMLButtonElement,
  as: string | undefined,
): Promise<void> {
  button.disabled = true;
  try {
    const answer = await api<ConsoleAnswer>('/_local/console/slack/click', {
      message_id: item.id,
      action_id: element.action_id ?? '',
      ...(as ? { as } : {}),
    });
    const who = as ?? item.to;
    reportSlackAnswer(answer, `Clicked “${element.text?.text ?? element.action_id}” as ${who}`);
    if (answer.modal) openSlackModal(answer.modal.id, answer.modal.view);
  } catch (error) {
    toast(
      `The click was not sent: ${error instanceof Error ? error.message : String(error)}`,
      'err',
    );
  } finally {
    button.disabled = false;
    void refresh();
  }
}

function reportSlackAnswer(answer: ConsoleAnswer, what: string): void {
  if (answer.status !== 200) {
    const message =
      (answer.response as { error?: { message?: string } } | null)?.error?.message ?? '';
    toast(`POST /slack/interactions answered ${answer.status}. ${message}`, 'err');
    return;
  }
  if (answer.ephemerals.length === 0) toast(`${what} (Slack user ${answer.user}).`);
  for (const text of answer.ephemerals) {
    toast(`Slack, only visible to you: ${plainMrkdwn(text)}`);
  }
}

function confirmDialog(confirm: NonNullable<SlackElement['confirm']>, onConfirm: () => void): void {
  const yes = el(
    'button',
    { class: 'button approve', type: 'button' },
    confirm.confirm?.text ?? 'Yes',
  );
  const no = el('button', { class: 'button', type: 'button' }, confirm.deny?.text ?? 'Cancel');
  dialog.replaceChildren(
    el('div', { class: 'd-head' }, confirm.title?.text ?? 'Are you sure?'),
    el('div', { class: 'd-body' }, confirm.text ? textObject(confirm.text) : null),
    el('div', { class: 'd-foot' }, no, yes),
  );
  no.addEventListener('click', () => dialog.close());
  yes.addEventListener('click', () => {
    dialog.close();
    onConfirm();
  });
  dialog.showModal();
  yes.focus();
}

/** A modal opened with views.open, shown as Slack would; its submission goes back signed. */
function openSlackModal(viewId: string, view: SlackView): void {
  const inputs: {
    blockId: string;
    actionId: string;
    field: HTMLTextAreaElement;
    error: HTMLElement;
  }[] = [];
  const body = el('div', { class: 'd-body' });
  for (const block of view.blocks ?? []) {
    if (block.type === 'input' && block.block_id && block.element?.action_id) {
      const fieldId = `modal-${block.block_id}`;
      const field = el('textarea', {
        id: fieldId,
        maxlength: block.element.max_length ? String(block.element.max_length) : undefined,
      });
      field.value = block.element.initial_value ?? '';
      const error = el('p', { class: 'error', role: 'alert' });
      inputs.push({ blockId: block.block_id, actionId: block.element.action_id, field, error });
      append(body, [
        el('label', { for: fieldId }, block.label?.text ?? ''),
        field,
        block.hint ? el('p', { class: 'hint' }, block.hint.text ?? '') : null,
        error,
      ]);
    } else {
      append(body, [renderBlock(block, null)]);
    }
  }
  const close = el('button', { class: 'button', type: 'button' }, view.close?.text ?? 'Close');
  const foot = el('div', { class: 'd-foot' }, close);
  close.addEventListener('click', () => dialog.close());
  if (view.submit) {
    const submit = el(
      'button',
      { class: 'button reject', type: 'button' },
      view.submit.text ?? 'Submit',
    );
    foot.append(submit);
    submit.addEventListener('click', () => {
      submit.disabled = true;
      const values: Record<string, Record<string, string>> = {};
      for (const input of inputs) {
        values[input.blockId] = { ...values[input.blockId], [input.actionId]: input.field.value };
        input.error.textContent = '';
      }
      api<ConsoleAnswer>('/_local/console/slack/submit', { view_id: viewId, values })
        .then((answer) => {
          const response = answer.response as {
            response_action?: string;
            errors?: Record<string, string>;
            view?: SlackView;
          } | null;
          if (answer.status === 200 && response?.response_action === 'errors') {
            for (const input of inputs) {
              input.error.textContent = response.errors?.[input.blockId] ?? '';
            }
            submit.disabled = false;
            return;
          }
          if (answer.status === 200 && response?.response_action === 'update' && response.view) {
            openSlackModal(viewId, response.view);
            return;
          }
          dialog.close();
          reportSlackAnswer(answer, `Submitted “${view.title?.text ?? 'form'}”`);
        })
        .catch((error: unknown) => {
          submit.disabled = false;
          toast(`Not sent: ${error instanceof Error ? error.message : String(error)}`, 'err');
        })
        .finally(() => void refresh());
    });
  }
  dialog.replaceChildren(el('div', { class: 'd-head' }, view.title?.text ?? 'Slack'), body, foot);
  if (!dialog.open) dialog.showModal();
  inputs[0]?.field.focus();
}

// mrkdwn, as far as Countersign's messages use it: *bold*, >quotes, <!date^…|fallback>,
// <url|label>, a few emoji; `&lt;` `&gt;` `&amp;` are shown as the characters they stand for.

const EMOJI: Record<string, string> = {
  white_check_mark: '✅',
  no_entry: '⛔',
  hourglass: '⌛',
  heavy_minus_sign: '➖',
  warning: '⚠️',
};

function textObject(text: SlackText): Node {
  if (text.type === 'mrkdwn') return mrkdwn(text.text ?? '');
  return document.createTextNode(text.text ?? '');
}

function decodeEntities(text: string): string {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

function mrkdwn(text: string): Node {
  const fragment = document.createDocumentFragment();
  let quote: HTMLElement | null = null;
  let first = true;
  for (const line of text.split('\n')) {
    if (line.startsWith('>')) {
      if (quote) quote.append(el('br'));
      else {
        quote = el('blockquote');
        fragment.append(quote);
      }
      quote.append(inline(line.slice(1)));
    } else {
      if (!first && !quote) fragment.append(el('br'));
      quote = null;
      fragment.append(inline(line));
    }
    first = false;
  }
  return fragment;
}

function inline(text: string): Node {
  const fragment = document.createDocumentFragment();
  const pattern = /<([^<>]+)>|\*([^*\n]+)\*|:([a-z0-9_+-]+):/g;
  let last = 0;
  for (const match of text.matchAll(pattern)) {
    fragment.append(decodeEntities(text.slice(last, match.index)));
    last = match.index + match[0].length;
    const [whole, special, bold, emoji] = match;
    if (special !== undefined) fragment.append(specialToken(special));
    else if (bold !== undefined) fragment.append(el('strong', {}, inline(bold)));
    else if (emoji !== undefined) fragment.append(EMOJI[emoji] ?? whole);
  }
  fragment.append(decodeEntities(text.slice(last)));
  return fragment;
}

function specialToken(token: string): Node {
  const [target = '', label] = token.split('|', 2);
  if (target.startsWith('!date^')) {
    const seconds = Number(target.split('^')[1]);
    const fallback = decodeEntities(label ?? '');
    return el(
      'time',
      { title: fallback },
      Number.isFinite(seconds) ? absolute(new Date(seconds * 1000).toISOString()) : fallback,
    );
  }
  if (target.startsWith('!') || target.startsWith('@') || target.startsWith('#')) {
    return el(
      'span',
      { class: 'mention' },
      `@${decodeEntities(label ?? target.replace(/^[!@#]/, ''))}`,
    );
  }
  return externalLink(decodeEntities(target), decodeEntities(label ?? target));
}

function plainMrkdwn(text: string): string {
  const holder = document.createElement('div');
  holder.append(mrkdwn(text));
  return holder.textContent ?? '';
}

// ---------------------------------------------------------------------------------------------

signout.addEventListener('click', () => forgetKey('The key was forgotten in this tab.'));
window.addEventListener('hashchange', onRouteChange);
onRouteChange();
