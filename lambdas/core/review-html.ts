import { createHash } from 'node:crypto';
import type { AuditEvent } from '../domain/audit';
import { approvedCurrentVersion } from '../domain/decisions';
import { valueAt } from '../domain/edits';
import { currentPayload, type IntentState, type IntentView } from '../domain/intent';
import { addedByRequestLine, escapeHtml } from '../domain/messages';
import { describePlan, formatWhen, LOCAL_TIME_SCRIPT, type Reader } from '../domain/readable';
import {
  PAYLOAD_CSS,
  payloadTableHtml,
  planHtml,
  timeHtml,
  zoneNoteHtml,
} from '../domain/readable-html';

/**
 * Server-rendered review pages; every value is escaped. The only script is
 * `LOCAL_TIME_SCRIPT`, which rewrites times in the browser's time zone and touches nothing
 * else: nothing on the page can submit the form by itself (some mail scanners run scripts).
 * The Content-Security-Policy (`REVIEW_PAGE_CSP`) admits that one script by its hash.
 */
const STYLE = `
body{font-family:system-ui,-apple-system,sans-serif;margin:0;background:#f6f7f9;color:#1c1e21;overflow-wrap:anywhere}
main{max-width:640px;margin:0 auto;padding:16px}
.card{background:#fff;border-radius:10px;padding:16px;margin:12px 0;box-shadow:0 1px 2px rgba(0,0,0,.08)}
h1{font-size:20px;margin:4px 0 8px} .muted{color:#606770;font-size:14px}
pre{white-space:pre-wrap;word-break:break-word;background:#f0f2f5;padding:10px;border-radius:6px;font-size:13px}
textarea{width:100%;box-sizing:border-box;min-height:80px;font:inherit;padding:8px;border-radius:6px;border:1px solid #ccd0d5}
.actions{display:flex;gap:8px;margin-top:10px} button{flex:1;padding:12px;border:0;border-radius:8px;font-size:16px;font-weight:600;cursor:pointer}
.approve{background:#1a7f44;color:#fff} .reject{background:#c62828;color:#fff}
.status{font-weight:600} ol{padding-left:20px} li{margin:4px 0;font-size:14px}
.banner{padding:12px;border-radius:8px;margin:12px 0} .ok{background:#e7f6ec} .warn{background:#fff4e5} .err{background:#fdecea}
.field{margin:8px 0} .field label{display:block;font-size:14px;margin-bottom:4px}
.field input,.field select{width:100%;box-sizing:border-box;font:inherit;padding:8px;border-radius:6px;border:1px solid #ccd0d5}
`;

/** The hash by which the pages' Content-Security-Policy admits `LOCAL_TIME_SCRIPT`. */
export const LOCAL_TIME_SCRIPT_HASH = `sha256-${createHash('sha256').update(LOCAL_TIME_SCRIPT).digest('base64')}`;

/** No source but inline styles and the one script by its hash; forms post to this origin only. */
export const REVIEW_PAGE_CSP = `default-src 'none'; style-src 'unsafe-inline'; script-src '${LOCAL_TIME_SCRIPT_HASH}'; form-action 'self'; frame-ancestors 'none'`;

