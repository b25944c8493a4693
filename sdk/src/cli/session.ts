/** `login` and `logout`. */
import { isCountersignError } from '../errors.js';
import { type Args, type Command, clientFor, stringOption } from './command.js';
import { checkUrl, configPath, removeCredentials, saveCredentials } from './config.js';
import {
  CliError,
  type Context,
  EXIT,
  type ExitCode,
  exitCodeOf,
  printJson,
  println,
  usageError,
} from './context.js';

export const login: Command = {
  name: 'login',
  summary: 'store the API URL and key for the other commands',
  synopsis: 'login --url <api url> --key <api key | ->',
  description: [
    'Checks the key against the API, then stores the URL and the key in the config file',
    '($COUNTERSIGN_CONFIG, else ~/.config/countersign/config.json), readable only by you (0600).',
    'Nothing is stored when the API refuses the key or cannot be reached.',
    '',
    'Pass `--key -` to read the key from standard input, so that it stays out of your shell',
    'history and the process list. COUNTERSIGN_URL and COUNTERSIGN_API_KEY are used when',
    '--url or --key are left out, and always override the stored values in other commands.',
  ].join('\n'),
  options: { url: { type: 'string' }, key: { type: 'string' } },
  optionHelp: [
    ['--url <url>', 'the API, e.g. http://127.0.0.1:4700 or an API Gateway stage URL'],
    ['--key <key>', 'an API key (csk_...); `-` reads it from standard input'],
  ],
  jsonHelp: '{"url": ..., "config": <config file path>}',
  positionals: { min: 0, max: 0 },
  examples: [
    'countersign login --url http://127.0.0.1:4700 --key "$REVIEWER_KEY"',
    'pass show countersign | countersign login --url https://api.example.com/prod --key -',
  ],
  async run(ctx: Context, args: Args): Promise<ExitCode> {
    const { env } = ctx.io;
    const url = (stringOption(args, 'url') ?? env.COUNTERSIGN_URL)?.trim();
    let key = stringOption(args, 'key') ?? env.COUNTERSIGN_API_KEY;
    if (!url) throw usageError('login needs --url <api url>.');
    if (key === '-') key = (await ctx.io.readStdin()).trim();
    if (!key?.trim())
      throw usageError('login needs --key <api key> (or --key - to read it from stdin).');
    checkUrl(url);
    const credentials = { url: url.replace(/\/+$/, ''), apiKey: key.trim() };
    try {
      // Any role may list (an agent its own intents, a reviewer its own), so this proves the key.
      await clientFor(credentials).listIntents({ limit: 1 }, { signal: ctx.io.signal });
    } catch (error) {
      if (isCountersignError(error) && (error.status === 401 || error.status === 403)) {
        throw new CliError(`The API at ${credentials.url} refused the key: ${error.message}`, {
          exitCode: EXIT.AUTH,
          code: error.code,
          hints: ['Nothing was saved. Check the key, or ask an admin for a new one.'],
          cause: error,
        });
      }
      if (isCountersignError(error)) {
        throw new CliError(`Cannot log in to ${credentials.url}: ${error.message}`, {
          exitCode: exitCodeOf(error),
          code: error.code,
          hints: ['Nothing was saved.'],
          cause: error,
        });
      }
      throw error;
    }
    const file = configPath(env);
    await saveCredentials(file, credentials);
    if (ctx.json) printJson(ctx, { url: credentials.url, config: file });
    else
      println(
        ctx,
        `Logged in to ${credentials.url}. The key is stored in ${file} (readable only by you).`,
      );
    return EXIT.OK;
  },
};

export const logout: Command = {
  name: 'logout',
  summary: 'forget the stored URL and key',
  synopsis: 'logout',
  description:
    'Deletes the config file that `countersign login` wrote. The key itself stays valid: revoke it with `countersign keys revoke <id>`.',
  options: {},
  optionHelp: [],
  jsonHelp: '{"config": <path>, "removed": true|false}',
  positionals: { min: 0, max: 0 },
  examples: ['countersign logout'],
  async run(ctx: Context): Promise<ExitCode> {
    const file = configPath(ctx.io.env);
    const removed = await removeCredentials(file);
    if (ctx.json) printJson(ctx, { config: file, removed });
    else println(ctx, removed ? `Removed ${file}.` : `Not logged in (there is no ${file}).`);
    return EXIT.OK;
  },
};
