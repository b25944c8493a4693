import { valueAt } from './edits';
import type { IntentState, IntentView, RequestKind } from './intent';
import {
  cut,
  describePlan,
  type FittedPayload,
  fitPayload,
  formatTime,
  formatWhen,
  listOf,
  type PayloadBudget,
  type PayloadLeaf,
  planSentence,
  type Reader,
  showsRawKey,
} from './readable';

/**
 * Notification texts. Plain strings here; HTML is escaped field by field. Times are in the
 * reader's zone (`MessageOptions.timeZone`, from their reviewer profile; UTC, said so, without one) with how far
 * away they are; the payload shows its first values (`EMAIL_PAYLOAD`) with a sentence for
 * whatever it leaves out; the plan says what happens next (`describePlan`).
 */

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

/** Whom a message is for and what it knows of the intent's clock. */
export interface MessageOptions {
  /** The reader's IANA zone; absent, times are in UTC and say so. */
  timeZone?: string;
  /** When the current step's clock started, from the stored intent (`describePlan`). */
  stepClock?: Pick<IntentState, 'step_started_at' | 'stage_index'>;
}

/**
 * How much of the payload an email shows. Mail clients cannot fold (`<details>` is not
 * rendered by most), so a long payload is cut here, said so, and the review page shows it all.
 */
export const EMAIL_PAYLOAD: PayloadBudget = { rows: 40, labelChars: 120, valueChars: 1000 };

export function renderMessage(
  intent: IntentView,
  kind: RequestKind,
  reviewUrl: string,
  now: Date,
  options: MessageOptions = {},
): RenderedMessage {
  const reader: Reader = { now, timeZone: options.timeZone };
  const subjectPrefix = kind === 'remind' ? 'Reminder: ' : kind === 'escalate' ? 'Escalated: ' : '';
  const subject = cut(singleLine(`${subjectPrefix}Approval needed: ${intent.summary}`), 200);
  const fitted = fitPayload(intent.payload, EMAIL_PAYLOAD);
  const addedLine = addedByRequestLine(intent);
  const edited = editedLine(intent);
  const clock = options.stepClock;
  const plan = describePlan(
    clock
      ? { ...intent, step_started_at: clock.step_started_at, stage_index: clock.stage_index }
      : intent,
    now,
  ).map((entry) => planSentence(entry, reader));
  const text = [
    KIND_LINE[kind],
    '',
    singleLine(intent.summary),
    `Requested by ${singleLine(intent.from_agent)} for ${singleLine(intent.to_agent)}`,
    ...(addedLine ? [addedLine] : []),
    ...(edited ? ['', edited] : []),
    '',
    ...payloadLines(fitted),
    '',
    'What happens next:',
    ...plan.map((sentence) => `- ${sentence}`),
    '',
    `Review and decide: ${reviewUrl}`,
    '',
    'Opening the link does not decide anything; you approve or reject on the page.',
  ].join('\n');
  const html = `<!doctype html><html><body style="font-family:system-ui,sans-serif;max-width:560px">
<p>${escapeHtml(KIND_LINE[kind])}</p>
<h2 style="font-size:18px">${escapeHtml(intent.summary)}</h2>
<p style="color:#555">Requested by ${escapeHtml(intent.from_agent)} for ${escapeHtml(intent.to_agent)}</p>
${addedLine ? `<p style="color:#8a4b00">${escapeHtml(addedLine)}</p>\n` : ''}${edited ? `<p><strong>${escapeHtml(edited)}</strong></p>\n` : ''}${payloadTable(fitted)}
<p style="margin-bottom:4px"><strong>What happens next</strong></p>
<ul style="margin-top:0;padding-left:20px">${plan.map((sentence) => `<li>${escapeHtml(sentence)}</li>`).join('')}</ul>
<p><a ses:no-track href="${escapeHtml(reviewUrl)}" style="display:inline-block;padding:10px 16px;background:#1a56db;color:#fff;text-decoration:none;border-radius:6px">Review and decide</a></p>
<p style="color:#777;font-size:12px">Opening the link does not decide anything; you approve or reject on the page.</p>
</body></html>`;
  return { subject, text, html };
}

/**
 * What reviewers changed before approving, in one line, so that those asked after an edit know
 * what they approve (the payload shown stays as the agent asked it). Null when nobody edited.
 */
export function editedLine(intent: Pick<IntentView, 'payload' | 'edits'>): string | null {
  const edits = Object.entries(intent.edits ?? {});
  if (edits.length === 0) return null;
  const changes = edits.map(
    ([pointer, value]) =>
      `${pointer}: ${JSON.stringify(valueAt(intent.payload, pointer))} → ${JSON.stringify(value)}`,
  );
  return singleLine(`Edited by reviewers (the payload below is as asked): ${changes.join('; ')}`);
}

/**
 * Says plainly who was asked because the agent's request named them, not the operator's policy:
 * a reviewer should know when the agent being checked chose who checks it. Null when nobody was.
 */