/** A page of the review surfaces; `extraStyle` adds to the shared style (the inbox's). */
export function page(title: string, body: string, extraStyle = ''): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="robots" content="noindex,nofollow">
<title>${escapeHtml(title)} · Countersign</title><style>${STYLE}${PAYLOAD_CSS}${extraStyle}</style></head>
<body><main>${body}</main><script>${LOCAL_TIME_SCRIPT}</script></body></html>`;
}

export function reviewPage(options: {
  intent: IntentView;
  events: AuditEvent[];
  reviewer: string;
  formAction: string;
  formNonce: string;
  /** The moment of rendering: relative times and the plan count from it. */
  now: Date;
  /** The reader's IANA zone; absent, the page shows UTC and the browser rewrites it locally. */
  timeZone?: string;
  /** When the current step's clock started, from the stored intent (`describePlan`). */
  stepClock?: Pick<IntentState, 'step_started_at' | 'stage_index'>;
  banner?: { kind: 'ok' | 'warn' | 'err'; text: string };
}): string {
  const { intent, events, reviewer } = options;
  const reader: Reader = { now: options.now, timeZone: options.timeZone };
  const banner = options.banner
    ? `<div class="banner ${options.banner.kind}" role="status">${escapeHtml(options.banner.text)}</div>`
    : '';
  const pending = intent.status === 'pending';
  const alreadyApproved = approvedCurrentVersion(intent, reviewer);
  const steps = intent.policy.steps?.length ?? 1;
  // In a chain the form decides one step: say which, since the same person may be asked in two.
  const stepLine =
    steps > 1 ? `<p class="muted">You decide step ${intent.step + 1} of ${steps}.</p>\n` : '';
  const form =
    pending && !alreadyApproved
      ? `<form class="card" method="post" action="${escapeHtml(options.formAction)}">
<input type="hidden" name="nonce" value="${escapeHtml(options.formNonce)}">
${stepLine}
<label for="comment">Comment <span class="muted">(required to reject)</span></label>
<textarea id="comment" name="comment" maxlength="2000"></textarea>
<div class="actions"><button class="approve" type="submit" name="outcome" value="approve">Approve</button>
<button class="reject" type="submit" name="outcome" value="reject">Reject</button></div>
</form>${editForm(intent, options.formAction, `<input type="hidden" name="nonce" value="${escapeHtml(options.formNonce)}">`)}`
      : `<div class="card">${decisionHtml(intent, reviewer, reader)}</div>`;
  const clock = options.stepClock;
  const plan = describePlan(
    clock
      ? { ...intent, step_started_at: clock.step_started_at, stage_index: clock.stage_index }
      : intent,
    options.now,
  );
  return page(
    intent.summary,
    `${banner}
