/** `policies put|get|list|delete|dry-run` (admin): the operator policies of intent types. */
import { readFile } from 'node:fs/promises';
import type { OperatorPolicy, StoredPolicy } from '../types.js';
import {
  type Args,
  type Command,
  connect,
  firstPositional,
  requiredOption,
  stringOption,
} from './command.js';
import { type Context, EXIT, type ExitCode, printJson, println, usageError } from './context.js';
import { clean, table } from './format.js';

const PATTERN_HELP = 'an intent type, a prefix ending in .* (intent.payment.*), or *';

/** Reads the policy document named by `--file` (a path, or - for standard input). */
async function policyFile(ctx: Context, args: Args, command: string): Promise<OperatorPolicy> {
  const file = requiredOption(args, 'file', command);
  const text = file === '-' ? await ctx.io.readStdin() : await readFile(file, 'utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw usageError(
      `${file === '-' ? 'standard input' : file} is not JSON: ${(error as Error).message}`,
    );
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw usageError('The policy must be a JSON object.');
  }
  return parsed as OperatorPolicy;
}

function describePolicy(policy: StoredPolicy): string {
  const { intent_type, version, updated_at, updated_by, ...document } = policy;
  return [
    `${clean(intent_type)}  version ${version}, set ${clean(updated_at)} by ${clean(updated_by)}`,
    JSON.stringify(document, null, 2),
  ].join('\n');
}

const fileOption = { file: { type: 'string' } } as const;

export const policiesPut: Command = {
  name: 'policies put',
  summary: 'create or replace the policy of an intent type (admin)',
  synopsis: 'policies put <intent type> --file <policy.json | ->',
  description: [
    'Writes the operator policy of an intent type: who approves, what a request may add, the',
    'timeout and the rules that decide at create. A request can only ask for more scrutiny than',
    `the policy. The pattern is ${PATTERN_HELP}; the most specific one applies.`,
  ].join('\n'),
  options: fileOption,
  optionHelp: [['--file <path>', 'the policy as JSON; - reads standard input']],
  jsonHelp: 'the stored policy with its version',
  positionals: { min: 1, max: 1 },
  examples: ['countersign policies put "intent.payment.*" --file payments-policy.json'],
  async run(ctx: Context, args: Args): Promise<ExitCode> {
    const pattern = firstPositional(args);
    const policy = await policyFile(ctx, args, 'policies put');
    const { client } = await connect(ctx);
    const stored = await client.putPolicy(pattern, policy, { signal: ctx.io.signal });
    if (ctx.json) printJson(ctx, stored);
    else println(ctx, `Policy ${clean(stored.intent_type)} is at version ${stored.version}.`);
    return EXIT.OK;
  },
};

export const policiesGet: Command = {
  name: 'policies get',
  summary: 'show the stored policy of an intent type (admin)',
  synopsis: 'policies get <intent type>',
  description: `Shows the policy stored for a pattern (${PATTERN_HELP}).`,
  options: {},
  optionHelp: [],
  jsonHelp: 'the stored policy',
  positionals: { min: 1, max: 1 },
  examples: ['countersign policies get "intent.payment.*"'],
  async run(ctx: Context, args: Args): Promise<ExitCode> {
    const { client } = await connect(ctx);
    const stored = await client.getPolicy(firstPositional(args), { signal: ctx.io.signal });
    if (ctx.json) printJson(ctx, stored);
    else println(ctx, describePolicy(stored));
    return EXIT.OK;
  },
};

