/**
 * `me` and `me set`: the calling reviewer's profile (time zone, working hours, out of office).
 * Both speak to `/v1/reviewers/me`, which the API resolves to the key's own email; an admin
 * names the reviewer with `--email`.
 */
import type { PutReviewerProfileRequest, ReviewerProfile, Weekday } from '../types.js';
import { type Args, type Command, connect, stringOption } from './command.js';
import { type Context, EXIT, type ExitCode, printJson, println, usageError } from './context.js';
import { clean } from './format.js';

const DAYS: readonly Weekday[] = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
const RANGE = /^\d\d:\d\d-\d\d:\d\d$/;

/**
 * `mon-fri 09:00-17:30, sat 10:00-12:00`, `thu 09:00-12:00 13:00-17:30`, `mon,wed 08:00-16:00`:
 * groups separated by commas or semicolons, each naming days (a span or a list) and then one
 * or more ranges. Days not named have no working hours; `none` clears them (always available).
 * The ranges themselves are checked by the API, which says which field is wrong.
 */
export function parseHours(text: string): Partial<Record<Weekday, string[]>> | null {
  if (text.trim().toLowerCase() === 'none') return null;
  const hours: Partial<Record<Weekday, string[]>> = {};
  // A comma after a range (or a semicolon) ends a group; one between day names is a list.
  const groups = text
    .split(/;|(?<=\d),/)
    .map((group) => group.trim())
    .filter(Boolean);
  if (groups.length === 0) throw usageError('--hours names no days.');
  for (const group of groups) {
    const [dayText = '', ...ranges] = group.split(/\s+/);
    const days = parseDays(dayText.toLowerCase());
    if (ranges.length === 0 || ranges.some((range) => !RANGE.test(range))) {
      throw usageError(
        `--hours: ${JSON.stringify(group)} needs days and HH:MM-HH:MM ranges, e.g. "mon-fri 09:00-17:30".`,
      );
    }
    for (const day of days) hours[day] = [...(hours[day] ?? []), ...ranges];
  }
  return Object.fromEntries(DAYS.map((day) => [day, hours[day] ?? []]));
}

function parseDays(text: string): Weekday[] {
  const days: Weekday[] = [];
  for (const part of text.split(',')) {
    const [from, to] = part.split('-') as [string, string | undefined];
    const start = DAYS.indexOf(from as Weekday);
    const end = to === undefined ? start : DAYS.indexOf(to as Weekday);
    if (start < 0 || end < 0) {
      throw usageError(`--hours: ${JSON.stringify(part)} is not a day or span (mon, mon-fri).`);
    }
    // A span may wrap the week (fri-mon).
    for (let index = start; ; index = (index + 1) % 7) {
      const day = DAYS[index] as Weekday;
      if (!days.includes(day)) days.push(day);
      if (index === end) break;
    }
  }
  return days;
}

function describeProfile(profile: ReviewerProfile, now: Date): string[] {
  const lines = [`${clean(profile.email)}`, `  time zone      ${clean(profile.time_zone)}`];
  const hours = profile.working_hours;
  const worked = DAYS.filter((day) => (hours?.[day] ?? []).length > 0);
  if (!hours || worked.length === 0) {
    lines.push('  working hours  always available (reminders go out at any time)');
  } else {
    lines.push('  working hours');
    for (const day of DAYS) {
      lines.push(`    ${day}  ${(hours[day] ?? []).map(clean).join(', ') || '-'}`);
    }
  }
  const away = profile.out_of_office;
  if (!away) {
    lines.push('  out of office  no');
  } else {
    const current =
      Date.parse(away.from) <= now.getTime() && now.getTime() < Date.parse(away.until);
    lines.push(
      `  out of office  ${current ? 'now, ' : ''}${clean(away.from)} to ${clean(away.until)}; notices go to ${clean(away.delegate)}`,
    );
  }
  return lines;
}

const emailOption = {
  flag: ['--email <address>', 'an admin: whose profile (default: the key\'s own, "me")'] as [
    string,
    string,
  ],
};

