import { runInNewContext } from 'node:vm';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { escapeHtml } from '../../lambdas/domain/messages';
import {
  cut,
  describePlan,
  fitPayload,
  formatFullTime,
  formatRelative,
  formatTime,
  formatWhen,
  humanizeKey,
  isTimeZone,
  LOCAL_TIME_SCRIPT,
  payloadLeaves,
  planSentence,
  showsRawKey,
} from '../../lambdas/domain/readable';
import { payloadTableHtml } from '../../lambdas/domain/readable-html';
import { pendingIntent, T0 } from './fixtures';

const at = (iso: string) => new Date(iso);
const minutes = (n: number) => new Date(T0.getTime() + n * 60_000);

describe('times in the reader’s zone', () => {
  const now = at('2026-12-02T08:00:00.000Z');

  it('shows the time alone today, the weekday and date later this year, the year beyond', () => {
    expect(formatTime('2026-12-02T10:30:00.000Z', { now })).toBe('10:30 UTC');
    expect(formatTime('2026-12-03T10:30:00.000Z', { now })).toBe('Thu 3 Dec, 10:30 UTC');
    expect(formatTime('2027-01-04T00:05:00.000Z', { now })).toBe('4 Jan 2027, 00:05 UTC');
  });

  it('names the zone: abbreviations where they exist, else the offset; summer time too', () => {
    const berlin = { now, timeZone: 'Europe/Berlin' };
    expect(formatTime('2026-12-02T10:30:00.000Z', berlin)).toBe('11:30 CET');
    expect(formatTime('2026-12-02T10:30:00.000Z', { now, timeZone: 'America/New_York' })).toBe(
      '05:30 EST',
    );
    expect(formatTime('2026-12-02T10:30:00.000Z', { now, timeZone: 'Asia/Kolkata' })).toBe(
      '16:00 GMT+5:30',
    );
    const july = at('2026-07-01T08:00:00.000Z');
    expect(formatTime('2026-07-01T10:30:00.000Z', { now: july, timeZone: 'Europe/Berlin' })).toBe(
      '12:30 CEST',
    );
  });

  it("decides 'today' in the reader's zone, not in UTC", () => {
    // 23:30 UTC on the 2nd is already the 3rd in Berlin, where `now` is still the 2nd.
    expect(formatTime('2026-12-02T23:30:00.000Z', { now, timeZone: 'Europe/Berlin' })).toBe(
      'Thu 3 Dec, 00:30 CET',
    );
    expect(formatTime('2026-12-02T23:30:00.000Z', { now })).toBe('23:30 UTC');
  });

  it('reads an unknown zone as UTC, and says UTC', () => {
    expect(isTimeZone('Mars/Olympus_Mons')).toBe(false);
    expect(isTimeZone('Europe/Berlin')).toBe(true);
    expect(formatTime('2026-12-02T10:30:00.000Z', { now, timeZone: 'Mars/Olympus_Mons' })).toBe(
      '10:30 UTC',
    );
    expect(formatFullTime('2026-12-02T10:30:00.000Z')).toBe('2 Dec 2026, 10:30 UTC');
  });

  it('says how far a moment is, rounded down so time left is never overstated', () => {
    expect(formatRelative(minutes(4 * 60 - 0.5), T0)).toBe('in 3 h 59 min');
    expect(formatRelative(minutes(-5.9), T0)).toBe('5 min ago');
    expect(formatRelative(minutes(2 * 60), T0)).toBe('in 2 h');
    expect(formatRelative(minutes(0.75), T0)).toBe('in 45 s');
    expect(formatRelative(minutes(52 * 60 + 10), T0)).toBe('in 2 d 4 h');
    expect(formatRelative(minutes(3 * 24 * 60), T0)).toBe('in 3 d');
    expect(formatRelative(T0, T0)).toBe('now');
    expect(formatWhen(minutes(90), { now: T0 })).toBe('10:30 UTC (in 1 h 30 min)');
  });

  it("the page's script writes the same times as the server, in the browser's zone", () => {
    const moments = [
      '2026-12-02T10:30:00.000Z',
      '2026-12-02T23:30:00.000Z',
      '2026-12-05T07:00:00.000Z',
      '2027-02-01T12:00:00.000Z',
    ];
    for (const zone of ['UTC', 'Europe/Berlin', 'America/Los_Angeles', 'Asia/Tokyo']) {
      const elements = moments.map((iso) => ({
        textContent: 'server text',
        title: '',
        getAttribute: (name: string) => (name === 'datetime' ? iso : null),
      }));
      const note = { textContent: 'Times are in UTC.' };
      const RealFormat = Intl.DateTimeFormat;
      runInNewContext(LOCAL_TIME_SCRIPT, {
        // The browser's zone is the one Intl reports when asked without options.
        Intl: {
          DateTimeFormat: function DateTimeFormat(
            locale?: string,
            options?: Intl.DateTimeFormatOptions,
          ) {
            return new RealFormat(locale, options ?? { timeZone: zone });
          },
        },
        Date: { now: () => now.getTime(), parse: Date.parse },
        document: {
          querySelectorAll: (selector: string) => (selector === 'time[data-local]' ? elements : []),
          // The note the server wrote in UTC by default; one in the profile's zone has no data-local.
          querySelector: (selector: string) =>
            selector === '#zone-note[data-local]' ? note : null,
        },
      });
      expect(elements.map((element) => element.textContent)).toEqual(
        moments.map((iso) => formatTime(iso, { now, timeZone: zone })),
      );
      expect(elements.every((element) => element.title === 'server text')).toBe(true);
      expect(note.textContent).toBe(`Times are in your time zone (${zone}).`);
    }
  });
});

