/** The reviewer's commands: `pending`, `show`, `approve`, `reject`, `watch`. */
import type { CountersignClient } from '../client.js';
import { isCountersignError } from '../errors.js';
import { backoffDelay, defaultSleep, isTransient } from '../http.js';
import type { Intent, JsonObject } from '../types.js';
import { BULK_OPTION_HELP, BULK_OPTIONS, decideAll, wantsBulk } from './bulk.js';
import {
  type Args,
  type Command,
  connect,
  firstPositional,
  listOption,
  stringOption,
} from './command.js';
import {
  type Context,
  EXIT,
  type ExitCode,
  eprintln,
  printJson,
  println,
  usageError,
} from './context.js';
import { clean, describeIntent, pendingTable, quorum, relative, truncate } from './format.js';

/** Everything waiting for the caller's decision, newest first. */
async function pendingIntents(client: CountersignClient, signal: AbortSignal): Promise<Intent[]> {
  const items: Intent[] = [];
  for await (const intent of client.iterateIntents(
    { status: 'pending', reviewer: 'me', limit: 100 },
    { signal },
  )) {
    items.push(intent);
  }
  return items;
}

export const pending: Command = {
  name: 'pending',
  summary: 'list the intents waiting for your decision',
  synopsis: 'pending',
  description:
    'Lists every pending intent you may decide now (GET /v1/intents?status=pending&reviewer=me), newest first.',
  options: {},
  optionHelp: [],
  jsonHelp: 'an array of intent objects, as the API returns them',
  positionals: { min: 0, max: 0 },
  examples: ['countersign pending', "countersign pending --json | jq -r '.[].id'"],
  async run(ctx: Context): Promise<ExitCode> {
    const { client } = await connect(ctx);
    const items = await pendingIntents(client, ctx.io.signal);
    if (ctx.json) {
      printJson(ctx, items);
      return EXIT.OK;
    }
    if (items.length === 0) {
      println(ctx, 'Nothing is waiting for your decision.');
      return EXIT.OK;
    }
    const now = ctx.io.now();
    println(ctx, pendingTable(items, now));
    println(ctx);
    println(
      ctx,
      `${items.length} pending. See one with \`countersign show <id>\`, then \`countersign approve <id>\` or \`countersign reject <id> -m <reason>\`.`,
    );
    return EXIT.OK;
  },
};

export const show: Command = {
  name: 'show',
  summary: 'show an intent, its payload and its audit trail',
  synopsis: 'show <id>',
  description:
    'Shows everything a reviewer needs to decide: the summary, who asks, the deadline, the payload, the approvals so far and the audit trail.',
  options: {},
  optionHelp: [],
  jsonHelp: '{"intent": <intent>, "events": [<audit event>, ...]}',
  positionals: { min: 1, max: 1 },
  examples: ['countersign show int_01JD6X3M2Q7R8S9T0V1W2X3Y4Z'],
  async run(ctx: Context, args: Args): Promise<ExitCode> {
    const id = firstPositional(args);
    const { client } = await connect(ctx);
    const { signal } = ctx.io;
    const [intent, trail] = await Promise.all([
      client.getIntent(id, { signal }),
      client.events(id, { signal }),
    ]);
    if (ctx.json) printJson(ctx, { intent, events: trail.items });
    else println(ctx, describeIntent(intent, trail.items, ctx.io.now()));
    return EXIT.OK;
  },
};