export const policiesList: Command = {
  name: 'policies list',
  summary: 'list operator policies (admin)',
  synopsis: 'policies list',
  description: 'Lists the stored policies, and the patterns the deployment configures.',
  options: {},
  optionHelp: [],
  jsonHelp: '{"items": [stored policies], "configured": [{"intent_type", "source"}]}',
  positionals: { min: 0, max: 0 },
  examples: ['countersign policies list'],
  async run(ctx: Context): Promise<ExitCode> {
    const { client } = await connect(ctx);
    const listed = await client.listPolicies({ signal: ctx.io.signal });
    if (ctx.json) {
      printJson(ctx, listed);
      return EXIT.OK;
    }
    const rows = [
      ...listed.items.map((policy) => [
        clean(policy.intent_type),
        'api',
        String(policy.version),
        clean(policy.updated_at),
        String(policy.rules?.length ?? 0),
      ]),
      ...listed.configured.map((policy) => [clean(policy.intent_type), 'config', '-', '-', '-']),
    ];
    if (rows.length === 0) println(ctx, 'No policies: the built-in default applies to every type.');
    else println(ctx, table(['INTENT TYPE', 'SOURCE', 'VERSION', 'UPDATED', 'RULES'], rows));
    return EXIT.OK;
  },
};

export const policiesDelete: Command = {
  name: 'policies delete',
  summary: 'delete the stored policy of an intent type (admin)',
  synopsis: 'policies delete <intent type>',
  description: 'Deletes a stored policy; the next most specific one applies from then on.',
  options: {},
  optionHelp: [],
  jsonHelp: 'the deleted policy',
  positionals: { min: 1, max: 1 },
  examples: ['countersign policies delete "intent.payment.*"'],
  async run(ctx: Context, args: Args): Promise<ExitCode> {
    const { client } = await connect(ctx);
    const removed = await client.deletePolicy(firstPositional(args), { signal: ctx.io.signal });
    if (ctx.json) printJson(ctx, removed);
    else
      println(
        ctx,
        `Deleted the policy of ${clean(removed.intent_type)} (version ${removed.version}).`,
      );
    return EXIT.OK;
  },
};

export const policiesDryRun: Command = {
  name: 'policies dry-run',
  summary: "show what a policy's rules would have decided for recent intents (admin)",
  synopsis: 'policies dry-run <intent type> --file <policy.json | -> [--limit <n>]',
  description: [
    'Tries the rules of a policy on the most recent intents of one intent type and shows what',
    'each would have been: approve, reject, or ask (go to people). Nothing is changed.',
  ].join('\n'),
  options: { ...fileOption, limit: { type: 'string' } },
  optionHelp: [
    ['--file <path>', 'the policy as JSON; - reads standard input'],
    ['--limit <n>', 'how many recent intents, 1 to 500 (default 100)'],
  ],
  jsonHelp: '{"items": [{"id", "created_at", "would", "rule"}], "summary": {...}}',
  positionals: { min: 1, max: 1 },
  examples: [
    'countersign policies dry-run intent.refund.v1 --file refunds-policy.json --limit 500',
  ],
  async run(ctx: Context, args: Args): Promise<ExitCode> {
    const intentType = firstPositional(args);
    const policy = await policyFile(ctx, args, 'policies dry-run');
    const limitText = stringOption(args, 'limit');
    const limit = limitText === undefined ? undefined : Number(limitText);
    if (limit !== undefined && (!/^\d+$/.test(limitText ?? '') || limit < 1 || limit > 500)) {
      throw usageError(
        `--limit takes a whole number from 1 to 500, not ${JSON.stringify(limitText)}.`,
      );
    }
    const { client } = await connect(ctx);
    const result = await client.dryRunPolicy(
      { intent_type: intentType, policy, ...(limit === undefined ? {} : { limit }) },
      { signal: ctx.io.signal },
    );
    if (ctx.json) {
      printJson(ctx, result);
      return EXIT.OK;
    }
    const { total, approve, reject, ask } = result.summary;
    println(
      ctx,
      `Of the ${total} most recent: ${approve} approve, ${reject} reject, ${ask} ask people.`,
    );
    if (result.items.length > 0) {
      println(
        ctx,
        table(
          ['INTENT', 'CREATED', 'WOULD', 'RULE'],
          result.items.map((item) => [
            clean(item.id),
            clean(item.created_at),
            item.would,
            clean(item.rule ?? '-'),
          ]),
        ),
      );
    }
    return EXIT.OK;
  },
};