export const me: Command = {
  name: 'me',
  summary: 'show your reviewer profile: time zone, working hours, out of office',
  synopsis: 'me [--email <address>]',
  description: [
    'Shows the profile of the reviewer whose key is in use: their time zone, their working',
    'hours (reminders that fall outside them wait until they start work; first notices and',
    'escalations do not), and any out of office (notices then go to the delegate, who may',
    'decide in their place).',
  ].join('\n'),
  options: { email: { type: 'string' } },
  optionHelp: [emailOption.flag],
  jsonHelp: 'the profile object',
  positionals: { min: 0, max: 0 },
  examples: ['countersign me', 'countersign me --email cfo@company.com --json'],
  async run(ctx: Context, args: Args): Promise<ExitCode> {
    const { client } = await connect(ctx);
    const profile = await client.getReviewerProfile(stringOption(args, 'email') ?? 'me', {
      signal: ctx.io.signal,
    });
    if (ctx.json) printJson(ctx, profile);
    else for (const line of describeProfile(profile, new Date())) println(ctx, line);
    return EXIT.OK;
  },
};

export const meSet: Command = {
  name: 'me set',
  summary: 'set your time zone, working hours or out of office',
  synopsis:
    "me set [--time-zone <iana>] [--hours '<days> <HH:MM-HH:MM>…, …'|none] [--away-from <time> --away-until <time> --delegate <email>|--back] [--email <address>]",
  description: [
    'Changes the profile of the reviewer whose key is in use; what is not given stays as it',
    'was. --hours lists days (mon-fri, sat, mon,wed) with their ranges, groups separated by',
    'commas; days not named have no working hours; none means always available. A range whose',
    'end is before its start runs past midnight. --away-from/--away-until/--delegate set an out',
    'of office (times in RFC 3339, e.g. 2026-12-24T00:00:00+01:00); --back clears it.',
  ].join('\n'),
  options: {
    'time-zone': { type: 'string' },
    hours: { type: 'string' },
    'away-from': { type: 'string' },
    'away-until': { type: 'string' },
    delegate: { type: 'string' },
    back: { type: 'boolean' },
    email: { type: 'string' },
  },
  optionHelp: [
    ['--time-zone <iana>', 'an IANA time zone, e.g. Europe/Berlin'],
    [
      '--hours <spec>',
      "e.g. 'mon-fri 09:00-17:30' or 'mon-thu 09:00-12:00 13:00-17:00, fri 09:00-15:00'",
    ],
    ['--away-from <time>', 'start of an out of office (RFC 3339)'],
    ['--away-until <time>', 'its end (RFC 3339)'],
    ['--delegate <email>', 'who gets your notices, and may decide for you, meanwhile'],
    ['--back', 'clear the out of office'],
    emailOption.flag,
  ],
  jsonHelp: 'the profile as stored',
  positionals: { min: 0, max: 0 },
  examples: [
    "countersign me set --time-zone Europe/Berlin --hours 'mon-fri 09:00-17:30'",
    'countersign me set --away-from 2026-12-24T00:00:00+01:00 --away-until 2027-01-02T00:00:00+01:00 --delegate deputy@company.com',
    'countersign me set --back',
  ],
  async run(ctx: Context, args: Args): Promise<ExitCode> {
    const request: PutReviewerProfileRequest = {};
    const zone = stringOption(args, 'time-zone');
    if (zone !== undefined) request.time_zone = zone.trim();
    const hours = stringOption(args, 'hours');
    if (hours !== undefined) request.working_hours = parseHours(hours);
    const away = ['away-from', 'away-until', 'delegate'].map((name) => stringOption(args, name));
    const [from, until, delegate] = away;
    if (args.values.back === true) {
      if (away.some((value) => value !== undefined)) {
        throw usageError(
          '--back clears the out of office: give it alone, or the three --away options.',
        );
      }
      request.out_of_office = null;
    } else if (away.some((value) => value !== undefined)) {
      if (from === undefined || until === undefined || delegate === undefined) {
        throw usageError('An out of office needs --away-from, --away-until and --delegate.');
      }
      request.out_of_office = { from, until, delegate: delegate.trim() };
    }
    if (Object.keys(request).length === 0) {
      throw usageError('me set changes nothing without an option.', [
        'Run `countersign me set --help`.',
      ]);
    }
    const { client } = await connect(ctx);
    const profile = await client.putReviewerProfile(stringOption(args, 'email') ?? 'me', request, {
      signal: ctx.io.signal,
    });
    if (ctx.json) printJson(ctx, profile);
    else for (const line of describeProfile(profile, new Date())) println(ctx, line);
    return EXIT.OK;
  },
};
