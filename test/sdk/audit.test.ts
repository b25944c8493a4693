import { createHash } from 'node:crypto';
import referenceCanonicalize from 'canonicalize';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sealEvents } from '../../lambdas/domain/audit';
import {
  type AuditEvent,
  canonicalize,
  GENESIS_HASH,
  hashAuditEvent,
  type TrailHead,
  verifyTrail,
} from '../../sdk/src/index.js';

/** A double from its IEEE 754 bit pattern, as RFC 8785 Appendix B lists them. */
function fromBits(hex: string): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setBigUint64(0, BigInt(`0x${hex}`));
  return view.getFloat64(0);
}

describe('canonicalize: RFC 8785 (JCS)', () => {
  it('serializes numbers as Appendix B of RFC 8785 lists them', () => {
    const vectors: [string, string][] = [
      ['0000000000000000', '0'],
      ['8000000000000000', '0'], // minus zero
      ['0000000000000001', '5e-324'],
      ['8000000000000001', '-5e-324'],
      ['7fefffffffffffff', '1.7976931348623157e+308'],
      ['ffefffffffffffff', '-1.7976931348623157e+308'],
      ['4340000000000000', '9007199254740992'],
      ['c340000000000000', '-9007199254740992'],
      ['4430000000000000', '295147905179352830000'],
      ['44b52d02c7e14af5', '9.999999999999997e+22'],
      ['44b52d02c7e14af6', '1e+23'],
      ['44b52d02c7e14af7', '1.0000000000000001e+23'],
      ['444b1ae4d6e2ef4e', '999999999999999700000'],
      ['444b1ae4d6e2ef4f', '999999999999999900000'],
      ['444b1ae4d6e2ef50', '1e+21'],
      ['3eb0c6f7a0b5ed8c', '9.999999999999997e-7'],
      ['3eb0c6f7a0b5ed8d', '0.000001'],
      ['41b3de4355555553', '333333333.3333332'],
      ['41b3de4355555554', '333333333.33333325'],
      ['41b3de4355555555', '333333333.3333333'],
      ['41b3de4355555556', '333333333.3333334'],
      ['41b3de4355555557', '333333333.33333343'],
      ['becbf647612f3696', '-0.0000033333333333333333'],
      ['43143ff3c1cb0959', '1424953923781206.2'],
    ];
    for (const [bits, expected] of vectors) {
      expect({ bits, json: canonicalize(fromBits(bits)) }).toEqual({ bits, json: expected });
    }
  });

  it('refuses NaN and Infinity (Appendix B), bigints and lone surrogates', () => {
    expect(() => canonicalize(fromBits('7fffffffffffffff'))).toThrow(/not a JSON number/);
    expect(() => canonicalize(fromBits('7ff0000000000000'))).toThrow(/not a JSON number/);
    expect(() => canonicalize({ n: 1n })).toThrow(/bigint/);
    expect(() => canonicalize('\ud800')).toThrow(/lone surrogate/);
    expect(() => canonicalize({ 'a\udc00': 1 })).toThrow(/lone surrogate/);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => canonicalize(cyclic)).toThrow(/cycle/);
  });

  it('produces the output of the example in section 3.2.2 (literals, numbers, string escapes)', () => {
    const input = JSON.parse(
      '{"numbers":[333333333.33333329,1E30,4.50,2e-3,0.000000000000000000000000001],' +
        '"string":"\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",' +
        '"literals":[null,true,false]}',
    );
    expect(canonicalize(input)).toBe(
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],' +
        '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
    );
  });

  it('sorts keys by UTF-16 code units, as the example in section 3.2.3', () => {
    const input = {
      '\u20ac': 'Euro Sign',
      '\r': 'Carriage Return',
      '\ufb33': 'Hebrew Letter Dalet With Dagesh',
      '1': 'One',
      '\ud83d\ude00': 'Emoji: Grinning Face',
      '\u0080': 'Control',
      '\u00f6': 'Latin Small Letter O With Diaeresis',
    };
    // U+1F600 (surrogates D83D DE00) sorts before U+FB33: code units, not code points.
    expect(canonicalize(input)).toBe(
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control",' +
        '"\u00f6":"Latin Small Letter O With Diaeresis","\u20ac":"Euro Sign",' +
        '"\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    );
  });

  it('sorts nested objects, keeps array order, and leaves out undefined members as JSON does', () => {
    expect(
      canonicalize({
        z: [3, { b: 2, a: 1 }, undefined],
        a: { y: undefined, x: 'é' },
        at: new Date(0),
      }),
    ).toBe('{"a":{"x":"é"},"at":"1970-01-01T00:00:00.000Z","z":[3,{"a":1,"b":2},null]}');
  });

  it('agrees with the reference implementation on any JSON value (the server used it before)', () => {
    fc.assert(
      fc.property(fc.jsonValue({ stringUnit: 'binary' }), (value) => {
        expect(canonicalize(value)).toBe(referenceCanonicalize(value));
      }),
      { numRuns: 200 },
    );
  });

  it('is a fixed point: parsing canonical JSON and canonicalizing again changes nothing', () => {
    fc.assert(
      fc.property(fc.jsonValue({ stringUnit: 'grapheme' }), (value) => {
        const once = canonicalize(value);
        expect(canonicalize(JSON.parse(once))).toBe(once);
      }),
      { numRuns: 300 },
    );
  });
});

