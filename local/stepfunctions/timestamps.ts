/**
 * RFC 3339 timestamps as Step Functions accepts them in Wait states and Choice rules: an uppercase
 * `T` between date and time and an uppercase `Z` (or a numeric offset), e.g. 2016-03-14T01:59:00Z.
 */
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** Milliseconds since the epoch, or undefined if `text` is not an RFC 3339 timestamp. */
export function parseTimestamp(text: string): number | undefined {
  const match = RFC3339.exec(text);
  if (!match) return undefined;
  const [, year, month, day, hour, minute, second] = match.map(Number);
  if (
    month === undefined ||
    day === undefined ||
    hour === undefined ||
    minute === undefined ||
    second === undefined ||
    year === undefined ||
    month < 1 ||
    month > 12 ||
    day < 1 ||
    day > 31 ||
    hour > 23 ||
    minute > 59 ||
    second > 60
  ) {
    return undefined;
  }
  const millis = Date.parse(text);
  return Number.isNaN(millis) ? undefined : millis;
}

export function isoTimestamp(millis: number): string {
  return new Date(millis).toISOString();
}
