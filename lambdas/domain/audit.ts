/**
 * The audit trail: each event's hash covers the previous hash, so any edit, removal or
 * reordering shows. The chain itself (RFC 8785 canonical JSON, SHA-256, the genesis hash) and
 * its verification live in the SDK, which the server reuses so that the hashes it seals and the
 * hashes clients verify come from one implementation.
 */
import { GENESIS_HASH, hashAuditEvent } from '../../sdk/src/audit';

export { GENESIS_HASH };

export type AuditEventType =
  | 'created'
  | 'notified'
  | 'reminded'
  | 'reminder_held'
  | 'delegated'
  | 'escalated'
  | 'viewed'
  | 'approval'
  | 'rejection'
  | 'step_completed'
  | 'step_restarted'
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
  return hashAuditEvent(event);
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
