/** Durations as the contract writes them: "90s", "5m", "8h", "2d", ISO 8601 ("PT5M", "P1DT2H") or integer seconds. */
const MIN_DURATION_SECONDS = 1;
const MAX_DURATION_SECONDS = 364 * 24 * 3600;

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };
const SHORT_FORM = /^(\d{1,9})([smhd])$/;
const ISO_FORM =
  /^P(?:(\d{1,9})W)?(?:(\d{1,9})D)?(?:T(?:(\d{1,9})H)?(?:(\d{1,9})M)?(?:(\d{1,9})S)?)?$/;

/**
 * Parses a duration into whole seconds, or returns an error message saying what is wrong.
 * Bounds are checked here so that every caller gets the same rule.
 */
export function parseDuration(value: unknown): { seconds: number } | { error: string } {
  const seconds = toSeconds(value);
  if (seconds === undefined) {
    return {
      error:
        'must be a duration such as "90s", "5m", "8h", "2d", "PT5M" or a whole number of seconds',
    };
  }
  if (seconds < MIN_DURATION_SECONDS || seconds > MAX_DURATION_SECONDS) {
    return { error: 'must be at least 1 second and at most 364 days' };
  }
  return { seconds };
}

function toSeconds(value: unknown): number | undefined {
  if (typeof value === 'number') {
    return Number.isSafeInteger(value) ? value : undefined;
  }
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (/^\d{1,12}$/.test(text)) return Number(text);
  const short = SHORT_FORM.exec(text);
  if (short) {
    const [, amount, unit] = short;
    return Number(amount) * (UNIT_SECONDS[unit ?? 's'] ?? 1);
  }
  const iso = ISO_FORM.exec(text.toUpperCase());
  if (iso && text.length > 1 && !text.toUpperCase().endsWith('T')) {
    const [, weeks, days, hours, minutes, secs] = iso.map((part) => Number(part ?? 0));
    const total =
      (weeks ?? 0) * 7 * 86400 +
      (days ?? 0) * 86400 +
      (hours ?? 0) * 3600 +
      (minutes ?? 0) * 60 +
      (secs ?? 0);
    return total;
  }
  return undefined;
}

/** A short human form of a number of seconds, for emails and pages ("1h 30m"). */
export function formatDuration(totalSeconds: number): string {
  const parts: string[] = [];
  let rest = Math.max(0, Math.round(totalSeconds));
  for (const [unit, size] of [
    ['d', 86400],
    ['h', 3600],
    ['m', 60],
    ['s', 1],
  ] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  return parts.length > 0 ? parts.slice(0, 2).join(' ') : '0s';
}
