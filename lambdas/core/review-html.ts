import type { AuditEvent } from '../domain/audit';
import type { IntentView } from '../domain/intent';
import { addedByRequestLine, escapeHtml } from '../domain/messages';

/**
 * Server-rendered review pages. No script at all: nothing on the page can submit the form by
 * itself (some mail scanners run scripts), and every value is escaped.
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
`;

/** A page of the review surfaces; `extraStyle` adds to the shared style (the inbox's). */
export function page(title: string, body: string, extraStyle = ''): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="robots" content="noindex,nofollow">
<title>${escapeHtml(title)} · Countersign</title><style>${STYLE}${extraStyle}</style></head>
<body><main>${body}</main></body></html>`;
}

const LARGE_PAYLOAD_CHARS = 2000;

export function reviewPage(options: {
  intent: IntentView;
  events: AuditEvent[];
  reviewer: string;
  formAction: string;
  formNonce: string;
  banner?: { kind: 'ok' | 'warn' | 'err'; text: string };
}): string {
  const { intent, events, reviewer } = options;
  const payloadJson = JSON.stringify(intent.payload, null, 2);
  const payloadBlock =
    payloadJson.length > LARGE_PAYLOAD_CHARS
      ? `<details><summary>Payload (${payloadJson.length} characters)</summary><pre>${escapeHtml(payloadJson)}</pre></details>`
      : `<pre>${escapeHtml(payloadJson)}</pre>`;
  const banner = options.banner
    ? `<div class="banner ${options.banner.kind}" role="status">${escapeHtml(options.banner.text)}</div>`
    : '';
  const pending = intent.status === 'pending';
  const alreadyApproved = intent.approvals.some((a) => a.by === reviewer && a.step === intent.step);
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
</form>`
      : `<div class="card">${escapeHtml(decisionLine(intent, reviewer))}</div>`;
  return page(
    intent.summary,
    `${banner}
<div class="card"><div class="muted">Approval requested by ${escapeHtml(intent.from_agent)}</div>
<h1>${escapeHtml(intent.summary)}</h1>
<div class="muted">${escapeHtml(intent.intent_type)} · for ${escapeHtml(intent.to_agent)}</div>
<p>Status: <span class="status">${escapeHtml(intent.status)}</span>${pending ? ` · decide before ${escapeHtml(intent.deadline_at)} (then ${intent.policy.timeout.action === 'approve' ? 'approved' : 'rejected'} automatically)` : ''}</p>
${addedNotice(intent, reviewer)}<p class="muted">Asked: ${escapeHtml(intent.recipients.join(', '))}${intent.approvals.length > 0 ? ` · approvals so far: ${escapeHtml(intent.approvals.map((a) => a.by).join(', '))}` : ''}</p>
</div>
${form}
<div class="card"><strong>Payload</strong>${payloadBlock}</div>
<div class="card"><strong>History</strong><ol>${events
      .map(
        (event) =>
          `<li>${escapeHtml(event.at)} · ${escapeHtml(event.type)} · ${escapeHtml(event.actor)}${event.channel ? ` (${escapeHtml(event.channel)})` : ''}</li>`,
      )
      .join('')}</ol></div>`,
  );
}

export function decisionLine(intent: IntentView, reviewer: string): string {
  if (intent.decision) {
    const who = intent.decision.by === 'timeout' ? 'the deadline' : intent.decision.by;
    return `This request was ${intent.status.replace('_', ' ')} by ${who} at ${intent.decision.at}${intent.decision.channel ? ` (via ${intent.decision.channel})` : ''}.`;
  }
  if (intent.approvals.some((a) => a.by === reviewer && a.step === intent.step)) {
    return 'You have approved this request; it waits for further approvals.';
  }
  return 'This request is no longer open to you.';
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
