import { escapeHtml } from './messages';
import {
  entriesOf,
  formatRelative,
  formatTime,
  humanizeKey,
  isBranch,
  leafText,
  type PlanEntry,
  pointerOf,
  type Reader,
  showsRawKey,
  UTC,
  zoneOf,
} from './readable';

/**
 * `readable.ts` as HTML for the web pages (the review page, the inbox): times as `<time>`
 * elements, the payload as a labelled table with nested values folded in `<details>` and long
 * text expandable, the plan as a list. Every value from an agent is escaped
 * (`escapeHtml`, which also neutralises bidi controls) and nothing is cut: the page is where
 * the other channels send a reader for the whole request. `PAYLOAD_CSS` styles it.
 */

/**
 * A moment in the reader's zone. When the reader's zone is not known (`timeZone` absent), the
 * server writes UTC and marks the element `data-local`, which the page's script
 * (`LOCAL_TIME_SCRIPT`) rewrites in the browser's zone.
 */
export function timeHtml(at: string, reader: Reader, options: { relative?: boolean } = {}): string {
  const ms = Date.parse(at);
  if (!Number.isFinite(ms)) return escapeHtml(at);
  const iso = new Date(ms).toISOString();
  const local = reader.timeZone === undefined ? ' data-local' : '';
  const time = `<time datetime="${iso}"${local}>${escapeHtml(formatTime(iso, reader))}</time>`;
  return options.relative === false
    ? time
    : `${time} <span class="rel">(${escapeHtml(formatRelative(iso, reader.now))})</span>`;
}

/** The line that says which zone the page's times are in; the script rewrites it if UTC-by-default. */
export function zoneNoteHtml(reader: Reader): string {
  const zone = zoneOf(reader);
  const text =
    reader.timeZone === undefined
      ? 'Times are in UTC.'
      : `Times are in ${zone === UTC ? 'UTC' : `your time zone (${zone})`}.`;
  const local = reader.timeZone === undefined ? ' data-local' : '';
  return `<p class="muted" id="zone-note"${local}>${escapeHtml(text)}</p>`;
}

/** The plan as a list of sentences, each moment a `<time>`. Empty when there is no plan. */
export function planHtml(entries: PlanEntry[], reader: Reader): string {
  if (entries.length === 0) return '';
  return `<ul class="plan">${entries
    .map(
      (entry) =>
        `<li>${escapeHtml(entry.before)}${entry.at === null ? '' : `${timeHtml(entry.at, reader)}${escapeHtml(entry.after)}`}</li>`,
    )
    .join('')}</ul>`;
}

/** Text longer than this, or with more lines, is shown folded with its start as the summary. */
export const LONG_TEXT_CHARS = 280;
const LONG_TEXT_LINES = 4;
const PREVIEW_CHARS = 120;
/** A folded branch's summary names its first few fields. */
const PREVIEW_KEYS = 4;
/** A nested value with at most this many leaves shows open inside its opened parent. */
const OPEN_NESTED_LEAVES = 12;

/** Whether a branch has more than `max` leaves; stops counting past it. */
function hasMoreLeaves(branch: Record<string, unknown> | unknown[], max: number): boolean {
  let leaves = 0;
  const stack: unknown[] = [branch];
  while (stack.length > 0) {
    const next = stack.pop();
    if (isBranch(next)) {
      for (const [, value] of entriesOf(next)) stack.push(value);
    } else {
      leaves += 1;
      if (leaves > max) return true;
    }
  }
  return false;
}

/**
 * The payload as a table: one row per field, its label in words and its raw key (in `<code>`,
 * when the words differ from it; the JSON Pointer is the row's `title` either way), its value
 * escaped; a timestamp is also shown in the reader's zone. Objects and arrays fold into `<details>` naming their size and first fields (the
 * payload's own fields folded, small values inside them open); long text folds with its start
 * shown. Every value is in the page, folded or not.
 */
export function payloadTableHtml(payload: Record<string, unknown>, reader?: Reader): string {
  if (Object.keys(payload).length === 0) return '<p class="muted">The payload is empty.</p>';
  return branchTable(payload, [], reader);
}