<div class="card"><div class="muted">Approval requested by ${escapeHtml(intent.from_agent)}</div>
<h1>${escapeHtml(intent.summary)}</h1>
<div class="muted">${escapeHtml(intent.intent_type)} · for ${escapeHtml(intent.to_agent)}</div>
<p>Status: <span class="status">${escapeHtml(intent.status)}</span>${pending ? ` · decide by ${timeHtml(intent.deadline_at, reader)}` : ''}</p>
${pending ? `<section aria-label="What happens next"><strong>What happens next</strong>${planHtml(plan, reader)}</section>\n` : ''}${addedNotice(intent, reviewer)}<p class="muted">Asked: ${escapeHtml(intent.recipients.join(', '))}${intent.approvals.length > 0 ? ` · approvals so far: ${escapeHtml(intent.approvals.map((a) => a.by).join(', '))}` : ''}</p>
${zoneNoteHtml(reader)}
</div>
${editsCard(intent)}${form}
<div class="card"><strong>Payload</strong>${payloadTableHtml(intent.payload, reader)}
<details><summary>As JSON</summary><pre>${escapeHtml(JSON.stringify(intent.payload, null, 2))}</pre></details></div>
<div class="card"><strong>History</strong><ol>${events
      .map(
        (event) =>
          `<li>${timeHtml(event.at, reader)} · ${escapeHtml(event.type)} · ${escapeHtml(event.actor)}${event.channel ? ` (${escapeHtml(event.channel)})` : ''}</li>`,
      )
      .join('')}</ol></div>`,
  );
}

/** Who decided and when, in words; `at` is the moment, shown by each medium its own way. */
function decisionParts(
  intent: IntentView,
  reviewer: string,
): { before: string; at: string | null; after: string } {
  if (intent.decision) {
    const who = intent.decision.by === 'timeout' ? 'the deadline' : intent.decision.by;
    return {
      before: `This request was ${intent.status.replace('_', ' ')} by ${who} at `,
      at: intent.decision.at,
      after: `${intent.decision.channel ? ` (via ${intent.decision.channel})` : ''}.`,
    };
  }
  if (approvedCurrentVersion(intent, reviewer)) {
    return {
      before: 'You have approved this request; it waits for further approvals.',
      at: null,
      after: '',
    };
  }
  return { before: 'This request is no longer open to you.', at: null, after: '' };
}

/** `decisionParts` as text, the moment in the reader's zone. */
export function decisionLine(intent: IntentView, reviewer: string, reader: Reader): string {
  const parts = decisionParts(intent, reviewer);
  return parts.at === null
    ? parts.before
    : `${parts.before}${formatWhen(parts.at, reader)}${parts.after}`;
}

function decisionHtml(intent: IntentView, reviewer: string, reader: Reader): string {
  const parts = decisionParts(intent, reviewer);
  return parts.at === null
    ? escapeHtml(parts.before)
    : `${escapeHtml(parts.before)}${timeHtml(parts.at, reader)}${escapeHtml(parts.after)}`;
}

export function messagePage(title: string, text: string, kind: 'ok' | 'warn' | 'err'): string {
  return page(
    title,
    `<div class="banner ${kind}" role="status"><strong>${escapeHtml(title)}</strong><p>${escapeHtml(text)}</p></div>`,
  );
}

/** Who was asked because the agent's request named them, said first to the reviewer concerned. */
function addedNotice(intent: IntentView, reviewer: string): string {
  if (intent.added_by_request?.includes(reviewer)) {
    return `<p class="banner warn">You were named by the agent's request, not by the operator's policy.</p>\n`;
  }
  const line = addedByRequestLine(intent);
  return line ? `<p class="muted">${escapeHtml(line)}</p>\n` : '';
}

/**
 * The "Edit and approve" form: one field per editable value, filled with the version the page
 * shows, of the value's type (a number field, true/false, text). It posts like the other form,
 * with that form's hidden fields (`hidden`, HTML: the review page's nonce, the inbox's CSRF
 * token and the step and version shown).
 */
export function editForm(intent: IntentView, formAction: string, hidden: string): string {
  const editable = intent.editable ?? [];
  if (editable.length === 0) return '';
  const shown = currentPayload(intent);
  const fields = editable
    .map((pointer, index) => {
      const value = valueAt(shown, pointer);
      const id = `edit-${index}`;
      const name = escapeHtml(`edit:${pointer}`);
      const label = `<label for="${id}">${escapeHtml(pointer)}</label>`;
      if (typeof value === 'boolean') {
        const option = (v: boolean) =>
          `<option value="${v}"${v === value ? ' selected' : ''}>${v}</option>`;
        return `<div class="field">${label}<select id="${id}" name="${name}">${option(true)}${option(false)}</select></div>`;
      }
      const type = typeof value === 'number' ? ' type="number" step="any" inputmode="decimal"' : '';
      return `<div class="field">${label}<input id="${id}" name="${name}"${type} value="${escapeHtml(String(value))}"></div>`;
    })
    .join('\n');
  return `
<form class="card" method="post" action="${escapeHtml(formAction)}">
${hidden}
<input type="hidden" name="outcome" value="approve">
<input type="hidden" name="edit" value="1">
<strong>Edit and approve</strong>
<p class="muted">Change these values, then approve the request with them. Others asked see the edited version.</p>
${fields}
<div class="field"><label for="edit-comment">Comment</label><textarea id="edit-comment" name="comment" maxlength="2000"></textarea></div>
<div class="actions"><button class="approve" type="submit">Edit and approve</button></div>
</form>`;
}

/** What reviewers changed so far, beside the payload as the agent asked it. */
export function editsCard(intent: IntentView): string {
  const edits = Object.entries(intent.edits ?? {});
  if (edits.length === 0) return '';
  const rows = edits
    .map(
      ([pointer, value]) =>
        `<li>${escapeHtml(pointer)}: ${escapeHtml(JSON.stringify(valueAt(intent.payload, pointer)))} → <strong>${escapeHtml(JSON.stringify(value))}</strong></li>`,
    )
    .join('');
  return `<div class="card"><strong>Edited by reviewers</strong> <span class="muted">(version ${intent.payload_version ?? 0}; the payload below is as the agent asked)</span><ul>${rows}</ul></div>
`;
}
