import { z } from 'zod';
import type {
  ReviewerProfile as ContractReviewerProfile,
  OutOfOffice,
  Weekday,
} from '../../sdk/src/types';
import { isEmail, normalizeReviewer } from './policy';

/**
 * Reviewer availability: a reviewer's time zone, weekly working hours and out-of-office, and
 * the one question the workflow asks of them, "when may this person next be reminded?"
 * (`nextWorkingMoment`). Working hours are wall-clock ranges in the reviewer's zone: an instant
 * is within them when the zone's clock at that instant (weekday, hour, minute) falls in a range
 * of that weekday. That one rule settles daylight-saving changes: a range that starts at a local
 * time that does not exist (02:30 on a spring-forward night) opens when the clocks jump past it,
 * and a local time that happens twice (fall back) is working time both times. A range may run
 * past midnight (`22:00-06:00` on Monday is Monday 22:00 to Tuesday 06:00). No working hours,
 * or a week without any range, means always available. Time zones are IANA names checked with
 * `Intl`; nothing here reads a clock.
 */
export const WEEKDAYS = [
  'mon',
  'tue',
  'wed',
  'thu',
  'fri',
  'sat',
  'sun',
] as const satisfies readonly Weekday[];

export type { OutOfOffice, Weekday };

export type WorkingHours = NonNullable<ContractReviewerProfile['working_hours']>;

/** A stored profile: the contract's, always with who set it and when. */
export interface ReviewerProfile
  extends Omit<ContractReviewerProfile, 'updated_at' | 'updated_by'> {
  updated_at: string;
  updated_by: string;
}

const MINUTE = 60_000;
const DAY = 86_400_000;
const WEEK = 7 * DAY;
const RANGE = /^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$/;

/** `"09:00-17:30"` as minutes since midnight; an end before the start runs into the next day. */
export function parseRange(text: string): { start: number; end: number } | null {
  const match = RANGE.exec(text);
  if (!match) return null;
  const start = Number(match[1]) * 60 + Number(match[2]);
  const end = Number(match[3]) * 60 + Number(match[4]);
  if (end > 24 * 60 || start === end) return null;
  return { start, end };
}

/**
 * Whether `Intl` knows the zone, in its usual spelling (`europe/berlin` → `Europe/Berlin`). A
 * name `Intl` maps to another (`Asia/Kathmandu` to CLDR's `Asia/Katmandu`) is kept as given.
 */
export function canonicalTimeZone(name: string): string | null {
  if (name.length === 0 || name.length > 64) return null;
  try {
    const resolved = new Intl.DateTimeFormat('en-US', { timeZone: name }).resolvedOptions()
      .timeZone;
    return resolved.toLowerCase() === name.toLowerCase() ? resolved : name;
  } catch {
    return null;
  }
}

const rangeSchema = z.string().refine((text) => parseRange(text) !== null, {
  message: 'must be HH:MM-HH:MM (24-hour clock; an end before the start runs past midnight)',
});

const emailSchema = z
  .string()
  .max(254)
  .transform(normalizeReviewer)
  .refine(isEmail, 'must be an email address');

const instantSchema = z
  .string()
  .max(40)
  .refine((text) => !Number.isNaN(Date.parse(text)) && /[zZ]|[+-]\d\d:?\d\d$/.test(text), {
    message: 'must be an RFC 3339 time with a zone (2026-12-24T00:00:00Z)',
  })
  .transform((text) => new Date(text).toISOString());

export const profileInputSchema = z
  .object({
    time_zone: z
      .string()
      .max(64)
      .transform((name, ctx) => {
        const canonical = canonicalTimeZone(name);
        if (!canonical) {
          ctx.addIssue({ code: 'custom', message: 'must be an IANA time zone (Europe/Berlin)' });
          return z.NEVER;
        }
        return canonical;
      })
      .optional(),
    working_hours: z
      .object(
        Object.fromEntries(WEEKDAYS.map((day) => [day, z.array(rangeSchema).max(8).optional()])),
      )
      .strict()
      .nullable()
      .optional(),
    out_of_office: z
      .object({ from: instantSchema, until: instantSchema, delegate: emailSchema })
      .strict()
      .refine((ooo) => Date.parse(ooo.from) < Date.parse(ooo.until), {
        message: 'until must be after from',
        path: ['until'],
      })
      .nullable()
      .optional(),
  })
  .strict();

export type ProfileInput = z.infer<typeof profileInputSchema>;

/**
 * The profile after a PUT: the fields given replace the stored ones, those left out stay
 * (a reviewer may set a holiday without restating their hours). A delegate cannot be oneself.
 */
export function mergeProfile(
  email: string,
  stored: ReviewerProfile | null,
  input: ProfileInput,
  by: string,
  at: string,
): ReviewerProfile | { field: string; message: string } {
  const outOfOffice =
    input.out_of_office === undefined ? (stored?.out_of_office ?? null) : input.out_of_office;
  if (outOfOffice && outOfOffice.delegate === email) {
    return { field: 'out_of_office.delegate', message: 'cannot be the reviewer themselves' };
  }
  const hours =
    input.working_hours === undefined
      ? (stored?.working_hours ?? null)
      : (input.working_hours as WorkingHours | null);
  return {
    email,
    time_zone: input.time_zone ?? stored?.time_zone ?? 'UTC',
    working_hours: hours,
    out_of_office: outOfOffice,
    updated_at: at,
    updated_by: by,
  };
}

