import type { IntentState, IntentView } from './intent';
import { requiredApprovalsFor } from './policy';
import { planStages } from './stages';

/**
 * Requests people can read, for every surface that shows one (the review page, the inbox,
 * email, Slack): times in the reader's time zone with how far away they are ("in 3 h 59 min"),
 * the payload as labelled rows, and what happens next in words ("if nobody decides by 10:30,
 * controller@company.com is asked"). Pure: the clock (`now`) and the reader's IANA time zone are
 * parameters, so every sentence is testable. Nothing here escapes for a medium; each surface
 * escapes what it takes from here, and nothing is ever cut without a count of what was left out.
 */

// ---------------------------------------------------------------------------------------------
// Times

/** Whom a time is shown to: the moment of rendering and their IANA time zone (UTC by default). */
export interface Reader {
  now: Date;
  /** An IANA zone such as `Europe/Berlin`; an unknown or absent zone reads as UTC. */
  timeZone?: string | undefined;
}

export const UTC = 'UTC';

/** Whether `zone` is an IANA time zone this runtime knows. */
export function isTimeZone(zone: string): boolean {
  if (zone.length === 0 || zone.length > 64) return false;
  try {
    formatter('day', zone);
    return true;
  } catch {
    return false;
  }
}

/** The reader's zone when it is a known one, else UTC. */
export function zoneOf(reader: Pick<Reader, 'timeZone'>): string {
  return reader.timeZone && isTimeZone(reader.timeZone) ? reader.timeZone : UTC;
}

/**
 * The `Intl.DateTimeFormat` options of each form a time takes; the review page's script uses
 * the same ones (`LOCAL_TIME_SCRIPT`), so the browser and the server write times alike.
 */
