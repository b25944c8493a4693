/** `audit verify <id>` and `audit export --since ... --format jsonl|csv`. */
import { open } from 'node:fs/promises';
import { canonicalize, type TrailVerification, verifyIntentTrail } from '../audit.js';
import type { CountersignClient } from '../client.js';
import { verifyReceipt } from '../signatures.js';
import type { AuditEvent, Intent } from '../types.js';
import {
  type Args,
  type Command,
  connect,
  firstPositional,
  requiredOption,
  stringOption,
} from './command.js';
import {
  CliError,
  type Context,
  EXIT,
  type ExitCode,
  eprintln,
  printJson,
  println,
  usageError,
} from './context.js';
import { clean } from './format.js';

/** A trail that grows while it is read is read again, at most this often. */
const MAX_READS = 5;

/**
 * The trail and the intent's head as one consistent snapshot: the intent is read before and
 * after the events, and only a pair whose head did not move in between is verified. A decision
 * or reminder landing mid-read is therefore never mistaken for tampering.
 */
async function snapshot(
  client: CountersignClient,
  id: string,
  signal: AbortSignal,
): Promise<{ intent: Intent; events: AuditEvent[] }> {
  let before = await client.getIntent(id, { signal });
  for (let read = 1; ; read += 1) {
    const { items } = await client.events(id, { signal });
    const after = await client.getIntent(id, { signal });
    const settled =
      before.event_count === after.event_count && before.last_event_hash === after.last_event_hash;
    if (settled || read >= MAX_READS) return { intent: after, events: items };
    before = after;
  }
}

export const auditVerify: Command = {
  name: 'audit verify',
  summary: "verify an intent's hash-chained audit trail",
  synopsis: 'audit verify <id>',
  description: [
    "Fetches the intent's audit trail and the intent, and checks the chain the contract defines:",
    'each event follows the previous one (seq), chains onto its prev_hash (64 zeros for the',
    'first), and hashes to its hash (SHA-256 of prev_hash + the RFC 8785 canonical event); and',
    'the trail ends where the intent says (event_count, last_event_hash), so a cut-off tail shows;',
    'and the created event records what the intent holds: the SHA-256 of its RFC 8785 canonical',
    'payload (payload_sha256), its callback_url, from_agent, to_agent and intent_type, so a payload',
    'or callback URL changed after the fact shows. Intents created before the trail recorded',
    'payload_sha256 verify without that check, and the output says so.',
    "A decided intent's receipt is verified too, with the deployment's public keys",
    '(/.well-known/jwks.json): signed by the deployment, about this intent and payload, and naming',
    'the final event of this very trail, so a trail rewritten with fresh hashes still shows.',
    'Prints OK, or exactly where and how the trail breaks. Exit 0 when intact, 4 when broken.',
  ].join('\n'),
  options: {},
  optionHelp: [],
  jsonHelp:
    '{"intent_id", "ok": true, "event_count", "last_event_hash", "payload_covered", "receipt": "verified"|"none"} or {"intent_id", "ok": false, "problem", "index", "seq", "intact_count", "message"}',
  positionals: { min: 1, max: 1 },
  examples: [
    'countersign audit verify int_01JD6X3M2Q7R8S9T0V1W2X3Y4Z',
    'countersign audit verify "$ID" --json',
  ],
  async run(ctx: Context, args: Args): Promise<ExitCode> {
    const id = firstPositional(args);
    const { client } = await connect(ctx);
    const { intent, events } = await snapshot(client, id, ctx.io.signal);
    const trail = verifyIntentTrail(intent, events);
    const receipt = trail.ok ? await checkReceipt(client, intent, events, ctx.io.signal) : null;
    const result: AuditVerdict =
      receipt && !receipt.ok
        ? {
            ok: false,
            problem: 'receipt',
            index: null,
            seq: null,
            intactCount: events.length,
            message: receipt.message,
          }
        : trail;
    report(ctx, intent.id, result, receipt?.ok ? 'verified' : 'none');
    return result.ok ? EXIT.OK : EXIT.VERIFY_FAILED;
  },
};

/** The trail's verdict, or `receipt` when the trail is sound but the receipt is not. */
type AuditVerdict =
  | TrailVerification
  | (Omit<Extract<TrailVerification, { ok: false }>, 'problem'> & { problem: 'receipt' });

/**
 * A decided intent's receipt, checked against the deployment's keys and this intent, and tied
 * to this trail: the event it names is the trail's event of that number. Null when there is no
 * receipt (pending, or decided before the deployment signed receipts).
 */
async function checkReceipt(
  client: CountersignClient,
  intent: Intent,
  events: AuditEvent[],
  signal: AbortSignal,
): Promise<{ ok: true } | { ok: false; message: string } | null> {
  if (!intent.receipt) return null;
  const verdict = await verifyReceipt(intent.receipt, {
    keys: await client.jwks({ signal }),
    intent,
  });
  if (!verdict.ok) return { ok: false, message: `the receipt does not verify: ${verdict.reason}.` };
  const { event_count: count, last_event_hash: hash } = verdict.claims;
  if (events[count - 1]?.hash !== hash) {
    return {
      ok: false,
      message: `the receipt was signed over event ${count} with hash ${hash.slice(0, 12)}…, which this trail does not hold: the trail was rewritten.`,
    };
  }
  return { ok: true };
}

