import type { ParseArgsOptionsConfig } from 'node:util';
import { CountersignClient } from '../client.js';
import { SDK_VERSION } from '../version.js';
import { type Credentials, loadCredentials } from './config.js';
import { type Context, type ExitCode, usageError } from './context.js';

/** The parsed command line of one command. */
export interface Args {
  values: Readonly<Record<string, string | boolean | readonly string[] | undefined>>;
  positionals: readonly string[];
}

/** One command of the CLI: how it parses, how it is documented, and what it does. */
export interface Command {
  /** The words that name it, e.g. `keys create`. */
  name: string;
  /** One line for the command list. */
  summary: string;
  /** The synopsis after `countersign `, e.g. `approve <id> [-m <comment>]`. */
  synopsis: string;
  /** Paragraph(s) for `--help`. */
  description: string;
  /** Options besides the global `--json` and `--help`. */
  options: ParseArgsOptionsConfig;
  /** Help lines for `options`: [flags, meaning]. */
  optionHelp: [string, string][];
  /** What `--json` prints. */
  jsonHelp: string;
  positionals: { min: number; max: number };
  examples: string[];
  run(ctx: Context, args: Args): Promise<ExitCode>;
}

/** A string option's value, or `undefined`. */
export function stringOption(args: Args, name: string): string | undefined {
  const value = args.values[name];
  return typeof value === 'string' ? value : undefined;
}

/** Every value of an option that may be given several times (`multiple: true`). */
export function listOption(args: Args, name: string): readonly string[] {
  const value = args.values[name];
  if (Array.isArray(value)) return value;
  return typeof value === 'string' ? [value] : [];
}

export function requiredOption(args: Args, name: string, command: string): string {
  const value = stringOption(args, name);
  if (value === undefined || value.trim() === '') {
    throw usageError(`${command} needs --${name}.`, [`Run \`countersign ${command} --help\`.`]);
  }
  return value;
}

/** The first positional, which {@link Command.positionals} guarantees. */
export function firstPositional(args: Args): string {
  const value = args.positionals[0];
  if (value === undefined) throw usageError('missing argument');
  return value;
}

/** A client for the logged-in (or environment) credentials. */
export async function connect(
  ctx: Context,
): Promise<{ client: CountersignClient; credentials: Credentials }> {
  const credentials = await loadCredentials(ctx);
  return { client: clientFor(credentials), credentials };
}

export function clientFor(credentials: Credentials): CountersignClient {
  return new CountersignClient({
    baseUrl: credentials.url,
    apiKey: credentials.apiKey,
    userAgent: `countersign-cli/${SDK_VERSION}`,
  });
}
