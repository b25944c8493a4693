import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  type AuditEvent,
  type AuditEventDraft,
  GENESIS_HASH,
  sealEvents,
} from '../../lambdas/domain/audit';
import { createIntentSchema, newIntent } from '../../lambdas/domain/create';
import { canonicalize, verifyIntentTrail, verifyTrail } from '../../sdk/src/audit';
import { PERMISSIVE_BASE } from '../fakes/memory-policies';

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

describe('the trail covers what was asked', () => {
  const payment = {
    intent_type: 'intent.payment.v1',
    to_agent: 'agent://payments',
    payload: { iban: 'DE89370400440532013000', amount: 40000, reviewer: 'cfo@company.com' },
    callback_url: 'https://agent.example.com/hooks/countersign',
  };

  /** A created intent and its sealed trail, through the real creation path. */
  function created() {
    const { intent, events } = newIntent(createIntentSchema.parse(payment), {
      id: 'int_PAY',
      from_agent: 'agent://payments',
      now: new Date('2026-11-24T09:00:00.000Z'),
      configuredChannels: ['email'],
      operatorPolicy: {},
      policySource: { name: 'built-in', version: 0, source: 'built-in' },
      base: PERMISSIVE_BASE,
      allowLoopbackCallbacks: false,
    });
    const sealed = sealEvents(intent, events);
    return {
      intent: {
        ...intent,
        event_count: sealed.event_count,
        last_event_hash: sealed.last_event_hash,
      },
      events: sealed.events,
    };
  }

  it('records the SHA-256 of the RFC 8785 canonical payload, the callback URL and the creator', () => {
    const { events } = created();
    expect(events[0]?.data).toMatchObject({
      payload_sha256: createHash('sha256').update(canonicalize(payment.payload)).digest('hex'),
      callback_url: payment.callback_url,
      from_agent: 'agent://payments',
    });
    // Key order does not matter: the hash is of the canonical form.
    const reordered = {
      reviewer: 'cfo@company.com',
      amount: 40000,
      iban: 'DE89370400440532013000',
    };
    expect(events[0]?.data.payload_sha256).toBe(
      createHash('sha256').update(canonicalize(reordered)).digest('hex'),
    );
  });

  it('verifies the intent as created, and fails once its payload or callback URL is swapped', () => {
    const { intent, events } = created();
    expect(verifyIntentTrail(intent, events)).toMatchObject({ ok: true, payloadCovered: true });

    const swapped = {
      ...intent,
      payload: { ...intent.payload, iban: 'GB33BUKB20201555555555', amount: 90000 },
    };
    expect(verifyIntentTrail(swapped, events)).toMatchObject({
      ok: false,
      problem: 'intent_mismatch',
      seq: 1,
      message: expect.stringMatching(/payload was changed/),
    });
    const redirected = { ...intent, callback_url: 'https://mallory.example.com/hook' };
    expect(verifyIntentTrail(redirected, events)).toMatchObject({
      ok: false,
      problem: 'intent_mismatch',
      message: expect.stringMatching(/callback_url/),
    });
    const otherAgent = { ...intent, from_agent: 'agent://mallory' };
    expect(verifyIntentTrail(otherAgent, events)).toMatchObject({
      ok: false,
      problem: 'intent_mismatch',
    });
  });

  it('still verifies an intent created before payload hashing, and says the payload is not covered', () => {
    const { intent } = created();
    // The created event as it was written before: payload_bytes only.
    const legacy = sealEvents({ event_count: 0, last_event_hash: GENESIS_HASH }, [
      draft('created', {
        intent_type: intent.intent_type,
        to_agent: intent.to_agent,
        payload_bytes: 80,
      }),
    ]);
    const old = {
      ...intent,
      event_count: legacy.event_count,
      last_event_hash: legacy.last_event_hash,
    };
    expect(verifyIntentTrail(old, legacy.events)).toMatchObject({
      ok: true,
      payloadCovered: false,
    });
    // The chain itself is still checked for them.
    const edited = legacy.events.map((e) => ({ ...e, data: { ...e.data, payload_bytes: 81 } }));
    expect(verifyIntentTrail(old, edited)).toMatchObject({ ok: false, problem: 'hash' });
  });
});
