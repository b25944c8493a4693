import type { AuditEvent } from '../domain/audit';
import { WEEKDAYS, type Weekday } from '../domain/availability';
import { approvedCurrentVersion } from '../domain/decisions';
import type { IntentState, IntentView } from '../domain/intent';
import { escapeHtml } from '../domain/messages';
import { describePlan, type Reader } from '../domain/readable';
import { payloadTableHtml, planHtml, timeHtml, zoneNoteHtml } from '../domain/readable-html';
import { editForm, editsCard, page } from './review-html';

/**
 * The reviewer inbox's pages, server-rendered, phone first, without any script (as the review
 * page: nothing on a page can submit a form by itself). Every value is escaped; every form that
 * changes something is a POST carrying the session's CSRF token. Each page has one `h1`, labels
 * for every field and a visible focus ring; the DOM order is the reading and focus order.
 *
 * Times, the payload and the plan read as on the review page (`domain/readable-html.ts`): in the
 * reviewer's profile time zone once they saved one ("Your availability"), else written in UTC
 * and shown in the browser's zone by the page's one script.
 */
const INBOX_STYLE = `
h2{font-size:17px;margin:0 0 8px} a{color:#0b57d0} :focus-visible{outline:3px solid #0b57d0;outline-offset:2px}
.bar{display:flex;justify-content:space-between;align-items:center;gap:8px;flex-wrap:wrap}
.bar form{margin:0} .link{background:none;border:0;color:#0b57d0;text-decoration:underline;font:inherit;padding:8px;flex:none;cursor:pointer}
.items{list-style:none;padding:0;margin:0} .item{display:flex;gap:12px;align-items:flex-start}
.item input[type=checkbox]{width:24px;height:24px;margin-top:2px;flex:none}
.item a{font-weight:600;font-size:17px;display:inline-block;padding:2px 0}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
input[type=email],input[type=text],input[type=datetime-local]{width:100%;box-sizing:border-box;font:inherit;padding:12px;border-radius:6px;border:1px solid #8a9099}
label{display:block;font-weight:600;margin:8px 0 4px} .item label{display:inline;margin:0}
button.primary{background:#0b57d0;color:#fff;flex:none;width:100%}
.results li{margin:6px 0}
.error{color:#b3261e;font-weight:600;margin:4px 0}
`;

export interface Banner {
  kind: 'ok' | 'warn' | 'err';
  text: string;
}

/** Where the inbox's pages live (`<base path>/inbox`) and the session's CSRF token. */
export interface InboxLinks {
  base: string;
  csrf: string;
}

function shell(title: string, body: string): string {
  return page(title, body, INBOX_STYLE);
}

function bannerHtml(banner: Banner | undefined): string {
  return banner
    ? `<div class="banner ${banner.kind}" role="status">${escapeHtml(banner.text)}</div>`
    : '';
}

const csrfField = (links: InboxLinks) =>
  `<input type="hidden" name="csrf" value="${escapeHtml(links.csrf)}">`;

function topBar(links: InboxLinks, reviewer: string): string {
  return `<div class="bar"><span class="muted">Signed in as ${escapeHtml(reviewer)}</span>
<form method="post" action="${links.base}/sign-out">${csrfField(links)}<button class="link" type="submit">Sign out</button></form></div>`;
}

export function signInPage(base: string, banner?: Banner): string {
  return shell(
    'Sign in',
    `<h1>Your approvals inbox</h1>
${bannerHtml(banner)}
<form class="card" method="post" action="${base}/sign-in">
<p>Enter the email address your approval requests go to. We email you a link to sign in; no password needed.</p>
<label for="email">Email address</label>
<input id="email" name="email" type="email" autocomplete="email" required maxlength="254">
<div class="actions"><button class="primary" type="submit">Email me a sign-in link</button></div>
</form>`,
  );
}

export function checkEmailPage(base: string): string {
  return shell(
    'Check your email',
    `<h1>Check your email</h1>
<div class="card" role="status"><p>If that address may sign in here, a sign-in link is on its way to it. The link works once, for 15 minutes.</p>
<p class="muted">Nothing arrived? Check the address and <a href="${base}">ask again</a>.</p></div>`,
  );
}

/** The page behind the emailed link: a button, since opening a link (a mail scanner) must not sign in. */
export function confirmSignInPage(email: string): string {
  return shell(
    'Sign in',
    `<h1>Sign in to your approvals inbox</h1>
<form class="card" method="post">
<p>Sign in as <strong>${escapeHtml(email)}</strong> on this device? You stay signed in for up to 12 hours.</p>
<div class="actions"><button class="primary" type="submit">Sign in</button></div>
</form>`,
  );
}

