/**
 * The audit trail: each event's hash covers the previous hash, so any edit, removal or
 * reordering shows. The chain itself (RFC 8785 canonical JSON, SHA-256, the genesis hash) and
 * its verification live in the SDK, which the server reuses so that the hashes it seals and the
 * hashes clients verify come from one implementation.
 */
import { GENESIS_HASH, hashAuditEvent } from '../../sdk/src/audit';
import type { AuditEvent as ContractAuditEvent, KnownAuditEventType } from '../../sdk/src/types';

export { GENESIS_HASH };

/** The server writes only the event types this version of the contract defines. */
type AuditEventType = KnownAuditEventType;

export type AuditEvent = ContractAuditEvent<AuditEventType>;

/** An event before it is sealed into the chain (numbered and hashed). */
export type AuditEventDraft = Omit<AuditEvent, 'seq' | 'prev_hash' | 'hash'>;

function hashEvent(event: Omit<AuditEvent, 'hash'>): string {
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
