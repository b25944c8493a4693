/**
 * Where the CLI keeps the API URL and key: `$COUNTERSIGN_CONFIG`, else
 * `$XDG_CONFIG_HOME/countersign/config.json`, else `~/.config/countersign/config.json`. The
 * file holds a secret, so it is written readable by its owner only (0600, in a 0700 directory),
 * atomically, and the CLI warns when it finds it readable by others.
 */
import { chmod, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import * as path from 'node:path';
import { CliError, type Context, EXIT } from './context.js';

export interface Credentials {
  url: string;
  apiKey: string;
}

interface StoredConfig {
  url: string;
  api_key: string;
}

export function configPath(env: Readonly<Record<string, string | undefined>>): string {
  const explicit = env.COUNTERSIGN_CONFIG;
  if (explicit) return path.resolve(explicit);
  const base = env.XDG_CONFIG_HOME || path.join(env.HOME || homedir(), '.config');
  return path.join(base, 'countersign', 'config.json');
}

/**
 * The URL and key to use: `COUNTERSIGN_URL` and `COUNTERSIGN_API_KEY` override, one by one, what
 * `countersign login` stored.
 */
export async function loadCredentials(ctx: Context): Promise<Credentials> {
  const { env } = ctx.io;
  const file = configPath(env);
  const stored = await readConfig(ctx, file);
  const url = env.COUNTERSIGN_URL || stored?.url;
  const apiKey = env.COUNTERSIGN_API_KEY || stored?.api_key;
  if (!url || !apiKey) {
    throw new CliError('Not logged in: no API URL and key.', {
      exitCode: EXIT.AUTH,
      code: 'not_logged_in',
      hints: [
        'Run `countersign login --url <api url> --key <api key>`,',
        'or set COUNTERSIGN_URL and COUNTERSIGN_API_KEY.',
      ],
    });
  }
  checkUrl(url);
  return { url, apiKey };
}

export function checkUrl(url: string): void {
  let protocol: string | undefined;
  try {
    protocol = new URL(url).protocol;
  } catch {
    protocol = undefined;
  }
  if (protocol !== 'http:' && protocol !== 'https:') {
    throw new CliError(`The API URL ${JSON.stringify(url)} is not an absolute http(s) URL.`, {
      exitCode: EXIT.USAGE,
      code: 'usage',
    });
  }
}

async function readConfig(ctx: Context, file: string): Promise<StoredConfig | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CliError(`Cannot read ${file}: ${(error as Error).message}`, {
      exitCode: EXIT.LOCAL,
      code: 'config_unreadable',
    });
  }
  await warnIfShared(ctx, file);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (
    typeof parsed !== 'object' ||
    parsed === null ||
    typeof (parsed as Record<string, unknown>).url !== 'string' ||
    typeof (parsed as Record<string, unknown>).api_key !== 'string'
  ) {
    throw new CliError(`${file} is not a countersign config file.`, {
      exitCode: EXIT.LOCAL,
      code: 'config_invalid',
      hints: ['Run `countersign login` again to rewrite it.'],
    });
  }
  const { url, api_key } = parsed as StoredConfig;
  return { url, api_key };
}

/** Like ssh with a private key: say so when others can read the file, but carry on. */
async function warnIfShared(ctx: Context, file: string): Promise<void> {
  if (process.platform === 'win32') return;
  try {
    const { mode } = await stat(file);
    if ((mode & 0o077) !== 0) {
      ctx.io.stderr(
        `warning: ${file} holds an API key and is readable by other users; run: chmod 600 ${file}\n`,
      );
    }
  } catch {
    // It was readable a moment ago; a race with a deletion is not worth a warning.
  }
}

/** Stores the credentials, readable by the owner only, replacing the file atomically. */
export async function saveCredentials(file: string, credentials: Credentials): Promise<void> {
  const stored: StoredConfig = { url: credentials.url, api_key: credentials.apiKey };
  const directory = path.dirname(file);
  const temporary = path.join(directory, `.${path.basename(file)}.${process.pid}.tmp`);
  try {
    await mkdir(directory, { recursive: true, mode: 0o700 });
    // Created 0600 from the start (`wx`: never reusing a leftover file with other permissions),
    // so the key is never on disk readable by anyone else.
    await rm(temporary, { force: true });
    await writeFile(temporary, `${JSON.stringify(stored, null, 2)}\n`, {
      mode: 0o600,
      flag: 'wx',
    });
    await chmod(temporary, 0o600);
    await rename(temporary, file);
  } catch (error) {
    await rm(temporary, { force: true });
    throw new CliError(`Cannot write ${file}: ${(error as Error).message}`, {
      exitCode: EXIT.LOCAL,
      code: 'config_unwritable',
    });
  }
}

/** Forgets the stored credentials. Returns whether there were any. */
export async function removeCredentials(file: string): Promise<boolean> {
  try {
    await rm(file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw new CliError(`Cannot remove ${file}: ${(error as Error).message}`, {
      exitCode: EXIT.LOCAL,
      code: 'config_unwritable',
    });
  }
}