/** Whether the reviewer is away at `at` (ms since the epoch). */
export function isOutOfOffice(profile: ReviewerProfile | null | undefined, at: number): boolean {
  const ooo = profile?.out_of_office;
  return !!ooo && Date.parse(ooo.from) <= at && at < Date.parse(ooo.until);
}

/** The weekly working time as sorted, merged [start, end) offsets in ms from Monday 00:00. */
function weeklyIntervals(hours: WorkingHours | null): [number, number][] {
  if (!hours) return [];
  const raw: [number, number][] = [];
  WEEKDAYS.forEach((day, index) => {
    for (const text of hours[day] ?? []) {
      const range = parseRange(text);
      if (!range) continue;
      const dayStart = index * 24 * 60;
      const end = range.end > range.start ? range.end : range.end + 24 * 60;
      const from = (dayStart + range.start) * MINUTE;
      const to = (dayStart + end) * MINUTE;
      // Sunday night into Monday wraps to the week's start.
      if (to <= WEEK) raw.push([from, to]);
      else raw.push([from, WEEK], [0, to - WEEK]);
    }
  });
  raw.sort((a, b) => a[0] - b[0]);
  const merged: [number, number][] = [];
  for (const [from, to] of raw) {
    const last = merged.at(-1);
    if (last && from <= last[1]) last[1] = Math.max(last[1], to);
    else merged.push([from, to]);
  }
  return merged;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** The zone's UTC offset at `at`, in ms (Asia/Kathmandu: +5:45 h). */
export function zoneOffset(timeZone: string, at: number): number {
  let format = formatters.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
      era: 'short',
    });
    formatters.set(timeZone, format);
  }
  const parts: Record<string, string> = {};
  for (const part of format.formatToParts(new Date(at))) parts[part.type] = part.value;
  const year = parts.era === 'BC' ? 1 - Number(parts.year) : Number(parts.year);
  const wall = Date.UTC(
    year,
    Number(parts.month) - 1,
    Number(parts.day),
    Number(parts.hour),
    Number(parts.minute),
    Number(parts.second),
  );
  const whole = at - (((at % 1000) + 1000) % 1000);
  return wall - whole;
}

/** The first instant after `from` (and at most `limit`) where the zone's offset differs from `from`'s. */
function nextOffsetChange(timeZone: string, from: number, limit: number): number | null {
  const offset = zoneOffset(timeZone, from);
  const STEP = 6 * 3600_000;
  for (let probe = from; probe < limit; probe += STEP) {
    const ahead = Math.min(probe + STEP, limit);
    if (zoneOffset(timeZone, ahead) === offset) continue;
    // Zones change offset on whole seconds: search to the second.
    let low = Math.floor(probe / 1000);
    let high = Math.ceil(ahead / 1000);
    while (high - low > 1) {
      const mid = Math.floor((low + high) / 2);
      if (zoneOffset(timeZone, mid * 1000) === offset) low = mid;
      else high = mid;
    }
    return Math.max(high * 1000, from + 1);
  }
  return null;
}

/** The first wall time ≥ `wall` inside the weekly intervals (wall times are ms "as if UTC"). */
function nextWorkingWall(intervals: [number, number][], wall: number): number {
  // 1970-01-01 was a Thursday: Monday 00:00 of the week holding `wall`.
  const weekStart = wall - ((((wall + 3 * DAY) % WEEK) + WEEK) % WEEK);
  const position = wall - weekStart;
  for (const [from, to] of intervals) {
    if (position < to) return weekStart + Math.max(from, position);
  }
  return weekStart + WEEK + (intervals[0]?.[0] ?? 0);
}

/** Whether `at` falls within the reviewer's working hours (always, without any). */
export function isWorkingAt(
  profile: Pick<ReviewerProfile, 'time_zone' | 'working_hours'>,
  at: number,
): boolean {
  return nextWorkingMoment(profile, at) === at;
}

/**
 * The earliest instant at or after `at` that is within the reviewer's working hours: `at`
 * itself when they work then, or have no working hours at all. Walks the zone's clock one
 * stretch of constant offset at a time: within a stretch, wall time runs with real time, so the
 * answer is the first working wall time of the stretch; a daylight-saving change starts a new
 * stretch (a spring-forward jump lands inside a range that began in the skipped hour; a
 * fall-back replays wall times, which may enter a range again).
 */
export function nextWorkingMoment(
  profile: Pick<ReviewerProfile, 'time_zone' | 'working_hours'>,
  at: number,
): number {
  const intervals = weeklyIntervals(profile.working_hours);
  if (intervals.length === 0) return at;
  // A non-empty week has working time within 7 days of wall time; a stretch boundary can only
  // move that later by the offset change (hours), so 9 days bound the search.
  const limit = at + 9 * DAY;
  let from = at;
  while (from < limit) {
    const offset = zoneOffset(profile.time_zone, from);
    const changeAt = nextOffsetChange(profile.time_zone, from, limit) ?? limit;
    const candidate = nextWorkingWall(intervals, from + offset) - offset;
    if (candidate < changeAt) return candidate;
    from = changeAt;
  }
  return limit;
}