const at = '2026-11-24T09:00:00.000Z';

function sealedTrail(): { events: AuditEvent[]; head: TrailHead } {
  const sealed = sealEvents({ event_count: 0, last_event_hash: GENESIS_HASH }, [
    { type: 'created', at, actor: 'agent://acme/bot', channel: 'api', data: { n: 1.5 } },
    { type: 'notified', at, actor: 'system', channel: 'email', data: { to: 'cfo@company.com' } },
    { type: 'viewed', at, actor: 'cfo@company.com', channel: 'email', data: {} },
    {
      type: 'approved',
      at,
      actor: 'cfo@company.com',
      channel: 'cli',
      data: { comment: 'Zahlen stimmen, «ok» 👍' },
    },
  ]);
  return {
    events: sealed.events,
    head: { eventCount: sealed.event_count, lastEventHash: sealed.last_event_hash },
  };
}

describe('hashAuditEvent', () => {
  it('is SHA-256 of prev_hash + canonical event without hash, so anyone can recompute it', () => {
    const { events } = sealedTrail();
    const [first] = events;
    if (!first) throw new Error('no event');
    const { hash, ...unsealed } = first;
    const canonical = `{"actor":"agent://acme/bot","at":"${at}","channel":"api","data":{"n":1.5},"prev_hash":"${GENESIS_HASH}","seq":1,"type":"created"}`;
    expect(canonicalize(unsealed)).toBe(canonical);
    expect(hash).toBe(
      createHash('sha256')
        .update(GENESIS_HASH + canonical, 'utf8')
        .digest('hex'),
    );
    expect(hashAuditEvent(first)).toBe(hash);
  });
});