function report(
  ctx: Context,
  id: string,
  result: AuditVerdict,
  receipt: 'verified' | 'none',
): void {
  if (ctx.json) {
    printJson(
      ctx,
      result.ok
        ? {
            intent_id: id,
            ok: true,
            event_count: result.eventCount,
            last_event_hash: result.lastEventHash,
            payload_covered: result.payloadCovered ?? false,
            receipt,
          }
        : {
            intent_id: id,
            ok: false,
            problem: result.problem,
            index: result.index,
            seq: result.seq,
            intact_count: result.intactCount,
            message: result.message,
          },
    );
    return;
  }
  if (result.ok) {
    println(
      ctx,
      `OK  ${clean(id)}: the audit trail is intact. ${result.eventCount} events chain from the genesis hash to ${result.lastEventHash}, as the intent records.`,
    );
    println(
      ctx,
      result.payloadCovered
        ? '  The created event records this payload (payload_sha256), callback_url and from_agent.'
        : '  This intent was created before the trail recorded payload_sha256: its payload and callback_url are not covered by the chain.',
    );
    if (receipt === 'verified') {
      println(
        ctx,
        `  Its receipt verifies with the deployment's public key and names this trail's final event.`,
      );
    }
    return;
  }
  println(ctx, `BROKEN  ${clean(id)}: ${clean(result.message)}`);
  const intact =
    result.intactCount === 0 ? 'No event verifies' : `Events 1 to ${result.intactCount} verify`;
  const where =
    result.problem === 'receipt'
      ? `the deployment's signed receipt does not vouch for this intent and trail`
      : result.index === null
        ? 'the trail does not end where the intent says it does'
        : result.problem === 'intent_mismatch'
          ? 'the intent no longer holds what its created event records'
          : `the chain breaks at position ${result.index + 1} (${result.problem})`;
  println(ctx, `  ${intact}; ${where}.`);
}

const FORMATS = ['jsonl', 'csv'] as const;
type Format = (typeof FORMATS)[number];

const CSV_COLUMNS = [
  'intent_id',
  'seq',
  'type',
  'at',
  'actor',
  'channel',
  'data',
  'prev_hash',
  'hash',
] as const;

/** How many trails are fetched at once. */
const EXPORT_CONCURRENCY = 4;

export const auditExport: Command = {
  name: 'audit export',
  summary: 'export the audit events of every intent created since a time',
  synopsis: 'audit export --since <time | duration> [--format jsonl|csv] [--output <file>]',
  description: [
    'Writes every audit event of every intent created since --since that the key may see (an',
    "admin sees all), oldest intent first, each intent's events in order. For compliance archives.",
    '',
    'jsonl: one event per line, the event as the API returns it plus "intent_id".',
    `csv (RFC 4180, CRLF, quoted where needed): ${CSV_COLUMNS.join(',')};`,
    '"data" holds the RFC 8785 canonical JSON of the event data. A field that begins with',
    "= + - @, a tab, a CR or a NUL gets a ' before it, so that no spreadsheet runs it.",
    '',
    'Without --output the export goes to standard output; a summary goes to standard error.',
  ].join('\n'),
  options: {
    since: { type: 'string' },
    format: { type: 'string' },
    output: { type: 'string', short: 'o' },
  },
  optionHelp: [
    [
      '--since <when>',
      'a time (2026-11-01, 2026-11-01T09:00:00Z) or a duration back from now (90m, 24h, 7d, 2w, P7D)',
    ],
    ['--format <format>', 'jsonl (default) or csv'],
    ['-o, --output <file>', 'write to this file (created readable only by you) instead of stdout'],
  ],
  jsonHelp: 'errors only (the export itself is --format)',
  positionals: { min: 0, max: 0 },
  examples: [
    'countersign audit export --since 7d --format csv -o audit-week.csv',
    'countersign audit export --since 2026-11-01T00:00:00Z > november.jsonl',
  ],
  async run(ctx: Context, args: Args): Promise<ExitCode> {
    const sinceText = requiredOption(args, 'since', 'audit export');
    const formatText = stringOption(args, 'format') ?? 'jsonl';
    if (!(FORMATS as readonly string[]).includes(formatText)) {
      throw usageError(`--format must be jsonl or csv, not ${JSON.stringify(formatText)}.`);
    }
    const format = formatText as Format;
    const since = parseSince(sinceText, ctx.io.now());
    const outputPath = stringOption(args, 'output');
    const { client } = await connect(ctx);
    const { signal } = ctx.io;

    const intents: Intent[] = [];
    // Newest first: stop at the first intent older than --since.
    for await (const intent of client.iterateIntents({ limit: 100 }, { signal })) {
      if (Date.parse(intent.created_at) < since.getTime()) break;
      intents.push(intent);
    }
    intents.reverse();

    const sink = await openSink(ctx, outputPath);
    let eventCount = 0;
    try {
      if (format === 'csv') await sink.write(csvLine([...CSV_COLUMNS]));
      for (let start = 0; start < intents.length; start += EXPORT_CONCURRENCY) {
        const batch = intents.slice(start, start + EXPORT_CONCURRENCY);
        const trails = await Promise.all(
          batch.map((intent) => client.events(intent.id, { signal })),
        );
        let chunk = '';
        for (const [i, trail] of trails.entries()) {
          const intentId = batch[i]?.id ?? '';
          for (const event of trail.items) {
            chunk +=
              format === 'csv' ? csvLine(csvRow(intentId, event)) : jsonLine(intentId, event);
            eventCount += 1;
          }
        }
        await sink.write(chunk);
      }
    } finally {
      await sink.close();
    }
    eprintln(
      ctx,
      `Exported ${eventCount} ${eventCount === 1 ? 'event' : 'events'} of ${intents.length} ${intents.length === 1 ? 'intent' : 'intents'} created since ${since.toISOString()}${outputPath ? ` to ${outputPath}` : ''}.`,
    );
    return EXIT.OK;
  },
};

