import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  type AuditEvent,
  type AuditEventDraft,
  GENESIS_HASH,
  sealEvents,
} from '../../lambdas/domain/audit';
import { verifyTrail } from '../../sdk/src/audit';

const draft = (
  type: AuditEventDraft['type'],
  data: Record<string, unknown> = {},
): AuditEventDraft => ({
  type,
  at: '2026-11-24T09:00:00.000Z',
  actor: 'cfo@company.com',
  channel: 'api',
  data,
});

function trail(): { events: AuditEvent[]; head: { eventCount: number; lastEventHash: string } } {
  const sealed = sealEvents({ event_count: 0, last_event_hash: GENESIS_HASH }, [
    draft('created', { b: 1, a: [1, 'x'] }),
    draft('notified', { to: 'cfo@company.com' }),
    draft('approved', { comment: 'ok' }),
  ]);
  return {
    events: sealed.events,
    head: { eventCount: sealed.event_count, lastEventHash: sealed.last_event_hash },
  };
}

describe('the audit chain', () => {
  it('hashes prev_hash + RFC 8785 canonical JSON, as the contract documents', () => {
    const [first] = trail().events;
    if (!first) throw new Error('no event');
    // Canonical form written out by hand: keys sorted, no spaces.
    const canonical =
      '{"actor":"cfo@company.com","at":"2026-11-24T09:00:00.000Z","channel":"api","data":{"a":[1,"x"],"b":1},' +
      `"prev_hash":"${GENESIS_HASH}","seq":1,"type":"created"}`;
    expect(first.hash).toBe(
      createHash('sha256')
        .update(GENESIS_HASH + canonical)
        .digest('hex'),
    );
  });

  it('verifies an intact trail against the intent head, with the SDK that clients use', () => {
    const { events, head } = trail();
    expect(verifyTrail(events, head)).toMatchObject({ ok: true, eventCount: 3 });
  });

  it('continues a chain from the intent head when later events are sealed', () => {
    const first = sealEvents({ event_count: 0, last_event_hash: GENESIS_HASH }, [draft('created')]);
    const later = sealEvents(first, [draft('notified'), draft('approved')]);
    const events = [...first.events, ...later.events];
    expect(events.map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(
      verifyTrail(events, { eventCount: later.event_count, lastEventHash: later.last_event_hash }),
    ).toMatchObject({ ok: true, eventCount: 3 });
  });

  it('detects an edited event, a reordering, a removal and a truncation', () => {
    const { events, head } = trail();
    const edited = events.map((e) => (e.seq === 2 ? { ...e, data: { to: 'mallory@x.com' } } : e));
    expect(verifyTrail(edited, head)).toMatchObject({ ok: false, seq: 2 });

    const reordered = [events[0], events[2], events[1]] as AuditEvent[];
    expect(verifyTrail(reordered, head)).toMatchObject({ ok: false });

    const removed = [events[0], events[2]] as AuditEvent[];
    expect(verifyTrail(removed, head)).toMatchObject({ ok: false });

    const truncated = events.slice(0, 2);
    expect(verifyTrail(truncated)).toMatchObject({ ok: true, eventCount: 2 });
    expect(verifyTrail(truncated, head)).toMatchObject({ ok: false, problem: 'event_count' });
  });
});
