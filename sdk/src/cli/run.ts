/**
 * The `countersign` command line: finds the command, parses its options (node:util parseArgs,
 * strict), runs it, and turns every failure into a clear message and a documented exit code.
 */
import { parseArgs } from 'node:util';
import { isCountersignError } from '../errors.js';
import { SDK_VERSION } from '../version.js';
import { auditExport, auditVerify } from './audit.js';
import type { Args, Command } from './command.js';
import {
  CliError,
  type CliIo,
  type Context,
  EXIT,
  type ExitCode,
  exitCodeOf,
  usageError,
} from './context.js';
import { clean, describeDecision } from './format.js';
import { approve, pending, reject, show, watch } from './intents.js';
import { keysCreate, keysList, keysRevoke } from './keys.js';
import { mcp, mcpGateway } from './mcp.js';
import { me, meSet } from './me.js';
import {
  policiesDelete,
  policiesDryRun,
  policiesGet,
  policiesList,
  policiesPut,
} from './policies.js';
import { login, logout } from './session.js';

const COMMANDS: readonly Command[] = [
  login,
  logout,
  pending,
  show,
  approve,
  reject,
  watch,
  me,
  meSet,
  keysCreate,
  keysList,
  keysRevoke,
  policiesPut,
  policiesGet,
  policiesList,
  policiesDelete,
  policiesDryRun,
  auditVerify,
  auditExport,
  mcp,
  mcpGateway,
];

const GROUPS: Record<string, string> = {
  keys: 'manage API keys (admin)',
  policies: 'manage operator policies (admin)',
  audit: 'verify and export audit trails',
};

const GLOBAL_FLAGS = new Set(['--json', '--help', '-h', '--version', '-V']);

/** Runs the CLI on `argv` (without `node` and the script) and returns the exit code. */
export async function run(argv: readonly string[], io: CliIo): Promise<ExitCode> {
  const args = [...argv];
  const leading = new Set<string>();
  while (args[0] !== undefined && GLOBAL_FLAGS.has(args[0])) leading.add(args.shift() as string);
  const ctx: Context = { io, json: leading.has('--json') || args.includes('--json') };

  try {
    if (leading.has('--version') || leading.has('-V')) {
      io.stdout(`${SDK_VERSION}\n`);
      return EXIT.OK;
    }
    let word = args[0];
    if (word === 'help') {
      args.shift();
      return help(ctx, args);
    }
    if (word === undefined) {
      io.stdout(`${mainHelp()}\n`);
      return leading.has('--help') || leading.has('-h') ? EXIT.OK : EXIT.USAGE;
    }
    if (leading.has('--help') || leading.has('-h')) args.push('--help');
    args.shift();
    // A command with subcommands of its own (`me`, `me set`).
    const sub = args[0];
    if (!(word in GROUPS) && COMMANDS.some((candidate) => candidate.name === `${word} ${sub}`)) {
      args.shift();
      word = `${word} ${sub}`;
    }
    if (word in GROUPS) {
      const sub = args[0];
      if (sub === undefined || sub === '--help' || sub === '-h' || sub.startsWith('-')) {
        io.stdout(`${groupHelp(word)}\n`);
        return sub === '--help' || sub === '-h' ? EXIT.OK : EXIT.USAGE;
      }
      args.shift();
      word = `${word} ${sub}`;
    }
    const command = COMMANDS.find((candidate) => candidate.name === word);
    if (!command) {
      throw usageError(`unknown command: ${clean(word)}`, [
        'Run `countersign --help` for the list.',
      ]);
    }
    const parsed = parse(command, args);
    if (parsed.values.help === true) {
      io.stdout(`${commandHelp(command)}\n`);
      return EXIT.OK;
    }
    return await command.run(ctx, parsed);
  } catch (error) {
    if (io.signal.aborted && !(error instanceof CliError)) {
      io.stderr('Interrupted.\n');
      return EXIT.INTERRUPTED;
    }
    reportError(ctx, error);
    return exitCodeOf(error);
  }
}

function parse(command: Command, argv: string[]): Args {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        ...command.options,
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    throw usageError(`${command.name}: ${(error as Error).message}`, [
      `Run \`countersign ${command.name} --help\`.`,
    ]);
  }
  const values: Record<string, string | boolean | string[] | undefined> = {};
  for (const [name, value] of Object.entries(parsed.values)) {
    values[name] =
      Array.isArray(value) && !command.options[name]?.multiple
        ? value.at(-1)
        : (value as string | boolean | string[]);
  }
  if (values.help !== true) {
    const count = parsed.positionals.length;
    const { min, max } = command.positionals;
    if (count < min || count > max) {
      throw usageError(
        count < min
          ? `${command.name} needs ${min === 1 ? 'an argument' : `${min} arguments`}: countersign ${command.synopsis}`
          : `${command.name} takes ${max === 0 ? 'no arguments' : `at most ${max}`}; unexpected: ${clean(parsed.positionals.slice(max).join(' '))}`,
        [`Run \`countersign ${command.name} --help\`.`],
      );
    }
  }
  return { values, positionals: parsed.positionals };
}

function help(ctx: Context, words: string[]): ExitCode {
  const [first, second] = words;
  if (first === undefined) {
    ctx.io.stdout(`${mainHelp()}\n`);
    return EXIT.OK;
  }
  if (first in GROUPS && second === undefined) {
    ctx.io.stdout(`${groupHelp(first)}\n`);
    return EXIT.OK;
  }
  const name = second === undefined ? first : `${first} ${second}`;
  const command = COMMANDS.find((candidate) => candidate.name === name);
  if (!command) throw usageError(`unknown command: ${clean(name)}`, ['Run `countersign --help`.']);
  ctx.io.stdout(`${commandHelp(command)}\n`);
  return EXIT.OK;
}