export function messagePage(title: string, text: string, link: { href: string; label: string }) {
  return shell(
    title,
    `<h1>${escapeHtml(title)}</h1>
<div class="card"><p>${escapeHtml(text)}</p><p><a href="${link.href}">${escapeHtml(link.label)}</a></p></div>`,
  );
}

export interface ListedIntent {
  intent: IntentView;
  /** The reviewer approved the current step already: it waits for others. */
  approvedByYou: boolean;
}

export function listPage(options: {
  links: InboxLinks;
  reviewer: string;
  items: ListedIntent[];
  now: Date;
  /** The reviewer's profile time zone, if they saved one. */
  timeZone?: string;
  banner?: Banner;
  /** More were waiting than the page lists. */
  truncated: boolean;
}): string {
  const { links, items } = options;
  const reader: Reader = { now: options.now, timeZone: options.timeZone };
  const decidable = items.filter((item) => !item.approvedByYou);
  const rows = items
    .map(({ intent, approvedByYou }) => {
      const id = escapeHtml(intent.id);
      const select = approvedByYou
        ? ''
        : `<input type="checkbox" id="select-${id}" name="id" value="${id}"><label class="sr" for="select-${id}">Select ${escapeHtml(intent.summary)}</label>`;
      return `<li class="card item" data-intent-id="${id}">${select}<div>
<a href="${links.base}/intents/${encodeURIComponent(intent.id)}">${escapeHtml(intent.summary)}</a>
<div class="muted">From ${escapeHtml(intent.from_agent)} · ${escapeHtml(intent.intent_type)}</div>
<div class="muted">${approvedByYou ? 'You approved; waiting for others. ' : ''}Decide by ${timeHtml(intent.deadline_at, reader)}</div>
</div></li>`;
    })
    .join('\n');
  const list =
    items.length === 0
      ? '<div class="card"><p>Nothing is waiting for you. New requests arrive by email too.</p></div>'
      : `<form method="post" action="${links.base}/bulk">${csrfField(links)}
<p class="muted">${items.length} waiting, soonest deadline first${options.truncated ? ' (the first ones only: decide some to see the rest)' : ''}. Open one to decide it, or select several.</p>
<ul class="items">${rows}</ul>
${zoneNoteHtml(reader)}
${
  decidable.length > 0
    ? `<div class="actions"><button class="approve" type="submit" name="outcome" value="approve">Approve selected</button>
<button class="reject" type="submit" name="outcome" value="reject">Reject selected</button></div>`
    : ''
}
</form>`;
  return shell(
    'Inbox',
    `${topBar(links, options.reviewer)}
<h1>Waiting for you</h1>
${bannerHtml(options.banner)}
${list}
<p><a href="${links.base}/me">Your availability: time zone, working hours, out of office</a></p>`,
  );
}

