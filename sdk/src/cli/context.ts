/**
 * What every command gets: where to write, the environment, the interrupt signal, and the exit
 * codes the CLI documents. Commands never touch `process` directly, so the whole CLI can run
 * in-process as well as from the binary.
 */
import { isCountersignError } from '../errors.js';
import { isTransient } from '../http.js';

/**
 * The exit codes of `countersign`, as documented in `countersign --help` and sdk/README.md. A
 * script acts on them: 2 means asking again will get the same answer, 6 that a retry later may
 * succeed, 7 that the CLI itself failed (worth a bug report).
 */
export const EXIT = {
  /** The command did what it was asked. */
  OK: 0,
  /** The command line is wrong: unknown command or option, a missing argument or value. */
  USAGE: 1,
  /** The API refused the request: a 4xx other than 401/403/408/429 (404, 409 already decided, 400). */
  REFUSED: 2,
  /** No credentials, or the API refused them: 401 (unknown or revoked key) or 403 (role). */
  AUTH: 3,
  /** `audit verify` found a broken trail. */
  VERIFY_FAILED: 4,
  /** A local problem: the config or an output file cannot be read or written. */
  LOCAL: 5,
  /** The service could not be reached, timed out, failed (5xx), was rate-limited (429), or broke the contract. */
  UNAVAILABLE: 6,
  /** An unexpected error inside the CLI. */
  INTERNAL: 7,
  /** Interrupted (Ctrl-C) before the command finished; `watch` exits 0 instead. */
  INTERRUPTED: 130,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export interface CliIo {
  /** Writes to standard output, as is (the caller adds newlines). */
  stdout(text: string): void;
  /** Writes to standard error, as is. */
  stderr(text: string): void;
  /** The environment: COUNTERSIGN_URL, COUNTERSIGN_API_KEY, COUNTERSIGN_CONFIG, HOME. */
  env: Readonly<Record<string, string | undefined>>;
  /** Aborts when the user presses Ctrl-C (SIGINT) or the process gets SIGTERM. */
  signal: AbortSignal;
  /** All of standard input, for `login --key -`. */
  readStdin(): Promise<string>;
  /** One line of standard input (null at its end), for a y/N question; else `readStdin`'s first. */
  readLine?(): Promise<string | null>;
  /** Now; injected so that relative times are testable. */
  now(): Date;
}

export interface Context {
  io: CliIo;
  /** `--json`: machine-readable output on stdout, errors as JSON on stderr. */
  json: boolean;
}

/** An error the CLI reports with its own message and exit code (usage, no credentials, ...). */
export class CliError extends Error {
  readonly exitCode: ExitCode;
  /** A snake_case code for `--json` error output, e.g. `usage` or `not_logged_in`. */
  readonly code: string;
  /** Extra lines printed under the message in human output. */
  readonly hints: string[];

  constructor(
    message: string,
    options: { exitCode: ExitCode; code: string; hints?: string[]; cause?: unknown },
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CliError';
    this.exitCode = options.exitCode;
    this.code = options.code;
    this.hints = options.hints ?? [];
  }
}

export function usageError(message: string, hints: string[] = []): CliError {
  return new CliError(message, { exitCode: EXIT.USAGE, code: 'usage', hints });
}

/**
 * The exit code an error deserves. What the SDK would retry (no answer, 5xx, 408, 429) is
 * unavailable, as is an answer outside the contract (a 2xx with a body it does not allow): the
 * service's fault, not the request's.
 */
export function exitCodeOf(error: unknown): ExitCode {
  if (error instanceof CliError) return error.exitCode;
  if (isCountersignError(error)) {
    const { status } = error;
    if (status === 401 || status === 403) return EXIT.AUTH;
    if (isTransient(error) || status === undefined || status < 400) return EXIT.UNAVAILABLE;
    return EXIT.REFUSED;
  }
  return EXIT.INTERNAL;
}

/** Writes one line to stdout. */
export function println(ctx: Context, line = ''): void {
  ctx.io.stdout(`${line}\n`);
}

/** Writes one line to stderr: progress, hints and summaries that scripts should not parse. */
export function eprintln(ctx: Context, line = ''): void {
  ctx.io.stderr(`${line}\n`);
}

/** Writes a value as JSON on stdout (indented: it is for people reading and for `jq`). */
export function printJson(ctx: Context, value: unknown): void {
  ctx.io.stdout(`${JSON.stringify(value, null, 2)}\n`);
}
