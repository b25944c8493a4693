import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  canonicalTimeZone,
  isOutOfOffice,
  mergeProfile,
  nextWorkingMoment,
  profileInputSchema,
  WEEKDAYS,
  type WorkingHours,
  zoneOffset,
} from '../../lambdas/domain/availability';

/**
 * The oracle: the rule itself, read off the zone's clock with `Intl` at one instant (weekday,
 * hour, minute), independently of the stretch walk `nextWorkingMoment` does.
 */
const clockFormats = new Map<string, Intl.DateTimeFormat>();
function working(zone: string, hours: WorkingHours, at: number): boolean {
  let format = clockFormats.get(zone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      weekday: 'short',
      hour: 'numeric',
      minute: 'numeric',
      hourCycle: 'h23',
    });
    clockFormats.set(zone, format);
  }
  const parts = Object.fromEntries(
    format.formatToParts(new Date(at)).map((part) => [part.type, part.value]),
  );
  const day = WEEKDAYS.indexOf(String(parts.weekday).toLowerCase() as (typeof WEEKDAYS)[number]);
  const minute = Number(parts.hour) * 60 + Number(parts.minute);
  const ranges = (d: number) =>
    (hours[WEEKDAYS[(d + 7) % 7] as (typeof WEEKDAYS)[number]] ?? []).map((text) => {
      const [from = '', to = ''] = text.split('-');
      const toMinutes = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3));
      return { start: toMinutes(from), end: toMinutes(to) };
    });
  const today = ranges(day).some((r) =>
    r.end > r.start ? r.start <= minute && minute < r.end : minute >= r.start,
  );
  const fromYesterday = ranges(day - 1).some((r) => r.end < r.start && minute < r.end);
  return today || fromYesterday;
}

const ZONES = [
  'UTC',
  'Europe/Berlin',
  'America/New_York',
  'America/Sao_Paulo',
  'Asia/Kathmandu', // +05:45
  'Asia/Kolkata', // +05:30
  'Australia/Lord_Howe', // +10:30, 30-minute DST
  'Pacific/Chatham', // +12:45 / +13:45
  'America/St_Johns', // -03:30 / -02:30
  'Pacific/Kiritimati', // +14
  'Pacific/Pago_Pago', // -11
] as const;