export function intentPage(options: {
  links: InboxLinks;
  reviewer: string;
  intent: IntentView;
  /** When the current step's clock started, from the stored intent (the plan counts from it). */
  stepClock: Pick<IntentState, 'step_started_at' | 'stage_index'>;
  events: AuditEvent[];
  now: Date;
  /** The reviewer's profile time zone, if they saved one. */
  timeZone?: string;
  banner?: Banner;
}): string {
  const { links, intent, reviewer } = options;
  const reader: Reader = { now: options.now, timeZone: options.timeZone };
  const plan = describePlan({ ...intent, ...options.stepClock }, options.now);
  const action = `${links.base}/intents/${encodeURIComponent(intent.id)}`;
  // The step and payload version this page shows: a form sent after either moved decides nothing.
  const shownFields = `${csrfField(links)}
<input type="hidden" name="step" value="${intent.step}">
<input type="hidden" name="version" value="${intent.payload_version ?? 0}">`;
  const pending = intent.status === 'pending';
  const approvedByYou = approvedCurrentVersion(intent, reviewer);
  const steps = intent.policy.steps?.length ?? 1;
  const others = intent.recipients.filter((r) => r !== reviewer);
  const decideForm =
    pending && intent.recipients.includes(reviewer) && !approvedByYou
      ? `<form class="card" method="post" action="${action}">
<h2>Your decision</h2>${shownFields}
${steps > 1 ? `<p class="muted">You decide step ${intent.step + 1} of ${steps}.</p>` : ''}
<label for="comment">Comment <span class="muted">(required to reject)</span></label>
<textarea id="comment" name="comment" maxlength="2000"></textarea>
<div class="actions"><button class="approve" type="submit" name="outcome" value="approve">Approve</button>
<button class="reject" type="submit" name="outcome" value="reject">Reject</button></div>
</form>${editForm(intent, action, shownFields)}`
      : `<div class="card"><p>${stateLine(intent, reviewer, reader)}</p></div>`;
  return shell(
    intent.summary,
    `${topBar(links, reviewer)}
<p><a href="${links.base}">Back to the inbox</a></p>
${bannerHtml(options.banner)}
<div class="card"><h1>${escapeHtml(intent.summary)}</h1>
<p class="muted">Asked by ${escapeHtml(intent.from_agent)} · ${escapeHtml(intent.intent_type)} · for ${escapeHtml(intent.to_agent)}</p>
<p>Status: <span class="status">${escapeHtml(intent.status.replace('_', ' '))}</span></p>
${pending ? `<p>Decide by ${timeHtml(intent.deadline_at, reader)}</p><section aria-label="What happens next"><h2>What happens next</h2>${planHtml(plan, reader)}</section>` : ''}
<p class="muted">Also asked: ${others.length > 0 ? escapeHtml(others.join(', ')) : 'nobody else'}${intent.approvals.length > 0 ? ` · approved so far: ${escapeHtml(intent.approvals.map((a) => a.by).join(', '))}` : ''}</p>
${zoneNoteHtml(reader)}
</div>
${editsCard(intent)}${decideForm}
<div class="card"><h2>Details</h2>${payloadTableHtml(intent.payload, reader)}
<details><summary>As JSON</summary><pre>${escapeHtml(JSON.stringify(intent.payload, null, 2))}</pre></details></div>
<div class="card"><h2>History</h2><ol>${options.events
      .map(
        (event) =>
          `<li>${timeHtml(event.at, reader)} · ${escapeHtml(event.type.replace('_', ' '))} · ${escapeHtml(event.actor)}${event.channel ? ` (${escapeHtml(event.channel)})` : ''}</li>`,
      )
      .join('')}</ol></div>`,
  );
}

/** The confirmation before a bulk decision: what will be decided, and a reason when rejecting. */
export function confirmBulkPage(options: {
  links: InboxLinks;
  reviewer: string;
  outcome: 'approve' | 'reject';
  intents: IntentView[];
  skipped: number;
  now: Date;
  /** The reviewer's profile time zone, if they saved one. */
  timeZone?: string;
  /** Why the last attempt decided nothing (a rejection without a reason). */
  problem?: string;
}): string {
  const { links, outcome, intents } = options;
  const reader: Reader = { now: options.now, timeZone: options.timeZone };
  const verb = outcome === 'approve' ? 'Approve' : 'Reject';
  return shell(
    `${verb} ${intents.length}?`,
    `${topBar(links, options.reviewer)}
<h1>${verb} these ${intents.length}?</h1>
${options.problem ? bannerHtml({ kind: 'err', text: options.problem }) : ''}
${options.skipped > 0 ? bannerHtml({ kind: 'warn', text: `${options.skipped} of those selected no longer wait for you and are left out.` }) : ''}
<form class="card" method="post" action="${links.base}/bulk/decide">${csrfField(links)}
<input type="hidden" name="outcome" value="${outcome}">
<ul>${intents
      .map(
        (intent) =>
          `<li><input type="hidden" name="id" value="${escapeHtml(intent.id)}">${escapeHtml(intent.summary)} <span class="muted">(${escapeHtml(intent.from_agent)}; decide by ${timeHtml(intent.deadline_at, reader)})</span></li>`,
      )
      .join('')}</ul>
${zoneNoteHtml(reader)}
<label for="comment">${outcome === 'reject' ? 'Reason (required, sent to each agent)' : 'Comment (optional, recorded with each approval)'}</label>
<textarea id="comment" name="comment" maxlength="2000"${outcome === 'reject' ? ' required' : ''}></textarea>
<div class="actions"><button class="${outcome}" type="submit">${verb} ${intents.length}</button></div>
<p><a href="${links.base}">Cancel, back to the inbox</a></p>
</form>`,
  );
}

export interface BulkLine {
  summary: string;
  ok: boolean;
  text: string;
}

export function bulkResultPage(options: {
  links: InboxLinks;
  reviewer: string;
  lines: BulkLine[];
}): string {
  const done = options.lines.filter((line) => line.ok).length;
  return shell(
    'Results',
    `${topBar(options.links, options.reviewer)}
<h1>${done} of ${options.lines.length} done</h1>
<div class="card" role="status"><ul class="results">${options.lines
      .map(
        (line) =>
          `<li data-ok="${line.ok}"><strong>${escapeHtml(line.summary)}</strong>: ${escapeHtml(line.text)}</li>`,
      )
      .join('')}</ul></div>
<p><a href="${options.links.base}">Back to the inbox</a></p>`,
  );
}