export const approve: Command = {
  name: 'approve',
  summary: 'approve an intent',
  synopsis:
    'approve <id> [-m <comment>] [--set <pointer>=<value>]... | approve --all [--type <pattern>] [--dry-run] [--yes]',
  description: [
    'Approves the intent as the logged-in reviewer; the decision is recorded with channel "cli".',
    'With a quorum or an approval chain the intent stays pending until enough reviewers approved.',
    '--set edits a value the intent lists as editable before approving (see `countersign show`):',
    'the value is read as JSON when it parses as JSON (40000, true, "quoted text"), else taken as',
    "a string (--set /message/subject=Hello world). An edit keeps the value's type; others asked",
    'then see, and approve, the edited version.',
    'With --all: lists everything waiting for you (of --type, if given), asks, then approves them',
    'in bulk (POST /v1/decisions) and prints each result; exit 2 if any failed.',
  ].join('\n'),
  options: {
    message: { type: 'string', short: 'm' },
    set: { type: 'string', multiple: true },
    ...BULK_OPTIONS,
  },
  optionHelp: [
    ['-m, --message <text>', 'a comment, recorded with the approval'],
    [
      '--set <pointer>=<value>',
      'edit an editable value before approving (repeatable); value parsed as JSON when it parses, else a string',
    ],
    ...BULK_OPTION_HELP,
  ],
  jsonHelp: 'the intent after the approval; with --all {"dry_run", "intents", "results"}',
  positionals: { min: 0, max: 1 },
  examples: [
    'countersign approve int_01JD6X3M2Q7R8S9T0V1W2X3Y4Z',
    'countersign approve int_01JD6X3M2Q7R8S9T0V1W2X3Y4Z -m "Numbers check out"',
    'countersign approve int_01JD6X3M2Q7R8S9T0V1W2X3Y4Z --set /amount=40000 --set "/message/subject=Invoice 7b"',
    "countersign approve --all --type 'intent.refund.*' --dry-run",
  ],
  async run(ctx: Context, args: Args): Promise<ExitCode> {
    if (wantsBulk(args, 'approve')) return decideAll(ctx, args, 'approve');
    const id = firstPositional(args);
    const comment = stringOption(args, 'message')?.trim();
    const edits = editsOf(listOption(args, 'set'));
    const { client } = await connect(ctx);
    const intent = await client.decide(
      id,
      {
        outcome: 'approve',
        channel: 'cli',
        ...(comment ? { comment } : {}),
        ...(Object.keys(edits).length > 0 ? { edits } : {}),
      },
      { signal: ctx.io.signal },
    );
    if (ctx.json) {
      printJson(ctx, intent);
    } else if (intent.status === 'pending') {
      const { have, need, step, steps } = quorum(intent);
      const where = steps > 1 ? ` at step ${step} of ${steps}` : '';
      println(
        ctx,
        `Your approval of ${clean(id)} is recorded. It is still pending: ${have} of ${need} approvals${where}.`,
      );
    } else {
      const outcome = intent.status === 'approved' ? 'Approved' : `Now ${clean(intent.status)}:`;
      println(ctx, `${outcome} ${clean(id)}: ${clean(intent.summary)}`);
    }
    return EXIT.OK;
  },
};

/**
 * `--set /amount=40000` → `{"/amount": 40000}`: split at the first `=` after the pointer, the
 * value read as JSON when it parses, else kept as the string given.
 */
export function editsOf(settings: readonly string[]): JsonObject {
  const edits: JsonObject = {};
  for (const setting of settings) {
    const at = setting.indexOf('=');
    const pointer = at < 0 ? '' : setting.slice(0, at);
    if (!pointer.startsWith('/')) {
      throw usageError(
        `--set takes <pointer>=<value>, such as /amount=40000; got ${clean(setting)}`,
        ['See the editable pointers with `countersign show <id>`.'],
      );
    }
    const text = setting.slice(at + 1);
    let value: unknown = text;
    try {
      value = JSON.parse(text) as unknown;
    } catch {
      // Not JSON: the text itself, so that `--set /subject=Hello world` needs no quoting.
    }
    edits[pointer] = value;
  }
  return edits;
}