describe('the payload in rows', () => {
  it('puts keys in words, and tells when the words hide the raw key', () => {
    expect(humanizeKey('destination_account')).toBe('Destination account');
    expect(humanizeKey('invoiceId')).toBe('Invoice ID');
    expect(humanizeKey('HTTPStatusCode')).toBe('HTTP status code');
    expect(humanizeKey('iban')).toBe('IBAN');
    expect(humanizeKey('amount')).toBe('Amount');
    expect(humanizeKey('')).toBe('(empty key)');
    expect(humanizeKey('__')).toBe('__');
    expect(showsRawKey('amount')).toBe(false);
    expect(showsRawKey('amount_cents')).toBe(true);
    expect(showsRawKey('invoiceId')).toBe(true);
  });

  it('lists every leaf depth first with its JSON Pointer and its path in words', () => {
    const leaves = payloadLeaves({
      vendor: 'ACME',
      lines: [{ sku: 'A1', qty: 2 }, []],
      'a/b~c': { ok: true, none: null, empty: {} },
    });
    expect(leaves.map((leaf) => [leaf.pointer, leaf.label, leaf.value, leaf.kind])).toEqual([
      ['/vendor', 'Vendor', 'ACME', 'string'],
      ['/lines/0/sku', 'Lines › #1 › SKU', 'A1', 'string'],
      ['/lines/0/qty', 'Lines › #1 › Qty', '2', 'number'],
      ['/lines/1', 'Lines › #2', '[]', 'empty'],
      ['/a~1b~0c/ok', 'A/b~c › Ok', 'true', 'boolean'],
      ['/a~1b~0c/none', 'A/b~c › None', 'null', 'null'],
      ['/a~1b~0c/empty', 'A/b~c › Empty', '{}', 'empty'],
    ]);
  });

  it('fits a budget and says what it left out; never cuts inside a surrogate pair', () => {
    const fitted = fitPayload(
      { a: 'x'.repeat(50), b: 'short', c: 1, d: 2 },
      { rows: 3, labelChars: 40, valueChars: 10 },
    );
    expect(fitted.rows.map((row) => row.value)).toEqual([`${'x'.repeat(9)}…`, 'short', '1']);
    expect(fitted.hidden).toBe(1);
    expect(fitted.notShown).toBe(
      '1 more value not shown, 1 value shortened: open the review page to see the whole request before you decide.',
    );
    expect(fitPayload({ a: 1 }, { rows: 3, labelChars: 40, valueChars: 10 }).notShown).toBeNull();
    expect(cut('ab😀cd', 4)).toBe('ab…');
  });
});

/** Every `<` of the output opens or closes one of the table's own elements. */
const OWN_TAG =
  /^<\/?(table|tr|th|td|code|span|details|summary|div|p|br|time)( (class|title|scope|datetime)="[^"<>]*"| open| data-local)*>$/;
function foreignMarkup(html: string): string[] {
  const found: string[] = [];
  for (let i = html.indexOf('<'); i >= 0; i = html.indexOf('<', i + 1)) {
    const tag = html.slice(i, html.indexOf('>', i) + 1);
    if (!OWN_TAG.test(tag)) found.push(html.slice(i, i + 40));
  }
  return found;
}

const hostileString = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.constantFrom(
    '<script>alert(1)</script>',
    '"><img src=x onerror=alert(1)>',
    'IBAN \u202EDE89 3704\u202C',
    '\u2066x\u2069 & &amp; <',
    'line one\nline two\r\nline three',
    'x'.repeat(1000),
    '2026-11-25T12:00:00Z',
  ),
);
const jsonValue = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    hostileString,
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(hostileString, tie('value'), { maxKeys: 4 }),
  ),
})).value;
const payloadArb = fc.dictionary(hostileString, jsonValue, { maxKeys: 8 });

describe('the payload table (property)', () => {
  it('shows every leaf value and key, escaped, and no markup of its own', () => {
    fc.assert(
      fc.property(payloadArb, (payload) => {
        const html = payloadTableHtml(payload, { now: T0 });
        for (const leaf of payloadLeaves(payload)) {
          expect(html).toContain(escapeHtml(leaf.value));
          for (const key of leaf.path) {
            if (typeof key === 'string' && showsRawKey(key)) {
              expect(html).toContain(`<code>${escapeHtml(key)}</code>`);
            }
          }
        }
        expect(foreignMarkup(html)).toEqual([]);
        expect(html).not.toMatch(/[\u202A-\u202E\u2066-\u2069]/);
      }),
      { numRuns: 300 },
    );
  });
});

