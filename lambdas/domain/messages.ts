import { formatDuration } from './durations';
import type { IntentView } from './intent';

/** Notification texts. Plain strings here; HTML is escaped field by field. */
export type MessageKind = 'notify' | 'remind' | 'escalate' | 'decided';
/** The kinds that ask for a decision; `decided` reports one (`renderDecidedMessage`). */
export type RequestKind = Exclude<MessageKind, 'decided'>;

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
  const text = [
    KIND_LINE[kind],
    '',
    intent.summary,
    `Requested by ${intent.from_agent} for ${intent.to_agent}`,
    ...fieldLines(fields),
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
${fieldTable(fields)}
<p>Decide before <strong>${escapeHtml(intent.deadline_at)}</strong> (in ${escapeHtml(remaining)}).</p>
<p><a ses:no-track href="${escapeHtml(reviewUrl)}" style="display:inline-block;padding:10px 16px;background:#1a56db;color:#fff;text-decoration:none;border-radius:6px">Review and decide</a></p>
<p style="color:#777;font-size:12px">Opening the link does not decide anything; you approve or reject on the page.</p>
</body></html>`;
  return { subject, text, html };
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
    intent.summary,
    `Requested by ${intent.from_agent} for ${intent.to_agent}`,
    ...fieldLines(fields),
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
${fieldTable(fields)}
<p>Deadline was <strong>${escapeHtml(intent.deadline_at)}</strong>.</p>
<p>Nothing more is needed from you.</p>
${reviewUrl ? `<p><a ses:no-track href="${escapeHtml(reviewUrl)}">See the request and its audit trail</a></p>` : ''}
</body></html>`;
  return { subject, text, html };
}

/** The outcome of a final intent in words: a short title and one sentence. */
export function describeOutcome(intent: IntentView): { title: string; sentence: string } {
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

/** The first few top-level payload fields, shortened, for a message a person scans. */
export function keyFields(payload: Record<string, unknown>, max = 8): [string, string][] {
  return Object.entries(payload)
    .slice(0, max)
    .map(([key, value]) => {
      const shown = typeof value === 'string' ? value : JSON.stringify(value);
      return [singleLine(key).slice(0, 60), singleLine(shown ?? 'null').slice(0, 200)];
    });
}

/** `keyFields` as plain-text lines, one `key: value` each. */
function fieldLines(fields: [string, string][]): string[] {
  return fields.map(([key, value]) => `${key}: ${value}`);
}

/** `keyFields` as a two-column HTML table, every cell escaped. */
function fieldTable(fields: [string, string][]): string {
  return `<table style="border-collapse:collapse">${fields
    .map(
      ([key, value]) =>
        `<tr><td style="padding:2px 8px 2px 0;color:#555">${escapeHtml(key)}</td><td>${escapeHtml(value)}</td></tr>`,
    )
    .join('')}</table>`;
}

/** No CR/LF may reach a header or a subject line. */
export function singleLine(value: string): string {
  return value.replace(/[\r\n\t\u2028\u2029]+/g, ' ').trim();
}

export function escapeHtml(value: string): string {
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}