export const reject: Command = {
  name: 'reject',
  summary: 'reject an intent (a reason is required)',
  synopsis:
    'reject <id> -m <reason> | reject --all -m <reason> [--type <pattern>] [--dry-run] [--yes]',
  description: [
    'Rejects the intent as the logged-in reviewer; the decision is recorded with channel "cli".',
    'A rejection says why: the reason is required and goes back to the agent.',
    'With --all: as `approve --all`, rejecting each with the reason.',
  ].join('\n'),
  options: { message: { type: 'string', short: 'm' }, ...BULK_OPTIONS },
  optionHelp: [['-m, --message <text>', 'the reason (required)'], ...BULK_OPTION_HELP],
  jsonHelp: 'the intent after the rejection; with --all {"dry_run", "intents", "results"}',
  positionals: { min: 0, max: 1 },
  examples: [
    'countersign reject int_01JD6X3M2Q7R8S9T0V1W2X3Y4Z -m "The report still names customers"',
    'countersign reject --all --type \'intent.refund.*\' -m "Refunds are paused" --yes',
  ],
  async run(ctx: Context, args: Args): Promise<ExitCode> {
    if (wantsBulk(args, 'reject')) return decideAll(ctx, args, 'reject');
    const id = firstPositional(args);
    const reason = stringOption(args, 'message')?.trim();
    if (!reason) {
      throw usageError('reject needs a reason: a rejection says why, and the agent is told.', [
        `Run: countersign reject ${clean(id)} -m "<reason>"`,
      ]);
    }
    const { client } = await connect(ctx);
    const intent = await client.decide(
      id,
      { outcome: 'reject', comment: reason, channel: 'cli' },
      { signal: ctx.io.signal },
    );
    if (ctx.json) printJson(ctx, intent);
    else println(ctx, `Rejected ${clean(id)}: "${clean(reason)}"`);
    return EXIT.OK;
  },
};

const DEFAULT_WATCH_SECONDS = 5;

export const watch: Command = {
  name: 'watch',
  summary: 'print new pending intents as they arrive, until Ctrl-C',
  synopsis: 'watch [--interval <seconds>]',
  description: [
    'Polls the intents waiting for your decision and prints each one once, as it arrives (those',
    'already waiting first). Keeps going through network errors and server restarts; stops on',
    'Ctrl-C (exit 0) or when the API refuses the key (exit 3).',
  ].join('\n'),
  options: { interval: { type: 'string' } },
  optionHelp: [
    ['--interval <seconds>', `how often to poll, 1 to 3600 (default ${DEFAULT_WATCH_SECONDS})`],
  ],
  jsonHelp: 'one intent object per line (JSON Lines), as each arrives',
  positionals: { min: 0, max: 0 },
  examples: ['countersign watch', 'countersign watch --json --interval 2 | jq -r .summary'],
  async run(ctx: Context, args: Args): Promise<ExitCode> {
    const intervalText = stringOption(args, 'interval');
    const interval = intervalText === undefined ? DEFAULT_WATCH_SECONDS : Number(intervalText);
    if (!Number.isFinite(interval) || interval < 1 || interval > 3600) {
      throw usageError('--interval takes a number of seconds from 1 to 3600.');
    }
    const { client, credentials } = await connect(ctx);
    const { signal } = ctx.io;
    if (!ctx.json) {
      eprintln(
        ctx,
        `Watching ${credentials.url} for intents waiting for your decision (every ${interval}s; Ctrl-C to stop).`,
      );
    }
    let seen = new Set<string>();
    let failures = 0;
    while (!signal.aborted) {
      let delay = interval * 1000;
      try {
        const items = await pendingIntents(client, signal);
        failures = 0;
        // Oldest first, so the output reads in the order the intents arrived.
        for (const intent of [...items].reverse()) {
          if (seen.has(intent.id)) continue;
          if (ctx.json) ctx.io.stdout(`${JSON.stringify(intent)}\n`);
          else println(ctx, watchLine(intent, ctx.io.now()));
        }
        // An intent that left `pending` never comes back, so only the current ones are kept.
        seen = new Set(items.map((intent) => intent.id));
      } catch (error) {
        if (signal.aborted) break;
        if (!isTransient(error)) throw error;
        failures += 1;
        delay = Math.max(delay, backoffDelay(failures));
        eprintln(
          ctx,
          `warning: ${isCountersignError(error) ? error.message : String(error)} Retrying in ${Math.ceil(delay / 1000)}s.`,
        );
      }
      try {
        await defaultSleep(delay, signal);
      } catch {
        break;
      }
    }
    return EXIT.OK;
  },
};

function watchLine(intent: Intent, now: Date): string {
  return `${clean(intent.id)}  ${truncate(intent.summary, 80)}  (from ${truncate(intent.from_agent, 60)}; deadline ${relative(intent.deadline_at, now)})`;
}