function jsonLine(intentId: string, event: AuditEvent): string {
  return `${JSON.stringify({ intent_id: intentId, ...event })}\n`;
}

function csvRow(intentId: string, event: AuditEvent): string[] {
  return [
    intentId,
    String(event.seq),
    event.type,
    event.at,
    event.actor,
    event.channel,
    canonicalize(event.data),
    event.prev_hash,
    event.hash,
  ];
}

/**
 * One RFC 4180 record: fields with a comma, quote, CR or LF are quoted, quotes doubled. A field
 * that a spreadsheet would take for a formula (it begins with `=`, `+`, `-`, `@`, a tab, a CR or a NUL:
 * an actor or a comment is anyone's text) is written with a `'` before it and quoted, as OWASP
 * advises against CSV injection.
 */
export function csvLine(fields: string[]): string {
  return `${fields.map(csvField).join(',')}\r\n`;
}

function csvField(value: string): string {
  if (/^[=+\-@\t\r\0]/.test(value)) return `"'${value.replaceAll('"', '""')}"`;
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

interface Sink {
  write(text: string): Promise<void>;
  close(): Promise<void>;
}

async function openSink(ctx: Context, file: string | undefined): Promise<Sink> {
  if (file === undefined) {
    return { write: async (text) => ctx.io.stdout(text), close: async () => {} };
  }
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(file, 'w', 0o600);
  } catch (error) {
    throw new CliError(`Cannot write ${file}: ${(error as Error).message}`, {
      exitCode: EXIT.LOCAL,
      code: 'output_unwritable',
    });
  }
  return {
    write: async (text) => {
      if (text === '') return;
      try {
        await handle.write(text);
      } catch (error) {
        // A full disk is the machine's problem (exit 5), not a fault of the CLI (exit 7).
        throw new CliError(`Cannot write ${file}: ${(error as Error).message}`, {
          exitCode: EXIT.LOCAL,
          code: 'output_unwritable',
        });
      }
    },
    close: () => handle.close(),
  };
}

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const WEEK = 7 * DAY;
const UNIT_MS: Readonly<Record<string, number>> = {
  s: SECOND,
  m: MINUTE,
  h: HOUR,
  d: DAY,
  w: WEEK,
};

/**
 * `--since`: an RFC 3339 time or date, a duration back from now (`90m`, `24h`, `7d`, `2w`), or
 * an ISO 8601 duration of weeks, days, hours, minutes and seconds (`P7D`, `PT12H`).
 */
function parseSince(text: string, now: Date): Date {
  const value = text.trim();
  const simple = /^(\d+)\s*([smhdw])$/i.exec(value);
  if (simple?.[1] && simple[2]) {
    return new Date(now.getTime() - Number(simple[1]) * (UNIT_MS[simple[2].toLowerCase()] ?? 0));
  }
  const iso = /^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/i.exec(
    value,
  );
  if (iso && value.length > 1 && !/T$/i.test(value)) {
    const [, weeks, days, hours, minutes, seconds] = iso;
    const ms =
      Number(weeks ?? 0) * WEEK +
      Number(days ?? 0) * DAY +
      Number(hours ?? 0) * HOUR +
      Number(minutes ?? 0) * MINUTE +
      Number(seconds ?? 0) * SECOND;
    return new Date(now.getTime() - ms);
  }
  if (/^\d{4}-\d{2}-\d{2}([T ].*)?$/.test(value)) {
    const at = Date.parse(value);
    if (!Number.isNaN(at)) return new Date(at);
  }
  throw usageError(
    `--since takes a time (2026-11-01, 2026-11-01T09:00:00Z) or a duration back from now (90m, 24h, 7d, P7D), not ${JSON.stringify(text)}.`,
  );
}
