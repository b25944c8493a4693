/**
 * RFC 3339 timestamps as Step Functions accepts them in Wait states and Choice rules: an uppercase
 * `T` between date and time and an uppercase `Z` (or a numeric offset), e.g. 2016-03-14T01:59:00Z.
 * The date must exist (2024-02-30 is not a timestamp, though `Date.parse` would roll it over to
 * March), and comparisons keep every fractional digit, not only the milliseconds a JS Date holds.
 */
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})$/;

/** A parsed timestamp: whole milliseconds since the epoch plus the fractional digits beyond them. */
export interface PreciseTimestamp {
  millis: number;
  /** Digits after the third fractional digit, trailing zeros removed ("" when there are none). */
  subMillis: string;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

export function parsePreciseTimestamp(text: string): PreciseTimestamp | undefined {
  const match = RFC3339.exec(text);
  if (!match) return undefined;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as number[];
  if (
    year === undefined ||
    month === undefined ||
    day === undefined ||
    hour === undefined ||
    minute === undefined ||
    second === undefined ||
    month < 1 ||
    month > 12 ||
    day < 1 ||
    day > daysInMonth(year, month) ||
    hour > 23 ||
    minute > 59 ||
    second > 59
  ) {
    return undefined;
  }
  const fraction = match[7] ?? '';
  const zone = match[8] ?? 'Z';
  const wholeSeconds = Date.parse(`${text.slice(0, 19)}${zone}`);
  if (Number.isNaN(wholeSeconds)) return undefined;
  return {
    millis: wholeSeconds + Number(fraction.slice(0, 3).padEnd(3, '0')),
    subMillis: fraction.slice(3).replace(/0+$/, ''),
  };
}

/** Milliseconds since the epoch, or undefined if `text` is not an RFC 3339 timestamp. */
export function parseTimestamp(text: string): number | undefined {
  return parsePreciseTimestamp(text)?.millis;
}

/** -1, 0 or 1, with sub-millisecond digits deciding between equal milliseconds. */
export function compareTimestamps(left: PreciseTimestamp, right: PreciseTimestamp): number {
  if (left.millis !== right.millis) return Math.sign(left.millis - right.millis);
  const width = Math.max(left.subMillis.length, right.subMillis.length);
  const a = left.subMillis.padEnd(width, '0');
  const b = right.subMillis.padEnd(width, '0');
  return a < b ? -1 : a > b ? 1 : 0;
}

export function isoTimestamp(millis: number): string {
  return new Date(millis).toISOString();
}