export function addedByRequestLine(
  intent: Pick<IntentView, 'added_by_request'>,
  maxNames = Number.POSITIVE_INFINITY,
): string | null {
  const added = intent.added_by_request ?? [];
  if (added.length === 0) return null;
  const shown = added.length > maxNames ? listOf(added, maxNames) : added.join(', ');
  return singleLine(`Named by the agent's request, not by the operator's policy: ${shown}`);
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
  now: Date,
  options: Pick<MessageOptions, 'timeZone'> = {},
): RenderedMessage {
  const reader: Reader = { now, timeZone: options.timeZone };
  const outcome = describeOutcome(intent, reader);
  const subject = cut(singleLine(`${outcome.title}: ${intent.summary}`), 200);
  const comment = intent.decision?.comment ? singleLine(intent.decision.comment) : null;
  const fitted = fitPayload(intent.payload, EMAIL_PAYLOAD);
  const deadline = formatTime(intent.deadline_at, reader);
  const text = [
    outcome.sentence,
    ...(comment ? [`Comment: ${comment}`] : []),
    '',
    singleLine(intent.summary),
    `Requested by ${singleLine(intent.from_agent)} for ${singleLine(intent.to_agent)}`,
    '',
    ...payloadLines(fitted),
    '',
    `Deadline was ${deadline}.`,
    '',
    'Nothing more is needed from you.',
    ...(reviewUrl ? ['', `The request and its audit trail: ${reviewUrl}`] : []),
  ].join('\n');
  const html = `<!doctype html><html><body style="font-family:system-ui,sans-serif;max-width:560px">
<h2 style="font-size:18px">${escapeHtml(outcome.title)}: ${escapeHtml(intent.summary)}</h2>
<p>${escapeHtml(outcome.sentence)}</p>
${comment ? `<blockquote style="margin:0 0 12px;padding-left:10px;border-left:3px solid #ccc">${escapeHtml(comment)}</blockquote>` : ''}
<p style="color:#555">Requested by ${escapeHtml(intent.from_agent)} for ${escapeHtml(intent.to_agent)}</p>
${payloadTable(fitted)}
<p>Deadline was <strong>${escapeHtml(deadline)}</strong>.</p>
<p>Nothing more is needed from you.</p>
${reviewUrl ? `<p><a ses:no-track href="${escapeHtml(reviewUrl)}">See the request and its audit trail</a></p>` : ''}
</body></html>`;
  return { subject, text, html };
}

/** The outcome of a final intent in words: a short title and one sentence. */
function describeOutcome(intent: IntentView, reader: Reader): { title: string; sentence: string } {
  const decision = intent.decision;
  const at = formatWhen(decision?.at ?? intent.updated_at, reader);
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
        sentence: `Nobody decided before the deadline (${formatTime(intent.deadline_at, reader)}), so it was ${outcome} automatically.`,
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

/**
 * A row's raw name, when its label does not already say it: the key, or for a nested value its
 * JSON Pointer, which is what edits and operator rules name.
 */
export function rawNameOf(row: Pick<PayloadLeaf, 'path' | 'pointer'>): string | null {
  const [key] = row.path;
  if (row.path.length === 1 && typeof key === 'string' && !showsRawKey(key)) return null;
  return row.path.length === 1 ? String(key) : row.pointer;
}

/** The fitted payload as plain-text lines, `Label (raw name): value`, and what they leave out. */
function payloadLines(fitted: FittedPayload): string[] {
  const lines = fitted.rows.map((row) => {
    const raw = rawNameOf(row);
    // A value's own line breaks indent its next lines, so it cannot pass for a line of ours.
    const value = withoutBidiControls(row.value).replace(/\r\n|[\r\n\u2028\u2029]/g, '\n    ');
    return `${singleLine(row.label)}${raw ? ` (${singleLine(cut(raw, 120))})` : ''}: ${value}`;
  });
  if (lines.length === 0) lines.push('The payload is empty.');
  return fitted.notShown ? [...lines, fitted.notShown] : lines;
}

/** The fitted payload as a two-column HTML table, every cell escaped, and what it leaves out. */
function payloadTable(fitted: FittedPayload): string {
  const rows = fitted.rows
    .map((row) => {
      const raw = rawNameOf(row);
      return `<tr><td style="padding:2px 8px 2px 0;color:#555;vertical-align:top">${escapeHtml(row.label)}${raw ? `<br><code style="font-size:11px;color:#777">${escapeHtml(cut(raw, 120))}</code>` : ''}</td><td style="white-space:pre-wrap;vertical-align:top">${escapeHtml(row.value)}</td></tr>`;
    })
    .join('');
  return `<table style="border-collapse:collapse">${rows}</table>${fitted.notShown ? `\n<p><strong>${escapeHtml(fitted.notShown)}</strong></p>` : ''}`;
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