/** A timestamp with its zone (RFC 3339), which a value may be: shown in the reader's zone too. */
const TIMESTAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d{1,9})?)?(Z|[+-]\d\d:\d\d)$/i;

function branchTable(
  branch: Record<string, unknown> | unknown[],
  path: (string | number)[],
  reader: Reader | undefined,
): string {
  const rows = entriesOf(branch).map(([key, value]) => {
    const here = [...path, key];
    const label =
      typeof key === 'number'
        ? `#${key + 1}`
        : `${escapeHtml(humanizeKey(key))}${showsRawKey(key) ? ` <code>${escapeHtml(key)}</code>` : ''}`;
    return `<tr title="${escapeHtml(pointerOf(here))}"><th scope="row">${label}</th><td>${valueHtml(value, here, reader)}</td></tr>`;
  });
  return `<table class="payload">${rows.join('')}</table>`;
}

function valueHtml(value: unknown, path: (string | number)[], reader: Reader | undefined): string {
  if (isBranch(value)) {
    // Folded at the top; inside an opened fold, small values show at once (one click, not one per level).
    const open = path.length > 1 && !hasMoreLeaves(value, OPEN_NESTED_LEAVES) ? ' open' : '';
    return `<details${open}><summary>${escapeHtml(branchSummary(value))}</summary>${branchTable(value, path, reader)}</details>`;
  }
  const { value: text, kind } = leafText(value);
  if (kind !== 'string') return `<span class="${kind}">${escapeHtml(text)}</span>`;
  if (text === '') return '<span class="empty">(empty text)</span>';
  if (reader && TIMESTAMP.test(text) && Number.isFinite(Date.parse(text))) {
    return `<span class="text">${escapeHtml(text)}</span><br>${timeHtml(text, reader)}`;
  }
  const lines = text.split('\n').length;
  if (text.length <= LONG_TEXT_CHARS && lines <= LONG_TEXT_LINES) {
    return `<span class="text">${escapeHtml(text)}</span>`;
  }
  const preview = text.slice(0, PREVIEW_CHARS).split('\n')[0] ?? '';
  return `<details class="long"><summary><span class="text">${escapeHtml(preview)}…</span> <span class="more">(show all ${text.length.toLocaleString('en-US')} characters${lines > 1 ? `, ${lines} lines` : ''})</span></summary><div class="text">${escapeHtml(text)}</div></details>`;
}

function branchSummary(branch: Record<string, unknown> | unknown[]): string {
  if (Array.isArray(branch)) {
    return `${branch.length} item${branch.length === 1 ? '' : 's'}`;
  }
  const keys = Object.keys(branch);
  const named = keys.slice(0, PREVIEW_KEYS).map(humanizeKey).join(', ');
  return `${keys.length} field${keys.length === 1 ? '' : 's'}: ${named}${keys.length > PREVIEW_KEYS ? ', …' : ''}`;
}

/** The styles of the elements above, for the page's `<style>`. */
export const PAYLOAD_CSS = `
table.payload{border-collapse:collapse;width:100%;font-size:14px;table-layout:fixed}
table.payload th{text-align:left;vertical-align:top;font-weight:600;padding:6px 8px 6px 0;width:38%;color:#1c1e21}
table.payload td{vertical-align:top;padding:6px 0;min-width:0}
table.payload tr+tr>th,table.payload tr+tr>td{border-top:1px solid #e4e6eb}
table.payload table.payload{margin-top:4px;border-left:2px solid #e4e6eb;padding-left:6px}
table.payload code{display:block;font-size:12px;color:#606770;font-weight:400}
table.payload .text{white-space:pre-wrap}
table.payload .number,table.payload .boolean{font-variant-numeric:tabular-nums}
table.payload .null,table.payload .empty{color:#606770;font-style:italic}
table.payload summary{cursor:pointer;color:#1a56db}
table.payload details.long>summary{color:inherit} table.payload .more{color:#1a56db;white-space:nowrap}
.rel{color:#606770} ul.plan{padding-left:20px;margin:8px 0} ul.plan li{margin:4px 0}
`;
