import { formatDuration } from './durations';
import type { IntentView, RequestKind } from './intent';

/** Notification texts. Plain strings here; HTML is escaped field by field. */

export interface RenderedMessage {
  subject: string;
  text: string;
  html: string;
}

const KIND_LINE: Record<RequestKind, string> = {
  notify: 'An agent is waiting for your approval.',
  remind: 'Reminder: an agent is still waiting for your approval.',
  escalate: 'Escalated to you: an agent is waiting for an approval that nobody has given yet.',
};

export function renderMessage(
  intent: IntentView,
  kind: RequestKind,
  reviewUrl: string,
  now: Date,
): RenderedMessage {
  const subjectPrefix = kind === 'remind' ? 'Reminder: ' : kind === 'escalate' ? 'Escalated: ' : '';
  const subject = singleLine(`${subjectPrefix}Approval needed: ${intent.summary}`).slice(0, 200);
  const remaining = formatDuration((Date.parse(intent.deadline_at) - now.getTime()) / 1000);
  const fields = keyFields(intent.payload);
  const addedLine = addedByRequestLine(intent);
  const text = [
    KIND_LINE[kind],
    '',
    singleLine(intent.summary),
    `Requested by ${singleLine(intent.from_agent)} for ${singleLine(intent.to_agent)}`,
    ...(addedLine ? [addedLine] : []),
    ...fieldLines(fields, intent.payload),
    '',
    `Decide before ${intent.deadline_at} (in ${remaining}); without a decision it will be ${intent.policy.timeout.action === 'approve' ? 'approved' : 'rejected'} automatically.`,
    '',
    `Review and decide: ${reviewUrl}`,
    '',
    'Opening the link does not decide anything; you approve or reject on the page.',
  ].join('\n');
  const html = `<!doctype html><html><body style="font-family:system-ui,sans-serif;max-width:560px">
<p>${escapeHtml(KIND_LINE[kind])}</p>
<h2 style="font-size:18px">${escapeHtml(intent.summary)}</h2>
<p style="color:#555">Requested by ${escapeHtml(intent.from_agent)} for ${escapeHtml(intent.to_agent)}</p>
${addedLine ? `<p style="color:#8a4b00">${escapeHtml(addedLine)}</p>\n` : ''}${fieldTable(fields, intent.payload)}
<p>Decide before <strong>${escapeHtml(intent.deadline_at)}</strong> (in ${escapeHtml(remaining)}).</p>
<p><a ses:no-track href="${escapeHtml(reviewUrl)}" style="display:inline-block;padding:10px 16px;background:#1a56db;color:#fff;text-decoration:none;border-radius:6px">Review and decide</a></p>
<p style="color:#777;font-size:12px">Opening the link does not decide anything; you approve or reject on the page.</p>
</body></html>`;
  return { subject, text, html };
}

/**
 * Says plainly who was asked because the agent's request named them, not the operator's policy:
 * a reviewer should know when the agent being checked chose who checks it. Null when nobody was.
 */
export function addedByRequestLine(intent: Pick<IntentView, 'added_by_request'>): string | null {
  const added = intent.added_by_request ?? [];
  if (added.length === 0) return null;
  return singleLine(
    `Named by the agent's request, not by the operator's policy: ${added.join(', ')}`,
  );
}

/**
 * The notice that a request you were asked about is over: the outcome, who decided, when and
 * why, and (while the link is still valid) the page with the whole trail. Nothing to click that
 * could decide. It repeats the key payload fields and the deadline the first notice showed, so
 * a reader can tell which of several similar requests ended without opening anything.
 */
export function renderDecidedMessage(
  intent: IntentView,
  reviewUrl: string | null,
): RenderedMessage {
  const outcome = describeOutcome(intent);
  const subject = singleLine(`${outcome.title}: ${intent.summary}`).slice(0, 200);
  const comment = intent.decision?.comment ? singleLine(intent.decision.comment) : null;
  const fields = keyFields(intent.payload);
  const text = [
    outcome.sentence,
    ...(comment ? [`Comment: ${comment}`] : []),
    '',
    singleLine(intent.summary),
    `Requested by ${singleLine(intent.from_agent)} for ${singleLine(intent.to_agent)}`,
    ...fieldLines(fields, intent.payload),
    '',
    `Deadline was ${intent.deadline_at}.`,
    '',
    'Nothing more is needed from you.',
    ...(reviewUrl ? ['', `The request and its audit trail: ${reviewUrl}`] : []),
  ].join('\n');
  const html = `<!doctype html><html><body style="font-family:system-ui,sans-serif;max-width:560px">
<h2 style="font-size:18px">${escapeHtml(outcome.title)}: ${escapeHtml(intent.summary)}</h2>
<p>${escapeHtml(outcome.sentence)}</p>
${comment ? `<blockquote style="margin:0 0 12px;padding-left:10px;border-left:3px solid #ccc">${escapeHtml(comment)}</blockquote>` : ''}
<p style="color:#555">Requested by ${escapeHtml(intent.from_agent)} for ${escapeHtml(intent.to_agent)}</p>
${fieldTable(fields, intent.payload)}
<p>Deadline was <strong>${escapeHtml(intent.deadline_at)}</strong>.</p>
<p>Nothing more is needed from you.</p>
${reviewUrl ? `<p><a ses:no-track href="${escapeHtml(reviewUrl)}">See the request and its audit trail</a></p>` : ''}
</body></html>`;
  return { subject, text, html };
}