const EXIT_HELP = [
  'Exit codes:',
  '  0    done (for audit verify: the trail is intact)',
  '  1    usage: unknown command or option, missing argument (e.g. reject without -m)',
  '  2    refused by the API: not found (404), conflict such as already decided (409), invalid (400)',
  '  3    authentication: not logged in, unknown or revoked key (401), or a role without the right (403)',
  '  4    audit verify: the trail is broken',
  '  5    local: the config file or an output file cannot be read or written',
  '  6    unavailable: the API could not be reached, timed out, failed (5xx) or rate-limited (429); retry later',
  '  7    internal: an unexpected error in the CLI itself',
  '  130  interrupted (Ctrl-C); watch exits 0 on Ctrl-C',
];

function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((command) => command.name.length));
  return [
    `countersign ${SDK_VERSION}: review and decide what AI agents ask to do, from a terminal.`,
    '',
    'Usage: countersign <command> [options]',
    '',
    'Commands:',
    ...COMMANDS.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`),
    '',
    'Every command takes --json (machine-readable output; errors as JSON on stderr) and --help.',
    '',
    'Credentials: `countersign login` stores the API URL and key in $COUNTERSIGN_CONFIG, else',
    '~/.config/countersign/config.json (mode 0600). COUNTERSIGN_URL and COUNTERSIGN_API_KEY',
    'override the stored values.',
    '',
    ...EXIT_HELP,
  ].join('\n');
}

function groupHelp(group: string): string {
  const commands = COMMANDS.filter((command) => command.name.startsWith(`${group} `));
  const width = Math.max(...commands.map((command) => command.name.length));
  return [
    `countersign ${group}: ${GROUPS[group] ?? ''}`,
    '',
    `Usage: countersign ${group} <command> [options]`,
    '',
    'Commands:',
    ...commands.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`),
    '',
    `Run \`countersign ${group} <command> --help\` for one command.`,
  ].join('\n');
}

function commandHelp(command: Command): string {
  const options: [string, string][] = [
    ...command.optionHelp,
    ['--json', `print JSON: ${command.jsonHelp}`],
    ['-h, --help', 'show this help'],
  ];
  const width = Math.max(...options.map(([flags]) => flags.length));
  return [
    `Usage: countersign ${command.synopsis} [--json]`,
    '',
    command.description,
    '',
    'Options:',
    ...options.map(([flags, meaning]) => `  ${flags.padEnd(width)}  ${meaning}`),
    '',
    'Examples:',
    ...command.examples.map((example) => `  ${example}`),
    '',
    ...EXIT_HELP,
  ].join('\n');
}

/** Prints an error: a sentence, the API's code and status, the fields at fault, and a hint. */
function reportError(ctx: Context, error: unknown): void {
  const { io } = ctx;
  if (ctx.json) {
    io.stderr(`${JSON.stringify({ error: errorJson(error) })}\n`);
    return;
  }
  if (error instanceof CliError) {
    io.stderr(`error: ${error.message}\n`);
    for (const hint of error.hints) io.stderr(`  ${hint}\n`);
    return;
  }
  if (isCountersignError(error)) {
    const status = error.status === undefined ? '' : `, HTTP ${error.status}`;
    io.stderr(`error: ${clean(error.message)} [${clean(error.code)}${status}]\n`);
    for (const detail of error.details) {
      io.stderr(`  - ${clean(String(detail.field))}: ${clean(String(detail.message))}\n`);
    }
    if (error.intent) {
      io.stderr(
        `  ${clean(error.intent.id)} is ${clean(error.intent.status)}: ${describeDecision(error.intent, io.now())}\n`,
      );
    }
    if (error.status === 401) {
      io.stderr(
        '  The key is unknown or revoked: run `countersign login` again, or check COUNTERSIGN_API_KEY.\n',
      );
    } else if (error.status === 403) {
      io.stderr(
        '  This key may not do that: keys commands need an admin key; deciding needs a reviewer (or admin) key that is asked to decide this intent.\n',
      );
    } else if (error.status === undefined) {
      io.stderr('  Check the URL (countersign login --url ...) and that the service is running.\n');
    } else if (exitCodeOf(error) === EXIT.UNAVAILABLE) {
      io.stderr('  The service failed to answer this time; try again later.\n');
    }
    if (error.requestId) io.stderr(`  request id: ${clean(error.requestId)}\n`);
    return;
  }
  io.stderr(`error: ${error instanceof Error ? error.message : String(error)}\n`);
  io.stderr(
    '  This is a fault in countersign itself; please report it with the command you ran.\n',
  );
}

function errorJson(error: unknown): Record<string, unknown> {
  if (error instanceof CliError) {
    return { code: error.code, message: error.message, exit_code: error.exitCode };
  }
  if (isCountersignError(error)) {
    return {
      code: error.code,
      message: error.message,
      status: error.status ?? null,
      details: error.details,
      ...(error.intent ? { intent: error.intent } : {}),
      exit_code: exitCodeOf(error),
    };
  }
  return {
    code: 'internal',
    message: error instanceof Error ? error.message : String(error),
    exit_code: exitCodeOf(error),
  };
}
