import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';

/**
 * Runs the real `countersign` binary as a user would: the SDK package compiled by its own build
 * (sdk/tsconfig.build.json, what `npm publish` ships as `bin`), started with plain node.
 */
export const ROOT = path.resolve(import.meta.dirname, '../..');

let entry: string | undefined;
let buildDir: string | undefined;

/** Compiles the SDK once into a temporary directory; returns the binary's path. */
export async function buildCli(): Promise<string> {
  buildDir = mkdtempSync(path.join(tmpdir(), 'countersign-sdk-build-'));
  await promisify(execFile)(
    process.execPath,
    [
      path.join(ROOT, 'node_modules/typescript/bin/tsc'),
      '-p',
      'sdk/tsconfig.build.json',
      '--outDir',
      buildDir,
    ],
    { cwd: ROOT },
  );
  entry = path.join(buildDir, 'cli/main.js');
  return entry;
}

export function removeBuild(): void {
  if (buildDir) rmSync(buildDir, { recursive: true, force: true });
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** The whole environment of the CLI besides PATH: nothing leaks in from the test runner. */
  env: Record<string, string>;
  input?: string;
}

export function spawnCli(args: string[], options: CliOptions): ChildProcess {
  if (!entry) throw new Error('buildCli() first');
  return spawn(process.execPath, [entry, ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

export async function cli(args: string[], options: CliOptions): Promise<CliResult> {
  const child = spawnCli(args, options);
  return collect(child, options.input);
}

/** For `collect`: leave standard input open, for the test to answer a question later. */
export const KEEP_STDIN_OPEN = Symbol('keep stdin open');

export function collect(
  child: ChildProcess,
  input?: string | typeof KEEP_STDIN_OPEN,
): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  if (input !== KEEP_STDIN_OPEN) child.stdin?.end(input ?? '');
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A minimal RFC 4180 reader for checking the CSV export: quoted fields, "" escapes, CRLF. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i += 1) {
    const char = text[i];
    if (quoted) {
      if (char === '"' && text[i + 1] === '"') {
        field += '"';
        i += 1;
      } else if (char === '"') {
        quoted = false;
      } else {
        field += char;
      }
    } else if (char === '"') {
      quoted = true;
    } else if (char === ',') {
      row.push(field);
      field = '';
    } else if (char === '\r' && text[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i += 1;
    } else {
      field += char;
    }
  }
  if (field !== '' || row.length > 0) throw new Error('the CSV does not end with CRLF');
  return rows;
}