describe('hostile payloads on the page', () => {
  it('a thousand keys, a very long string, deep nesting: all there, escaped, folded', () => {
    const thousand = Object.fromEntries(
      Array.from({ length: 1000 }, (_, i) => [`key_${i}`, `<b>value ${i}</b>`]),
    );
    let deep: unknown = 'the bottom <script>';
    for (let i = 0; i < 60; i += 1) deep = { [`level${i}`]: deep };
    const long = `${'A long story. '.repeat(8000)}THE END`;
    const html = payloadTableHtml({ ...thousand, deep, long });
    for (let i = 0; i < 1000; i += 1) {
      expect(html).toContain(`&lt;b&gt;value ${i}&lt;/b&gt;`);
    }
    expect(html).toContain('the bottom &lt;script&gt;');
    // The payload's own field folds; inside it, small values are open (one click, not sixty).
    expect(html.match(/<details>/g)?.length).toBe(1);
    expect(html.match(/<details open>/g)?.length).toBe(59);
    expect(html).toContain('THE END');
    expect(html).toContain('(show all 112,007 characters)');
    expect(foreignMarkup(html)).toEqual([]);
  });
});

describe('folding', () => {
  it('folds the payload’s own objects, and inside them only the large ones', () => {
    const html = payloadTableHtml({
      outer: { big: Array.from({ length: 13 }, (_, i) => i), small: [1, 2] },
      flat: 'text',
    });
    expect(html.match(/<details>/g)?.length).toBe(2);
    expect(html).toContain('<details><summary>2 fields: Big, Small</summary>');
    expect(html).toContain('<details><summary>13 items</summary>');
    expect(html).toContain('<details open><summary>2 items</summary>');
  });
});

describe('the plan in words', () => {
  const reader = { now: T0 };

  it('says who is asked if nobody decides, and when the request times out, soonest first', () => {
    const intent = pendingIntent({
      reviewers: ['ap@company.com'],
      policy: {
        escalate: [
          { after: '90m', to: ['controller@company.com'] },
          { after: '4h', to: ['cfo@company.com', 'team:finance'] },
        ],
        timeout: { after: '8h', action: 'reject' },
      },
    });
    const plan = describePlan({ ...intent, step_started_at: T0.toISOString(), stage_index: 0 }, T0);
    expect(plan.map((entry) => planSentence(entry, reader))).toEqual([
      'If nobody decides by 10:30 UTC (in 1 h 30 min), controller@company.com is asked too.',
      'If nobody decides by 13:00 UTC (in 4 h), cfo@company.com and team:finance are asked too.',
      'At 17:00 UTC (in 8 h) this request times out and is rejected.',
    ]);
    // Two hours on: the first escalation is history, in the reader's zone.
    const later = describePlan(
      { ...intent, step_started_at: T0.toISOString(), stage_index: 1 },
      minutes(120),
    );
    expect(planSentence(later[0] ?? fail(), { now: minutes(120), timeZone: 'Europe/Berlin' })).toBe(
      'Nobody had decided by 11:30 CET (30 min ago), so controller@company.com was asked too.',
    );
  });

  it('says what a timeout that approves does, what a quorum and a chain still need', () => {
    const base = pendingIntent({
      policy: {
        timeout: { after: '2h', action: 'approve' },
        steps: [
          { reviewers: ['a@x.com', 'b@x.com'], required_approvals: 2 },
          { reviewers: ['cfo@x.com'] },
        ],
      },
    });
    const intent = {
      ...base,
      approvals: [
        { by: 'a@x.com', at: T0.toISOString(), comment: null, channel: 'email' as const, step: 0 },
      ],
    };
    expect(describePlan(intent, T0).map((entry) => planSentence(entry, reader))).toEqual([
      'It needs 2 approvals (1 so far); one rejection rejects it.',
      'This is step 1 of 2. Once it is approved, cfo@x.com is asked.',
      'At 11:00 UTC (in 2 h) this request times out and is approved automatically.',
    ]);
  });

  it("reads a later step's start from the approval that began it when it has only the view", () => {
    const base = pendingIntent({
      policy: {
        escalate: [{ after: '1h', to: ['boss@x.com'] }],
        steps: [{ reviewers: ['a@x.com'] }, { reviewers: ['b@x.com'] }],
      },
    });
    const view = {
      ...base,
      step: 1,
      approvals: [
        {
          by: 'a@x.com',
          at: minutes(30).toISOString(),
          comment: null,
          channel: 'slack' as const,
          step: 0,
        },
      ],
    };
    const { step_started_at: _s, stage_index: _i, ...onlyView } = view;
    expect(
      planSentence(describePlan(onlyView, minutes(40))[0] ?? fail(), { now: minutes(40) }),
    ).toBe('If nobody decides by 10:30 UTC (in 50 min), boss@x.com is asked too.');
  });

  it('has nothing to say once the request is final', () => {
    expect(describePlan({ ...pendingIntent(), status: 'approved' }, T0)).toEqual([]);
  });
});

function fail(): never {
  throw new Error('missing plan entry');
}
