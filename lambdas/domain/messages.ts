import { formatDuration } from './durations';
import type { IntentView } from './intent';

/** Notification texts. Plain strings here; HTML is escaped field by field. */
export type MessageKind = 'notify' | 'remind' | 'escalate' | 'decided';

export interface RenderedMessage {
  subject: string;
  text: string;
  html: string;
}

const KIND_LINE: Record<MessageKind, string> = {
  notify: 'An agent is waiting for your approval.',
  remind: 'Reminder: an agent is still waiting for your approval.',
  escalate: 'Escalated to you: an agent is waiting for an approval that nobody has given yet.',
  decided: 'This request has been decided.',
};

export function renderMessage(
  intent: IntentView,
  kind: MessageKind,
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
    ...fields.map(([key, value]) => `${key}: ${value}`),
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
<table style="border-collapse:collapse">${fields
    .map(
      ([key, value]) =>
        `<tr><td style="padding:2px 8px 2px 0;color:#555">${escapeHtml(key)}</td><td>${escapeHtml(value)}</td></tr>`,
    )
    .join('')}</table>
<p>Decide before <strong>${escapeHtml(intent.deadline_at)}</strong> (in ${escapeHtml(remaining)}).</p>
<p><a href="${escapeHtml(reviewUrl)}" style="display:inline-block;padding:10px 16px;background:#1a56db;color:#fff;text-decoration:none;border-radius:6px">Review and decide</a></p>
<p style="color:#777;font-size:12px">Opening the link does not decide anything; you approve or reject on the page.</p>
</body></html>`;
  return { subject, text, html };
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