const hhmm = (minutes: number) =>
  `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;

/** Ranges on a 15-minute grid, overnight ones included (end before start). */
const range = fc
  .tuple(fc.integer({ min: 0, max: 95 }), fc.integer({ min: 1, max: 96 }))
  .filter(([a, b]) => a !== b % 96)
  .map(([a, b]) => `${hhmm(a * 15)}-${hhmm(b * 15)}`);

const week = fc.record(
  Object.fromEntries(WEEKDAYS.map((day) => [day, fc.array(range, { maxLength: 2 })])),
  { requiredKeys: [] },
) as fc.Arbitrary<WorkingHours>;

const instant = fc.integer({
  min: Date.UTC(2000, 0, 1),
  max: Date.UTC(2040, 0, 1),
});

const QUARTER = 15 * 60_000;

describe('nextWorkingMoment', () => {
  it('is the first working instant: working itself, and nothing working before it', () => {
    fc.assert(
      fc.property(fc.constantFrom(...ZONES), week, instant, (zone, hours, at) => {
        const profile = { time_zone: zone, working_hours: hours };
        const next = nextWorkingMoment(profile, at);
        const hasHours = WEEKDAYS.some((day) => (hours[day] ?? []).length > 0);
        if (!hasHours) return next === at;
        expect(next).toBeGreaterThanOrEqual(at);
        expect(working(zone, hours, next)).toBe(true);
        // Every range edge, offset and DST change lies on a 15-minute grid in UTC here, so
        // checking `at` and each grid point before `next` finds any earlier working time.
        if (next > at) {
          expect(working(zone, hours, at)).toBe(false);
          for (let probe = Math.ceil(at / QUARTER) * QUARTER; probe < next; probe += QUARTER) {
            expect(working(zone, hours, probe)).toBe(false);
          }
        }
        // Asking again at the answer gives the answer.
        expect(nextWorkingMoment(profile, next)).toBe(next);
        return true;
      }),
      { numRuns: 300 },
    );
  });

  it('treats no working hours, or a week of empty days, as always available', () => {
    fc.assert(
      fc.property(fc.constantFrom(...ZONES), instant, (zone, at) => {
        expect(nextWorkingMoment({ time_zone: zone, working_hours: null }, at)).toBe(at);
        const empty = Object.fromEntries(WEEKDAYS.map((day) => [day, []]));
        expect(nextWorkingMoment({ time_zone: zone, working_hours: empty }, at)).toBe(at);
      }),
    );
  });

  const weekdays = (ranges: string[]): WorkingHours =>
    Object.fromEntries(['mon', 'tue', 'wed', 'thu', 'fri'].map((day) => [day, ranges]));

  it('holds a Friday evening reminder in Berlin until Monday 09:00 local', () => {
    const profile = { time_zone: 'Europe/Berlin', working_hours: weekdays(['09:00-17:30']) };
    // Friday 2026-11-27 18:00 Berlin (UTC+1) is 17:00Z; Monday 09:00 Berlin is 08:00Z.
    expect(new Date(nextWorkingMoment(profile, Date.parse('2026-11-27T17:00:00Z')))).toEqual(
      new Date('2026-11-30T08:00:00Z'),
    );
    // Within hours: at once.
    const within = Date.parse('2026-11-27T12:34:56.789Z');
    expect(nextWorkingMoment(profile, within)).toBe(within);
  });

  it('opens a range that starts in a skipped hour when the clocks jump (spring forward)', () => {
    // Berlin, Sunday 2026-03-29: 02:00 CET becomes 03:00 CEST at 01:00Z; 02:30 never happens.
    const profile = { time_zone: 'Europe/Berlin', working_hours: { sun: ['02:30-04:00'] } };
    expect(new Date(nextWorkingMoment(profile, Date.parse('2026-03-28T23:00:00Z')))).toEqual(
      new Date('2026-03-29T01:00:00Z'),
    );
  });

  it('works a repeated hour both times (fall back)', () => {
    // New York, Sunday 2026-11-01: 01:00-02:00 happens at 05:00Z (EDT) and again at 06:00Z (EST).
    const profile = { time_zone: 'America/New_York', working_hours: { sun: ['01:15-01:45'] } };
    expect(new Date(nextWorkingMoment(profile, Date.parse('2026-11-01T04:00:00Z')))).toEqual(
      new Date('2026-11-01T05:15:00Z'),
    );
    // After the first 01:45 (05:45Z), the second 01:15 (06:15Z) is working time again.
    expect(new Date(nextWorkingMoment(profile, Date.parse('2026-11-01T05:50:00Z')))).toEqual(
      new Date('2026-11-01T06:15:00Z'),
    );
  });

  it('follows odd offsets and half-hour daylight saving', () => {
    // Kathmandu is UTC+05:45 all year: 09:00 local is 03:15Z.
    const kathmandu = { time_zone: 'Asia/Kathmandu', working_hours: weekdays(['09:00-17:00']) };
    expect(new Date(nextWorkingMoment(kathmandu, Date.parse('2026-12-01T00:00:00Z')))).toEqual(
      new Date('2026-12-01T03:15:00Z'),
    );
    // Lord Howe: +10:30 in winter, +11:00 in summer (from 2026-10-04 02:00 local).
    const lordHowe = { time_zone: 'Australia/Lord_Howe', working_hours: weekdays(['09:00-17:00']) };
    expect(zoneOffset('Australia/Lord_Howe', Date.parse('2026-07-01T00:00:00Z'))).toBe(
      10.5 * 3600_000,
    );
    // Wednesday 18:30 local in winter; Thursday 09:00 is 22:30Z the day before.
    expect(new Date(nextWorkingMoment(lordHowe, Date.parse('2026-07-01T08:00:00Z')))).toEqual(
      new Date('2026-07-01T22:30:00Z'),
    );
    // Tuesday 19:00 local in summer; Wednesday 09:00 is 22:00Z.
    expect(new Date(nextWorkingMoment(lordHowe, Date.parse('2026-12-01T08:00:00Z')))).toEqual(
      new Date('2026-12-01T22:00:00Z'),
    );
  });

  it('runs an overnight range into the next day', () => {
    const profile = { time_zone: 'UTC', working_hours: { sun: ['22:00-06:00'] } };
    // Monday 2026-11-30 05:00Z is inside Sunday's night shift; 06:00Z is past it.
    const monday5 = Date.parse('2026-11-30T05:00:00Z');
    expect(nextWorkingMoment(profile, monday5)).toBe(monday5);
    expect(new Date(nextWorkingMoment(profile, Date.parse('2026-11-30T06:00:00Z')))).toEqual(
      new Date('2026-12-06T22:00:00Z'),
    );
  });
});

describe('reviewer profiles', () => {
  it('accepts IANA zones in their canonical spelling and refuses anything else', () => {
    expect(canonicalTimeZone('europe/berlin')).toBe('Europe/Berlin');
    expect(canonicalTimeZone('Mars/Olympus')).toBeNull();
    expect(canonicalTimeZone('')).toBeNull();
    const refused = profileInputSchema.safeParse({ time_zone: 'CEST+2' });
    expect(refused.success).toBe(false);
  });

  it('refuses malformed hours, unknown days and an out-of-office that ends before it starts', () => {
    for (const body of [
      { working_hours: { mon: ['9-17'] } },
      { working_hours: { mon: ['09:00-09:00'] } },
      { working_hours: { mon: ['24:00-08:00'] } },
      { working_hours: { monday: ['09:00-17:00'] } },
      {
        out_of_office: {
          from: '2026-12-24T00:00:00Z',
          until: '2026-12-20T00:00:00Z',
          delegate: 'd@x.com',
        },
      },
      { out_of_office: { from: '2026-12-24', until: '2026-12-28T00:00:00Z', delegate: 'd@x.com' } },
      {
        out_of_office: {
          from: '2026-12-24T00:00:00Z',
          until: '2026-12-28T00:00:00Z',
          delegate: 'nobody',
        },
      },
    ]) {
      expect(profileInputSchema.safeParse(body).success, JSON.stringify(body)).toBe(false);
    }
  });

  it('keeps the fields a PUT leaves out, and refuses oneself as delegate', () => {
    const input = profileInputSchema.parse({
      time_zone: 'Asia/Kathmandu',
      working_hours: { mon: ['09:00-17:00'] },
    });
    const first = mergeProfile('a@x.com', null, input, 'a@x.com', '2026-12-01T00:00:00.000Z');
    if ('field' in first) throw new Error('refused');
    const away = profileInputSchema.parse({
      out_of_office: {
        from: '2026-12-24T00:00:00+01:00',
        until: '2027-01-02T00:00:00Z',
        delegate: 'D@X.com',
      },
    });
    const second = mergeProfile('a@x.com', first, away, 'admin', '2026-12-02T00:00:00.000Z');
    if ('field' in second) throw new Error('refused');
    expect(second.time_zone).toBe('Asia/Kathmandu');
    expect(second.working_hours).toEqual({ mon: ['09:00-17:00'] });
    expect(second.out_of_office).toEqual({
      from: '2026-12-23T23:00:00.000Z',
      until: '2027-01-02T00:00:00.000Z',
      delegate: 'd@x.com',
    });
    expect(isOutOfOffice(second, Date.parse('2026-12-23T23:00:00Z'))).toBe(true);
    expect(isOutOfOffice(second, Date.parse('2027-01-02T00:00:00Z'))).toBe(false);
    const self = profileInputSchema.parse({
      out_of_office: {
        from: '2026-12-24T00:00:00Z',
        until: '2027-01-02T00:00:00Z',
        delegate: 'a@x.com',
      },
    });
    expect(mergeProfile('a@x.com', first, self, 'a@x.com', '2026-12-02T00:00:00.000Z')).toEqual({
      field: 'out_of_office.delegate',
      message: 'cannot be the reviewer themselves',
    });
  });
});
