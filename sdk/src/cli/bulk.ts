/**
 * `countersign approve --all` and `countersign reject --all`: everything waiting for the
 * caller (optionally of matching intent types) decided in bulk (`POST /v1/decisions`, 100 per
 * request), after a table of what would be decided and a y/N question. `--dry-run` shows the
 * table only; `--yes` skips the question (scripts). Each intent's result is printed as the API
 * answered it; one that failed (decided meanwhile, say) does not stop the others.
 */
import type { CountersignClient } from '../client.js';
import type { BulkDecisionItem, BulkDecisionResult, Intent } from '../types.js';
import { type Args, connect, stringOption } from './command.js';
import { type Context, EXIT, type ExitCode, printJson, println, usageError } from './context.js';
import { clean, pendingTable, quorum } from './format.js';

/** The API's limit of decisions per request. */
const BATCH = 100;

/** The options `approve` and `reject` add for bulk use. */
export const BULK_OPTIONS = {
  all: { type: 'boolean' },
  type: { type: 'string' },
  'dry-run': { type: 'boolean' },
  yes: { type: 'boolean', short: 'y' },
} as const;

export const BULK_OPTION_HELP: [string, string][] = [
  ['--all', 'decide every intent waiting for you (instead of one <id>)'],
  ['--type <pattern>', "with --all: only these intent types, e.g. 'intent.refund.*'"],
  ['--dry-run', 'with --all: show what would be decided, decide nothing'],
  ['-y, --yes', 'with --all: do not ask before deciding'],
];

/** Whether the command line asks for the bulk form; refuses bulk options without `--all`. */
export function wantsBulk(args: Args, command: 'approve' | 'reject'): boolean {
  const all = args.values.all === true;
  if (all && args.positionals.length > 0) {
    throw usageError(`${command} takes either one <id> or --all, not both.`);
  }
  if (all && args.values.set !== undefined) {
    throw usageError('--set edits one intent: it does not go with --all.');
  }
  if (!all) {
    for (const option of ['type', 'dry-run', 'yes']) {
      if (args.values[option] !== undefined) {
        throw usageError(`--${option} goes with --all.`, [
          `Run: countersign ${command} --all --${option} …`,
        ]);
      }
    }
    if (args.positionals.length === 0) {
      throw usageError(`${command} needs an intent id, or --all.`, [
        `Run \`countersign ${command} --help\`.`,
      ]);
    }
  }
  return all;
}

/** `*` matches any run of characters; everything else matches itself. */
export function typeMatcher(pattern: string | undefined): (intentType: string) => boolean {
  if (pattern === undefined) return () => true;
  const source = pattern
    .split('*')
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  const regex = new RegExp(`^${source}$`);
  return (intentType) => regex.test(intentType);
}

async function waitingIntents(
  client: CountersignClient,
  signal: AbortSignal,
  matches: (intentType: string) => boolean,
): Promise<Intent[]> {
  const items: Intent[] = [];
  for await (const intent of client.iterateIntents(
    { status: 'pending', reviewer: 'me', limit: 100 },
    { signal },
  )) {
    if (matches(intent.intent_type)) items.push(intent);
  }
  return items;
}

export async function decideAll(
  ctx: Context,
  args: Args,
  outcome: 'approve' | 'reject',
): Promise<ExitCode> {
  const comment = stringOption(args, 'message')?.trim();
  if (outcome === 'reject' && !comment) {
    throw usageError('reject --all needs a reason: a rejection says why, and each agent is told.', [
      'Run: countersign reject --all -m "<reason>"',
    ]);
  }
  const dryRun = args.values['dry-run'] === true;
  const pattern = stringOption(args, 'type');
  const { client } = await connect(ctx);
  const { signal } = ctx.io;
  const intents = await waitingIntents(client, signal, typeMatcher(pattern));
  const verb = outcome === 'approve' ? 'approve' : 'reject';
  if (intents.length === 0) {
    if (ctx.json) printJson(ctx, { dry_run: dryRun, intents: [], results: [] });
    else println(ctx, `Nothing${pattern ? ` of type ${clean(pattern)}` : ''} is waiting for you.`);
    return EXIT.OK;
  }
  if (ctx.json && dryRun) {
    printJson(ctx, { dry_run: true, intents, results: [] });
    return EXIT.OK;
  }
  if (!ctx.json) {
    const now = ctx.io.now();
    println(ctx, pendingTable(intents, now));
    println(ctx);
  }
  if (dryRun) {
    println(ctx, `Dry run: would ${verb} these ${intents.length}. Nothing was decided.`);
    return EXIT.OK;
  }
  if (args.values.yes !== true) {
    if (ctx.json) {
      throw usageError('--json with --all decides without asking only with --yes.');
    }
    ctx.io.stdout(`${verb[0]?.toUpperCase()}${verb.slice(1)} these ${intents.length}? [y/N] `);
    const answer = await readAnswer(ctx);
    if (!/^y(es)?$/i.test(answer.trim())) {
      println(ctx, 'Nothing was decided.');
      return EXIT.OK;
    }
  }
  const results: BulkDecisionResult[] = [];
  for (let start = 0; start < intents.length; start += BATCH) {
    const batch: BulkDecisionItem[] = intents.slice(start, start + BATCH).map((intent) => ({
      intent_id: intent.id,
      outcome,
      channel: 'cli',
      ...(comment ? { comment } : {}),
    }));
    results.push(...(await client.decideMany(batch, { signal })).results);
  }
  const failed = results.filter((result) => result.status !== 200);
  if (ctx.json) {
    printJson(ctx, { dry_run: false, intents, results });
  } else {
    for (const result of results) println(ctx, resultLine(result));
    println(ctx);
    println(
      ctx,
      `${results.length - failed.length} of ${results.length} ${outcome === 'approve' ? 'approvals' : 'rejections'} recorded${failed.length > 0 ? `; ${failed.length} failed` : ''}.`,
    );
  }
  return failed.length > 0 ? EXIT.REFUSED : EXIT.OK;
}

function resultLine(result: BulkDecisionResult): string {
  const id = clean(result.intent_id);
  if ('intent' in result) {
    const { intent } = result;
    if (intent.status !== 'pending') return `${clean(intent.status)}  ${id}`;
    const { have, need } = quorum(intent);
    return `recorded  ${id}  (still pending: ${have} of ${need} approvals)`;
  }
  return `failed    ${id}  ${result.status} ${clean(result.error.code)}: ${clean(result.error.message)}`;
}

/** One line from the terminal (or the first line of piped input). */
async function readAnswer(ctx: Context): Promise<string> {
  if (ctx.io.readLine) return (await ctx.io.readLine()) ?? '';
  return (await ctx.io.readStdin()).split('\n')[0] ?? '';
}