/** The outcome of a final intent in words: a short title and one sentence. */
function describeOutcome(intent: IntentView): { title: string; sentence: string } {
  const decision = intent.decision;
  const at = decision?.at ?? intent.updated_at;
  switch (intent.status) {
    case 'approved':
    case 'rejected': {
      const verb = intent.status === 'approved' ? 'Approved' : 'Rejected';
      const by = decision ? ` by ${decision.by} via ${decision.channel}` : '';
      return { title: verb, sentence: `${verb}${by} at ${at}.` };
    }
    case 'timed_out': {
      const outcome = decision?.outcome === 'approved' ? 'approved' : 'rejected';
      return {
        title: 'Timed out',
        sentence: `Nobody decided before the deadline (${intent.deadline_at}), so it was ${outcome} automatically.`,
      };
    }
    case 'cancelled':
      return {
        title: 'Cancelled',
        sentence: `Cancelled by ${decision?.by ?? 'the requesting agent'} at ${at}.`,
      };
    case 'pending':
      return { title: 'Still pending', sentence: 'This request is still waiting for a decision.' };
  }
}

/** Top-level payload fields a message shows, and the characters of each value it shows. */
const SHOWN_FIELDS = 8;
const SHOWN_VALUE_CHARS = 200;

/**
 * The first few top-level payload fields, for a message a person scans; a value cut short ends
 * with `…`, so that nobody takes the part for the whole.
 */
export function keyFields(
  payload: Record<string, unknown>,
  max = SHOWN_FIELDS,
): [string, string][] {
  return Object.entries(payload)
    .slice(0, max)
    .map(([key, value]) => {
      const shown = singleLine(
        (typeof value === 'string' ? value : JSON.stringify(value)) ?? 'null',
      );
      return [
        singleLine(key).slice(0, 60),
        shown.length > SHOWN_VALUE_CHARS ? `${shown.slice(0, SHOWN_VALUE_CHARS - 1)}…` : shown,
      ];
    });
}

/**
 * What a message leaves out of the payload, in one sentence, or null when it shows it all: a
 * reviewer who approves from the message (one click in Slack) must know there is more to read.
 */
export function notShownLine(payload: Record<string, unknown>): string | null {
  const entries = Object.entries(payload);
  const hidden = Math.max(0, entries.length - SHOWN_FIELDS);
  const shortened = keyFields(payload).filter(([, value]) => value.endsWith('…')).length;
  if (hidden === 0 && shortened === 0) return null;
  const parts = [
    ...(hidden > 0 ? [`${hidden} more field${hidden === 1 ? '' : 's'} not shown`] : []),
    ...(shortened > 0 ? [`${shortened} value${shortened === 1 ? '' : 's'} shortened`] : []),
  ];
  return `${parts.join(', ')}: open the review page to see the whole request before you decide.`;
}

/** `keyFields` as plain-text lines, one `key: value` each, and what they leave out. */
function fieldLines(fields: [string, string][], payload: Record<string, unknown>): string[] {
  const notShown = notShownLine(payload);
  return [...fields.map(([key, value]) => `${key}: ${value}`), ...(notShown ? [notShown] : [])];
}

/** `keyFields` as a two-column HTML table, every cell escaped, and what they leave out. */
function fieldTable(fields: [string, string][], payload: Record<string, unknown>): string {
  const notShown = notShownLine(payload);
  return `<table style="border-collapse:collapse">${fields
    .map(
      ([key, value]) =>
        `<tr><td style="padding:2px 8px 2px 0;color:#555">${escapeHtml(key)}</td><td>${escapeHtml(value)}</td></tr>`,
    )
    .join('')}</table>${notShown ? `\n<p><strong>${escapeHtml(notShown)}</strong></p>` : ''}`;
}

/**
 * Bidirectional embedding, override and isolate controls (U+202A-U+202E, U+2066-U+2069): in an
 * agent's text they reorder what a reviewer reads (`IBAN …` shown backwards, an amount's digits
 * swapped). Each is shown as U+FFFD instead, so the text reads in its stored order and the
 * tampering shows.
 */
export function withoutBidiControls(value: string): string {
  return value.replace(/[\u202A-\u202E\u2066-\u2069]/g, '\uFFFD');
}

/** No CR/LF may reach a header or a subject line; nor a bidi control (`withoutBidiControls`). */
export function singleLine(value: string): string {
  return withoutBidiControls(value.replace(/[\r\n\t\u2028\u2029]+/g, ' ').trim());
}

export function escapeHtml(value: string): string {
  return withoutBidiControls(value)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}