export const TIME_FORMATS = {
  sameDay: { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' },
  sameYear: {
    weekday: 'short',
    day: 'numeric',
    month: 'short',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  },
  otherYear: {
    day: 'numeric',
    month: 'short',
    year: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  },
  day: { year: 'numeric', month: '2-digit', day: '2-digit' },
} as const satisfies Record<string, Intl.DateTimeFormatOptions>;

/**
 * A moment as a person reads it in their zone, to the minute, with the zone named: `10:30 UTC`
 * on the reader's today, `Thu 3 Dec, 10:30 CET` later this year, `3 Jan 2027, 10:30 UTC` beyond.
 * An unparsable time is returned as given.
 */
export function formatTime(at: string | Date, reader: Reader): string {
  const ms = typeof at === 'string' ? Date.parse(at) : at.getTime();
  if (!Number.isFinite(ms)) return String(at);
  const timeZone = zoneOf(reader);
  const shown = formatter('day', timeZone).format(ms);
  const today = formatter('day', timeZone).format(reader.now.getTime());
  const form: keyof typeof TIME_FORMATS =
    shown === today ? 'sameDay' : shown.slice(-4) === today.slice(-4) ? 'sameYear' : 'otherYear';
  return `${formatter(form, timeZone).format(ms)} ${zoneLabel(timeZone, ms)}`;
}

/**
 * Formatters are slow to make and a page may show hundreds of times (its history): each is made
 * once per form, zone and locale, for the few zones a process meets.
 */
const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(
  form: keyof typeof TIME_FORMATS | 'zoneName',
  timeZone: string,
  locale = 'en-GB',
): Intl.DateTimeFormat {
  const key = `${form} ${timeZone} ${locale}`;
  let made = formatters.get(key);
  if (!made) {
    const options: Intl.DateTimeFormatOptions =
      form === 'zoneName' ? { timeZoneName: 'short' } : TIME_FORMATS[form];
    made = new Intl.DateTimeFormat(locale, { ...options, timeZone });
    if (formatters.size >= 1000) formatters.clear();
    formatters.set(key, made);
  }
  return made;
}

/** A moment with its full date whatever the day (`3 Dec 2026, 10:30 UTC`), for text that outlives its day. */
export function formatFullTime(at: string | Date, timeZone?: string): string {
  const ms = typeof at === 'string' ? Date.parse(at) : at.getTime();
  if (!Number.isFinite(ms)) return String(at);
  const zone = zoneOf({ timeZone });
  return `${formatter('otherYear', zone).format(ms)} ${zoneLabel(zone, ms)}`;
}

/** A zone's short name at a moment: `UTC`, `CET`, `EST`, else its offset (`GMT+5:30`). */
export function zoneLabel(timeZone: string, at: number): string {
  if (timeZone === UTC || timeZone === 'Etc/UTC') return UTC;
  const named = (locale: string) =>
    formatter('zoneName', timeZone, locale)
      .formatToParts(at)
      .find((part) => part.type === 'timeZoneName')?.value ?? '';
  const british = named('en-GB');
  if (/^[A-Z]{2,5}$/.test(british)) return british;
  const american = named('en-US');
  return /^[A-Z]{2,5}$/.test(american) ? american : british;
}

/**
 * How far a moment is from `now`, rounded down so that time left is never overstated:
 * `in 3 h 59 min`, `5 min ago`, `in 45 s`, `in 2 d 4 h`, `now`.
 */
export function formatRelative(at: string | Date, now: Date): string {
  const ms = typeof at === 'string' ? Date.parse(at) : at.getTime();
  if (!Number.isFinite(ms)) return '';
  const delta = ms - now.getTime();
  const seconds = Math.floor(Math.abs(delta) / 1000);
  if (seconds === 0) return 'now';
  const span = spanOf(seconds);
  return delta > 0 ? `in ${span}` : `${span} ago`;
}

function spanOf(seconds: number): string {
  const days = Math.floor(seconds / 86400);
  const hours = Math.floor((seconds % 86400) / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  if (days > 0) return hours > 0 ? `${days} d ${hours} h` : `${days} d`;
  if (hours > 0) return minutes > 0 ? `${hours} h ${minutes} min` : `${hours} h`;
  if (minutes > 0) return `${minutes} min`;
  return `${seconds} s`;
}

/** Both at once, as sentences use them: `10:30 UTC (in 2 h)`. */
export function formatWhen(at: string | Date, reader: Reader): string {
  return `${formatTime(at, reader)} (${formatRelative(at, reader.now)})`;
}

/**
 * The review page's only script: it rewrites each `<time data-local>` (rendered in UTC by the
 * server when the reader's zone is unknown) in the browser's own zone, with the server's
 * formats, and says which zone the page now shows (a note the server wrote in the reader's
 * profile zone, without `data-local`, stays as it is). It reads the page and writes text, nothing
 * else: no request, no form. The page's Content-Security-Policy admits exactly this script by
 * its hash (`LOCAL_TIME_SCRIPT_HASH` in core/review-html.ts).
 */
export const LOCAL_TIME_SCRIPT = `(function(){var F=${JSON.stringify(TIME_FORMATS)};
var z=Intl.DateTimeFormat().resolvedOptions().timeZone;if(!z)return;
function f(o,v){o=Object.assign({timeZone:z},o);return new Intl.DateTimeFormat('en-GB',o).format(v)}
function n(l,v){var p=new Intl.DateTimeFormat(l,{timeZone:z,timeZoneName:'short'}).formatToParts(v);for(var i=0;i<p.length;i++)if(p[i].type==='timeZoneName')return p[i].value;return ''}
function label(v){if(z==='UTC'||z==='Etc/UTC')return 'UTC';var b=n('en-GB',v);if(/^[A-Z]{2,5}$/.test(b))return b;var a=n('en-US',v);return /^[A-Z]{2,5}$/.test(a)?a:b}
function show(v,now){var d=f(F.day,v),t=f(F.day,now);var o=d===t?F.sameDay:d.slice(-4)===t.slice(-4)?F.sameYear:F.otherYear;return f(o,v)+' '+label(v)}
var now=Date.now(),ts=document.querySelectorAll('time[data-local]');
for(var i=0;i<ts.length;i++){var v=Date.parse(ts[i].getAttribute('datetime'));if(isNaN(v))continue;ts[i].title=ts[i].textContent;ts[i].textContent=show(v,now)}
var note=document.querySelector('#zone-note[data-local]');if(note)note.textContent='Times are in your time zone ('+z+').';})();`;

// ---------------------------------------------------------------------------------------------
// The payload

/** One value of the payload: a string, number, boolean, null, or an empty object or array. */
export interface PayloadLeaf {
  /** Keys and array indexes from the payload's root. */
  path: (string | number)[];
  /** The JSON Pointer of the value (RFC 6901), which edits and operator rules name. */
  pointer: string;
  /** The path in words: `Line items › 2 › Unit price`. */
  label: string;
  /** The value as shown: a string as it is, anything else as JSON. */
  value: string;
  kind: 'string' | 'number' | 'boolean' | 'null' | 'empty';
}

const ACRONYMS = new Set([
  'api',
  'bic',
  'cc',
  'cpu',
  'db',
  'eta',
  'iban',
  'id',
  'ip',
  'po',
  'pr',
  'sku',
  'ssn',
  'uri',
  'url',
  'uuid',
  'vat',
]);

/**
 * A key in words: `destination_account` → `Destination account`, `invoiceId` → `Invoice ID`
 * (known acronyms and words written in capitals stay in capitals).
 * The raw key stays visible beside it wherever it differs (`showsRawKey`).
 */
export function humanizeKey(key: string): string {
  const words = key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .split(/[\s_.-]+/)
    .filter((word) => word.length > 0)
    .map((word) =>
      ACRONYMS.has(word.toLowerCase()) || /^[A-Z0-9]{2,}$/.test(word)
        ? word.toUpperCase()
        : word.toLowerCase(),
    );
  if (words.length === 0) return key === '' ? '(empty key)' : key;
  const [first = '', ...rest] = words;
  return [first.charAt(0).toUpperCase() + first.slice(1), ...rest].join(' ');
}

/** Whether a key's words differ from the key by more than its first letter's case. */
export function showsRawKey(key: string): boolean {
  return humanizeKey(key) !== key.charAt(0).toUpperCase() + key.slice(1);
}

/** An array item's label (1-based) and an object field's. */
function segmentLabel(segment: string | number): string {
  return typeof segment === 'number' ? `#${segment + 1}` : humanizeKey(segment);
}

export function pointerOf(path: (string | number)[]): string {
  return path.map((part) => `/${String(part).replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');
}

/** A value that is not a leaf: a non-empty object or array. */
export function isBranch(value: unknown): value is Record<string, unknown> | unknown[] {
  if (Array.isArray(value)) return value.length > 0;
  return typeof value === 'object' && value !== null && Object.keys(value).length > 0;
}

/** The entries of a branch: fields by key, array items by index. */
export function entriesOf(
  branch: Record<string, unknown> | unknown[],
): [string | number, unknown][] {
  return Array.isArray(branch)
    ? branch.map((item, index) => [index, item])
    : Object.entries(branch);
}

/** A leaf value as shown: a string as it is, anything else as its JSON. */
export function leafText(value: unknown): { value: string; kind: PayloadLeaf['kind'] } {
  if (typeof value === 'string') return { value, kind: 'string' };
  if (typeof value === 'number') return { value: JSON.stringify(value), kind: 'number' };
  if (typeof value === 'boolean') return { value: String(value), kind: 'boolean' };
  if (value === null || value === undefined) return { value: 'null', kind: 'null' };
  return { value: JSON.stringify(value) ?? 'null', kind: 'empty' };
}

/** Every leaf of the payload in document order (depth first), iteratively: no depth limit. */
export function payloadLeaves(payload: Record<string, unknown>): PayloadLeaf[] {
  const leaves: PayloadLeaf[] = [];
  const stack: { path: (string | number)[]; value: unknown }[] = entriesOf(payload)
    .reverse()
    .map(([key, value]) => ({ path: [key], value }));
  for (let next = stack.pop(); next; next = stack.pop()) {
    if (isBranch(next.value)) {
      const path = next.path;
      stack.push(
        ...entriesOf(next.value)
          .reverse()
          .map(([key, value]) => ({ path: [...path, key], value })),
      );
      continue;
    }
    leaves.push({
      path: next.path,
      pointer: pointerOf(next.path),
      label: next.path.map(segmentLabel).join(' › '),
      ...leafText(next.value),
    });
  }
  return leaves;
}

/** How much of the payload a channel can show: leaves, and characters per label and value. */
export interface PayloadBudget {
  rows: number;
  labelChars: number;
  valueChars: number;
}

export interface FittedPayload {
  rows: (PayloadLeaf & { shortened: boolean })[];
  /** Leaves not shown at all. */
  hidden: number;
  /** Rows whose label or value was shortened (each ends with `…`). */
  shortened: number;
  /** What the channel leaves out, in one sentence, or null when it shows everything. */
  notShown: string | null;
}

/**
 * The payload within a channel's budget (an email, a Slack message): the first leaves, each
 * label and value cut to its characters with `…`, and a sentence saying what was left out.
 */
export function fitPayload(payload: Record<string, unknown>, budget: PayloadBudget): FittedPayload {
  const leaves = payloadLeaves(payload);
  const rows = leaves.slice(0, budget.rows).map((leaf) => {
    const label = cut(leaf.label, budget.labelChars);
    const value = cut(leaf.value, budget.valueChars);
    return {
      ...leaf,
      label,
      value,
      shortened: label !== leaf.label || value !== leaf.value,
    };
  });
  const hidden = leaves.length - rows.length;
  const shortened = rows.filter((row) => row.shortened).length;
  return { rows, hidden, shortened, notShown: notShownSentence(hidden, shortened) };
}

function notShownSentence(hidden: number, shortened: number): string | null {
  if (hidden === 0 && shortened === 0) return null;
  const parts = [
    ...(hidden > 0 ? [`${hidden} more value${hidden === 1 ? '' : 's'} not shown`] : []),
    ...(shortened > 0 ? [`${shortened} value${shortened === 1 ? '' : 's'} shortened`] : []),
  ];
  return `${parts.join(', ')}: open the review page to see the whole request before you decide.`;
}

/** `text` at most `max` characters, ending with `…` when cut (never inside a surrogate pair). */
export function cut(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = Math.max(0, max - 1);
  const code = text.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end -= 1;
  return `${text.slice(0, end)}…`;
}

// ---------------------------------------------------------------------------------------------
// What happens next

/** One thing the workflow will do (or did, in this step), as a sentence around its moment. */
export interface PlanEntry {
  kind: 'escalation' | 'escalated' | 'timeout' | 'quorum' | 'next_step';
  /** The moment the sentence is about; null for the sentences without one. */
  at: string | null;
  /** The sentence is `${before}${the moment}${after}` (without a moment: `before` alone). */
  before: string;
  after: string;
}

/**
 * What a plan is read from: the intent as the API shows it, and where the caller has the stored
 * intent, when the current step's clock started (reminders and escalations count from it) and
 * whether its first notice went out. Without them the step's start is read from the view: the
 * creation for the first step, the approval that completed the previous step for later ones.
 */
export type PlanSource = Pick<
  IntentView,
  'status' | 'policy' | 'step' | 'deadline_at' | 'created_at' | 'approvals'
> &
  Partial<Pick<IntentState, 'step_started_at' | 'stage_index'>>;

/**
 * The escalation and timeout plan of a pending intent, in words, soonest first: escalations of
 * the current step already made and still to come ("If nobody decides by 10:30 UTC (in 2 h),
 * controller@company.com is asked."), how many approvals it still needs, the chain's next step,
 * and the deadline ("At 17:00 UTC (in 8 h) this request times out and is rejected."). Empty once
 * the intent is final.
 */
export function describePlan(
  intent: PlanSource,
  now: Date,
  options: {
    /** At most this many addresses per sentence (`listOf`), for channels with short texts. */
    maxNames?: number;
  } = {},
): PlanEntry[] {
  const names = (items: string[]) => listOf(items, options.maxNames);
  if (intent.status !== 'pending') return [];
  const deadline = Date.parse(intent.deadline_at);
  const stepStart = stepStartOf(intent, now);
  const entries: PlanEntry[] = [];
  for (const stage of planStages(intent.policy, stepStart, deadline)) {
    if (stage.adds.length === 0) continue;
    const who = names(stage.adds);
    const at = new Date(stage.at).toISOString();
    entries.push(
      stage.at <= now.getTime()
        ? {
            kind: 'escalated',
            at,
            before: 'Nobody had decided by ',
            after: `, so ${who} ${stage.adds.length === 1 ? 'was' : 'were'} asked too.`,
          }
        : {
            kind: 'escalation',
            at,
            before: 'If nobody decides by ',
            after: `, ${who} ${stage.adds.length === 1 ? 'is' : 'are'} asked too.`,
          },
    );
  }
  const required = requiredApprovalsFor(intent.policy, intent.step);
  if (required > 1) {
    const given = intent.approvals.filter((approval) => approval.step === intent.step).length;
    entries.push({
      kind: 'quorum',
      at: null,
      before: `It needs ${required} approvals${given > 0 ? ` (${given} so far)` : ''}; one rejection rejects it.`,
      after: '',
    });
  }
  const steps = intent.policy.steps;
  const next = steps?.[intent.step + 1];
  if (steps && next) {
    entries.push({
      kind: 'next_step',
      at: null,
      before: `This is step ${intent.step + 1} of ${steps.length}. Once it is approved, ${names(next.reviewers)} ${next.reviewers.length === 1 ? 'is' : 'are'} asked.`,
      after: '',
    });
  }
  const outcome = intent.policy.timeout.action === 'approve' ? 'approved' : 'rejected';
  entries.push({
    kind: 'timeout',
    at: intent.deadline_at,
    before: 'At ',
    after: ` this request times out and is ${outcome}${outcome === 'approved' ? ' automatically' : ''}.`,
  });
  return entries;
}

/** A plan entry as plain text in the reader's zone. */
export function planSentence(entry: PlanEntry, reader: Reader): string {
  return entry.at === null
    ? entry.before
    : `${entry.before}${formatWhen(entry.at, reader)}${entry.after}`;
}

function stepStartOf(intent: PlanSource, now: Date): number {
  if (intent.stage_index !== undefined && intent.stage_index < 0) return now.getTime();
  if (intent.step_started_at) return Date.parse(intent.step_started_at);
  if (intent.step === 0) return Date.parse(intent.created_at);
  const previous = intent.approvals
    .filter((approval) => approval.step === intent.step - 1)
    .map((approval) => Date.parse(approval.at));
  return previous.length > 0 ? Math.max(...previous) : Date.parse(intent.created_at);
}

/** `a`, `a and b`, `a, b and c`; past `max` names, `a, b and 3 more`. */
export function listOf(items: string[], max = Number.POSITIVE_INFINITY): string {
  if (items.length > max) {
    return `${items.slice(0, max).join(', ')} and ${items.length - max} more`;
  }
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;
}
