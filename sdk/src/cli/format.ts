/**
 * Human-readable output. Everything an agent wrote (summary, payload, comments) reaches a
 * reviewer's terminal through {@link clean}: an escape sequence or a bidirectional override in
 * a summary must not be able to recolour, hide or reorder what the reviewer is approving.
 */
import type { AuditEvent, Intent } from '../types.js';

function isUnsafe(unit: number): boolean {
  return (
    unit <= 0x1f ||
    (unit >= 0x7f && unit <= 0x9f) ||
    (unit >= 0x200b && unit <= 0x200f) ||
    (unit >= 0x2028 && unit <= 0x202e) ||
    (unit >= 0x2060 && unit <= 0x2069) ||
    unit === 0xfeff
  );
}

/**
 * Control characters (C0, DEL, C1: terminal escape sequences), bidirectional controls
 * ("Trojan Source") and invisible format characters, shown as `\uXXXX` instead of obeyed.
 */
export function clean(text: string): string {
  let result = '';
  for (let i = 0; i < text.length; i += 1) {
    const unit = text.charCodeAt(i);
    result += isUnsafe(unit) ? `\\u${unit.toString(16).padStart(4, '0')}` : text.charAt(i);
  }
  return result;
}

/** Cuts to `max` characters (after cleaning), marking the cut with an ellipsis. */
export function truncate(text: string, max: number): string {
  const safe = clean(text);
  if (safe.length <= max) return safe;
  // Never cut an emoji (a surrogate pair) in half.
  return `${safe.slice(0, Math.max(0, max - 1)).replace(/[\ud800-\udbff]$/, '')}…`;
}

/** "in 7h 59m", "3m ago", "just now". */
export function relative(iso: string | null | undefined, now: Date): string {
  if (!iso) return '-';
  const at = Date.parse(iso);
  if (Number.isNaN(at)) return clean(iso);
  const delta = at - now.getTime();
  const span = spell(Math.abs(delta));
  if (span === undefined) return 'just now';
  return delta >= 0 ? `in ${span}` : `${span} ago`;
}

function spell(ms: number): string | undefined {
  const seconds = Math.round(ms / 1000);
  if (seconds < 1) return undefined;
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return minutes % 60 === 0 ? `${hours}h` : `${hours}h ${minutes % 60}m`;
  const days = Math.floor(hours / 24);
  return hours % 24 === 0 ? `${days}d` : `${days}d ${hours % 24}h`;
}

/** A time as ISO plus how far it is from now: `2026-11-24T09:00:00.000Z (in 2h)`. */
export function when(iso: string | null | undefined, now: Date): string {
  if (!iso) return '-';
  return `${clean(iso)} (${relative(iso, now)})`;
}

/** Columns padded to the widest cell; the last column is not padded. Cells must be clean. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((header, column) =>
    Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, column) =>
        column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0),
      )
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

/** The approvals counted at the intent's current step, and how many that step needs. */
export function quorum(intent: Intent): {
  have: number;
  need: number;
  step: number;
  steps: number;
} {
  const steps = intent.policy.steps;
  const need = steps
    ? (steps[intent.step]?.required_approvals ?? 1)
    : intent.policy.required_approvals;
  // Approvals of an earlier version of the payload no longer count (an edit made a new one).
  const version = intent.payload_version ?? 0;
  const have = intent.approvals.filter(
    (approval) => approval.step === intent.step && (approval.payload_version ?? 0) === version,
  ).length;
  return { have, need, step: intent.step + 1, steps: steps ? steps.length : 1 };
}

/** One line about the decision, e.g. `approved by cfo@x.com via cli, 2m ago: "ok"`. */
export function describeDecision(intent: Intent, now: Date): string {
  const decision = intent.decision;
  if (!decision) return 'none yet';
  const comment = decision.comment ? `: "${clean(decision.comment)}"` : '';
  return `${clean(decision.outcome)} by ${clean(decision.by)} via ${clean(decision.channel)}, ${relative(decision.at, now)}${comment}`;
}

/** `show`: the intent, its payload and its trail. */
export function describeIntent(intent: Intent, events: AuditEvent[], now: Date): string {
  const lines: string[] = [];
  lines.push(`${clean(intent.id)}  ${clean(intent.status).toUpperCase()}`);
  lines.push(`  ${clean(intent.summary)}`);
  lines.push('');
  const { have, need, step, steps } = quorum(intent);
  const fields: [string, string][] = [
    ['type', clean(intent.intent_type)],
    ['from', clean(intent.from_agent)],
    ['to agent', clean(intent.to_agent)],
    ['created', when(intent.created_at, now)],
    ['deadline', `${when(intent.deadline_at, now)}, then ${clean(intent.policy.timeout.action)}`],
    ['reviewers', intent.recipients.map(clean).join(', ') || '-'],
    [
      'approvals',
      `${have} of ${need}${steps > 1 ? ` at step ${step} of ${steps}` : ''}${
        intent.approvals.length > 0
          ? `: ${intent.approvals
              .map(
                (a) =>
                  `${clean(a.by)} (${clean(a.channel)}${a.comment ? `, "${clean(a.comment)}"` : ''})`,
              )
              .join(', ')}`
          : ''
      }`,
    ],
    ['decision', describeDecision(intent, now)],
  ];
  if (intent.status === 'pending' && intent.next_action_at) {
    fields.push(['next action', when(intent.next_action_at, now)]);
  }
  if (intent.editable && intent.editable.length > 0) {
    fields.push([
      'editable',
      `${intent.editable.map(clean).join(', ')} (approve --set <pointer>=<value>)`,
    ]);
  }
  const edits = Object.entries(intent.edits ?? {});
  if (edits.length > 0) {
    fields.push([
      'edited',
      `${edits.map(([pointer, value]) => `${clean(pointer)} = ${clean(JSON.stringify(value))}`).join(', ')} (version ${intent.payload_version ?? 0})`,
    ]);
  }
  const width = Math.max(...fields.map(([label]) => label.length));
  for (const [label, value] of fields) lines.push(`  ${label.padEnd(width)}  ${value}`);
  lines.push('');
  lines.push('Payload');
  for (const line of JSON.stringify(intent.payload, null, 2).split('\n')) {
    lines.push(`  ${clean(line)}`);
  }
  lines.push('');
  lines.push(`Audit trail (${events.length} ${events.length === 1 ? 'event' : 'events'})`);
  lines.push(
    table(
      ['  SEQ', 'AT', 'TYPE', 'ACTOR', 'CHANNEL', 'DATA'],
      events.map((event) => [
        `  ${event.seq}`,
        clean(event.at),
        clean(event.type),
        clean(event.actor),
        clean(event.channel),
        truncate(Object.keys(event.data).length > 0 ? JSON.stringify(event.data) : '', 100),
      ]),
    ),
  );
  return lines.join('\n');
}

/** A row of the `pending` table. */
export function pendingRow(intent: Intent, now: Date): string[] {
  return [
    clean(intent.id),
    relative(intent.created_at, now),
    relative(intent.deadline_at, now),
    truncate(intent.from_agent, 40),
    truncate(intent.summary, 80),
  ];
}

export const PENDING_HEADERS = ['ID', 'CREATED', 'DEADLINE', 'FROM', 'SUMMARY'];

/** The `pending` table of `intents`. */
export function pendingTable(intents: Intent[], now: Date): string {
  return table(
    PENDING_HEADERS,
    intents.map((intent) => pendingRow(intent, now)),
  );
}