/** Why there is no form: who decided and when, or that the reviewer approved already. HTML. */
function stateLine(intent: IntentView, reviewer: string, reader: Reader): string {
  if (intent.decision) {
    const who = intent.decision.by === 'timeout' ? 'the deadline' : intent.decision.by;
    return `This request was ${escapeHtml(intent.status.replace('_', ' '))} by ${escapeHtml(who)}, ${timeHtml(intent.decision.at, reader)}.`;
  }
  if (approvedCurrentVersion(intent, reviewer)) {
    return 'You approved this request; it waits for further approvals.';
  }
  return 'This request is not waiting for your decision.';
}

/** The availability form's values, as typed (or as stored, for the first showing). */
export interface AvailabilityForm {
  time_zone: string;
  /** Per weekday, comma-separated ranges such as `09:00-12:00, 13:00-17:30`. */
  hours: Record<string, string>;
  ooo_from: string;
  ooo_until: string;
  ooo_delegate: string;
}

const DAY_NAMES: Record<Weekday, string> = {
  mon: 'Monday',
  tue: 'Tuesday',
  wed: 'Wednesday',
  thu: 'Thursday',
  fri: 'Friday',
  sat: 'Saturday',
  sun: 'Sunday',
};

/** The IANA zones the datalist suggests (any IANA name is accepted). */
const ZONES: readonly string[] = Intl.supportedValuesOf('timeZone');

/** "Your availability": the reviewer's own time zone, working hours and out of office. */
export function availabilityPage(options: {
  links: InboxLinks;
  reviewer: string;
  values: AvailabilityForm;
  /** Per form field, what is wrong with it. */
  errors: Record<string, string>;
  /** A profile is stored (else the form shows the defaults: UTC, always available). */
  saved: boolean;
  banner?: Banner;
}): string {
  const { links, values, errors } = options;
  const field = (
    name: string,
    label: string,
    value: string,
    input: { type: string; hint?: string; extra?: string },
  ) => {
    const error = errors[name];
    const described = [input.hint ? `${name}-hint` : '', error ? `${name}-error` : '']
      .filter(Boolean)
      .join(' ');
    return `<label for="${name}">${escapeHtml(label)}</label>
${input.hint ? `<div class="muted" id="${name}-hint">${escapeHtml(input.hint)}</div>` : ''}
${error ? `<div class="error" id="${name}-error">${escapeHtml(error)}</div>` : ''}
<input id="${name}" name="${name}" type="${input.type}" value="${escapeHtml(value)}" maxlength="300"${described ? ` aria-describedby="${described}"` : ''}${error ? ' aria-invalid="true"' : ''}${input.extra ?? ''}>`;
  };
  return shell(
    'Your availability',
    `${topBar(links, options.reviewer)}
<p><a href="${links.base}">Back to the inbox</a></p>
<h1>Your availability</h1>
${bannerHtml(options.banner)}
${errors.form ? bannerHtml({ kind: 'err', text: errors.form }) : ''}
<form method="post" action="${links.base}/me">${csrfField(links)}
<div class="card"><h2>Time zone</h2>
${field('time_zone', 'Time zone', values.time_zone, { type: 'text', hint: 'An IANA name, such as Europe/Berlin. The inbox shows times in it; reminders follow your working hours in it.', extra: ' list="zones" required autocomplete="off"' })}
<datalist id="zones">${ZONES.map((zone) => `<option value="${escapeHtml(zone)}"></option>`).join('')}</datalist>
</div>
<div class="card"><h2>Working hours</h2>
<p class="muted">Per day, 24-hour ranges such as 09:00-17:30, several separated by commas. Leave a day empty if you do not work then; leave every day empty to be reminded at any time.</p>
${WEEKDAYS.map((day) => field(`hours_${day}`, DAY_NAMES[day], values.hours[day] ?? '', { type: 'text', extra: ' inputmode="numeric"' })).join('\n')}
</div>
<div class="card"><h2>Out of office</h2>
<p class="muted">While you are away, reminders go to your delegate. Times are in your time zone above. Leave all three empty when you are not away.</p>
${field('ooo_from', 'Away from', values.ooo_from, { type: 'datetime-local' })}
${field('ooo_until', 'Back on', values.ooo_until, { type: 'datetime-local' })}
${field('ooo_delegate', 'Delegate’s email address', values.ooo_delegate, { type: 'email', extra: ' autocomplete="off"' })}
</div>
<div class="actions"><button class="primary" type="submit">Save</button></div>
</form>`,
  );
}