describe('verifyTrail', () => {
  it('accepts the trail the server sealed, checked against the intent head', () => {
    const { events, head } = sealedTrail();
    expect(verifyTrail(events, head)).toEqual({
      ok: true,
      eventCount: 4,
      lastEventHash: head.lastEventHash,
      headChecked: true,
    });
    expect(verifyTrail([], { eventCount: 0, lastEventHash: GENESIS_HASH })).toMatchObject({
      ok: true,
      eventCount: 0,
    });
  });

  it('names the altered event when any field of it was edited', () => {
    const { events, head } = sealedTrail();
    const edits: ((e: AuditEvent) => AuditEvent)[] = [
      (e) => ({ ...e, actor: 'mallory@evil.example' }),
      (e) => ({ ...e, at: '2026-11-24T08:59:59.000Z' }),
      (e) => ({ ...e, data: { ...e.data, extra: true } }),
      (e) => ({ ...e, type: 'approved' }),
    ];
    for (const edit of edits) {
      const tampered = events.map((e) => (e.seq === 3 ? edit(e) : e));
      const result = verifyTrail(tampered, head);
      expect(result).toMatchObject({
        ok: false,
        problem: 'hash',
        seq: 3,
        index: 2,
        intactCount: 2,
      });
      expect(result.ok ? '' : result.message).toMatch(/^event 3 was altered/);
    }
  });

  it('detects an edit whose hash was recomputed: the next event no longer chains onto it', () => {
    const { events, head } = sealedTrail();
    const tampered = events.map((e) => {
      if (e.seq !== 2) return e;
      const forged = { ...e, data: { to: 'mallory@evil.example' } };
      return { ...forged, hash: hashAuditEvent(forged) };
    });
    expect(verifyTrail(tampered, head)).toMatchObject({ ok: false, problem: 'prev_hash', seq: 3 });
  });

  it('detects a whole chain forged after an edit through the intent head', () => {
    const { events, head } = sealedTrail();
    let prev = GENESIS_HASH;
    const forged = events.map((e) => {
      const unsealed = { ...e, prev_hash: prev, data: e.seq === 4 ? { comment: 'nope' } : e.data };
      const hash = hashAuditEvent(unsealed);
      prev = hash;
      return { ...unsealed, hash };
    });
    expect(verifyTrail(forged)).toMatchObject({ ok: true });
    expect(verifyTrail(forged, head)).toMatchObject({
      ok: false,
      problem: 'last_event_hash',
      index: null,
      intactCount: 4,
    });
  });

  it('detects a removed event, a reordering and a duplicate, saying where', () => {
    const { events, head } = sealedTrail();
    const [e1, e2, e3, e4] = events as [AuditEvent, AuditEvent, AuditEvent, AuditEvent];

    const removed = verifyTrail([e1, e3, e4], head);
    expect(removed).toMatchObject({ ok: false, problem: 'sequence', index: 1, seq: 3 });
    expect(removed.ok ? '' : removed.message).toContain('event 2 is missing');

    expect(verifyTrail([e2, e3, e4], head)).toMatchObject({ ok: false, index: 0, seq: 2 });

    const swapped = verifyTrail([e1, e3, e2, e4], head);
    expect(swapped).toMatchObject({ ok: false, problem: 'sequence', index: 1, intactCount: 1 });

    expect(verifyTrail([e1, e2, e2, e3, e4], head)).toMatchObject({
      ok: false,
      problem: 'sequence',
      index: 2,
      seq: 2,
    });
  });

  it('detects truncation only with the head, and a trail longer than the head', () => {
    const { events, head } = sealedTrail();
    const truncated = events.slice(0, 2);
    expect(verifyTrail(truncated)).toMatchObject({ ok: true, headChecked: false });
    const result = verifyTrail(truncated, head);
    expect(result).toMatchObject({ ok: false, problem: 'event_count', intactCount: 2 });
    expect(result.ok ? '' : result.message).toContain('the last 2 are missing');
    expect(verifyTrail(events, { ...head, eventCount: 3 })).toMatchObject({
      ok: false,
      problem: 'event_count',
    });
  });

  it('reports entries that are not audit events instead of throwing', () => {
    const { events, head } = sealedTrail();
    expect(verifyTrail([null, ...events.slice(1)], head)).toMatchObject({
      ok: false,
      problem: 'malformed',
      index: 0,
    });
    const noHash = events.map((e) => (e.seq === 2 ? { ...e, hash: 'abc' } : e));
    expect(verifyTrail(noHash, head)).toMatchObject({ ok: false, problem: 'malformed', seq: 2 });
  });

  it('detects any single-event edit of any sealed trail (property)', () => {
    const draft = fc.record({
      type: fc.constantFrom('created', 'notified', 'viewed', 'approval', 'approved' as const),
      at: fc.constant(at),
      actor: fc.string(),
      channel: fc.constantFrom('api', 'email', 'slack', 'cli'),
      data: fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 2 })),
    });
    fc.assert(
      fc.property(
        fc.array(draft, { minLength: 1, maxLength: 6 }),
        fc.nat(),
        fc.string({ minLength: 1 }),
        (drafts, pick, mark) => {
          const sealed = sealEvents({ event_count: 0, last_event_hash: GENESIS_HASH }, drafts);
          const head = { eventCount: sealed.event_count, lastEventHash: sealed.last_event_hash };
          expect(verifyTrail(sealed.events, head).ok).toBe(true);
          const victim = pick % sealed.events.length;
          const tampered = sealed.events.map((e, i) =>
            i === victim ? { ...e, actor: `${e.actor}${mark}` } : e,
          );
          expect(verifyTrail(tampered, head)).toMatchObject({ ok: false, index: victim });
        },
      ),
      { numRuns: 200 },
    );
  });
});
