import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';

/** The audit trail: each event's hash covers the previous hash, so any edit, removal or reordering shows. */
export const GENESIS_HASH = '0'.repeat(64);

export type AuditEventType =
  | 'created'
  | 'notified'
  | 'reminded'
  | 'escalated'
  | 'viewed'
  | 'approval'
  | 'rejection'
  | 'step_completed'
  | 'approved'
  | 'rejected'
  | 'timed_out'
  | 'cancelled'
  | 'callback_sent'
  | 'notification_failed';

export interface AuditEventDraft {
  type: AuditEventType;
  at: string;
  actor: string;
  channel: string;
  data: Record<string, unknown>;
}

export interface AuditEvent extends AuditEventDraft {
  seq: number;
  prev_hash: string;
  hash: string;
}

export function hashEvent(event: Omit<AuditEvent, 'hash'>): string {
  const canonical = canonicalize(event);
  if (canonical === undefined) throw new Error('audit event cannot be canonicalized');
  return createHash('sha256')
    .update(event.prev_hash + canonical, 'utf8')
    .digest('hex');
}

/** Appends drafts after `head` (the intent's event_count and last_event_hash). */
export function sealEvents(
  head: { event_count: number; last_event_hash: string },
  drafts: AuditEventDraft[],
): { events: AuditEvent[]; event_count: number; last_event_hash: string } {
  let prevHash = head.last_event_hash;
  let seq = head.event_count;
  const events = drafts.map((draft) => {
    seq += 1;
    const unsealed = { seq, ...draft, prev_hash: prevHash };
    const hash = hashEvent(unsealed);
    prevHash = hash;
    return { ...unsealed, hash };
  });
  return { events, event_count: seq, last_event_hash: prevHash };
}

export type TrailVerdict =
  | { ok: true; event_count: number }
  | { ok: false; seq: number | null; reason: string };

/**
 * Checks a trail against the head the intent carries. The head catches what the chain alone
 * cannot: truncation of the last events.
 */
export function verifyTrail(
  events: AuditEvent[],
  head?: { event_count: number; last_event_hash: string },
): TrailVerdict {
  let prevHash = GENESIS_HASH;
  for (const [index, event] of events.entries()) {
    if (event.seq !== index + 1) {
      return {
        ok: false,
        seq: event.seq,
        reason: `expected event ${index + 1} here, found ${event.seq}`,
      };
    }
    if (event.prev_hash !== prevHash) {
      return { ok: false, seq: event.seq, reason: 'prev_hash does not match the previous event' };
    }
    const { hash, ...unsealed } = event;
    if (hashEvent(unsealed) !== hash) {
      return {
        ok: false,
        seq: event.seq,
        reason: 'the event was altered: its hash does not match',
      };
    }
    prevHash = hash;
  }
  if (head && (head.event_count !== events.length || head.last_event_hash !== prevHash)) {
    return {
      ok: false,
      seq: null,
      reason: `the trail ends at event ${events.length} but the intent records ${head.event_count} events`,
    };
  }
  return { ok: true, event_count: events.length };
}
