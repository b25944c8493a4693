import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { freePort } from '../../local/dynamodb-local';
import type { OutboxItem } from '../../local/outbox';
import type { LocalSettings } from '../../local/stack';
import { CountersignClient } from '../../sdk/src/index';
import { checkResponsesOf } from './openapi-responses';

export { freePort };

/**
 * Runs `npm start`'s entry point as a separate process group, as a user would, so that tests
 * can stop it gracefully or kill -9 the whole service (DynamoDB Local included) and restart it
 * on the same data.
 */
export interface StackProcess {
  url: string;
  /** The service's process group id (node and its DynamoDB Local JVM). */
  pid: number;
  dataDir: string;
  settings: LocalSettings;
  output: () => string;
  /** Resolves with node's exit code when the service exits (of itself or stopped). */
  exited: Promise<number | null>;
  stop(): Promise<void>;
  kill(): Promise<void>;
}

const ROOT = path.resolve(import.meta.dirname, '../..');
/** As `npm start` runs it (package.json): a bounded heap, so that garbage is collected early. */
const LOCAL_NODE_OPTIONS = ['--max-old-space-size=512'];

export function newDataDir(): string {
  return mkdtempSync(path.join(tmpdir(), 'countersign-e2e-'));
}

export function removeDataDir(dataDir: string): void {
  rmSync(dataDir, { recursive: true, force: true });
}

/**
 * Starts the stack; every answer it gives the test's `fetch` is then checked against its OpenAPI
 * document (`./openapi-responses.ts`). `env` adds variables (real-service settings, say); those a developer's own
 * shell may hold for their `npm start` (COUNTERSIGN_*) are not inherited.
 */
export async function startStack(
  dataDir: string,
  port?: number,
  env: Record<string, string> = {},
): Promise<StackProcess> {
  // A port found free can be taken by another test's stack before this one listens on it (the
  // test files run in parallel): then the stack exits with EADDRINUSE, and another port is tried.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startStackOn(dataDir, port ?? (await freePort()), env);
    } catch (error) {
      const taken = error instanceof PortTakenError;
      if (!taken || port !== undefined || attempt >= 4) throw error;
    }
  }
}

class PortTakenError extends Error {}

async function startStackOn(
  dataDir: string,
  chosenPort: number,
  env: Record<string, string>,
): Promise<StackProcess> {
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith('COUNTERSIGN_')),
  );
  const child = spawn(
    process.execPath,
    [...LOCAL_NODE_OPTIONS, '--import', 'tsx', 'local/start.ts'],
    {
      cwd: ROOT,
      env: {
        ...inherited,
        ...env,
        COUNTERSIGN_PORT: String(chosenPort),
        COUNTERSIGN_DATA_DIR: dataDir,
      },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
  });
  await waitFor(
    child,
    // The banner's last line: the whole banner has arrived, not only its first chunk.
    () => /Countersign is running at[\s\S]*\n {2}policies: /.test(output),
    () => output,
    90_000,
  );
  const settings = JSON.parse(
    readFileSync(path.join(dataDir, 'local.json'), 'utf8'),
  ) as LocalSettings;
  checkResponsesOf(settings.url);
  return {
    url: settings.url,
    pid: child.pid ?? 0,
    dataDir,
    settings,
    output: () => output,
    exited,
    stop: () => terminate(child, 'SIGTERM'),
    kill: () => terminate(child, 'SIGKILL'),
  };
}

async function waitFor(
  child: ChildProcess,
  ready: () => boolean,
  output: () => string,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ready()) {
    if (child.exitCode !== null) {
      const message = `the stack exited (${child.exitCode}):\n${output()}`;
      throw /could not start: listen EADDRINUSE/.test(output())
        ? new PortTakenError(message)
        : new Error(message);
    }
    if (Date.now() > deadline) throw new Error(`the stack did not start in time:\n${output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Signals the whole process group (node and its Java child) and waits for node to exit. */
async function terminate(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    process.kill(-child.pid, signal);
  } catch {
    return;
  }
  await exited;
  if (signal === 'SIGKILL') {
    // Give the kernel a moment to release DynamoDB Local's port and file locks.
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}

export async function until<T>(
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs: number,
  what: string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Everything the local stand-ins sent so far, oldest first (`GET /_local/outbox`). */
export async function outboxItems(
  stack: Pick<StackProcess, 'url' | 'settings'>,
): Promise<OutboxItem[]> {
  const response = await fetch(`${stack.url}/_local/outbox`, {
    headers: { Authorization: `Bearer ${stack.settings.api_keys.admin}` },
  });
  if (!response.ok) throw new Error(`GET /_local/outbox answered ${response.status}`);
  return ((await response.json()) as { items: OutboxItem[] }).items;
}

/**
 * Reviewer clients by email, each with a reviewer key made once through the admin key. `current`
 * gives the running stack, which a test may have restarted (same URL, same keys).
 */
export function reviewerClients(
  current: () => Pick<StackProcess, 'url' | 'settings'>,
): (email: string) => Promise<CountersignClient> {
  const clients = new Map<string, Promise<CountersignClient>>();
  return (email) => {
    let client = clients.get(email);
    if (!client) {
      const { url, settings } = current();
      const admin = new CountersignClient({ baseUrl: url, apiKey: settings.api_keys.admin });
      client = admin
        .createKey({ role: 'reviewer', principal: email })
        .then(({ key }) => new CountersignClient({ baseUrl: url, apiKey: key }));
      clients.set(email, client);
    }
    return client;
  };
}

/**
 * One HTTP request with the given headers as sent (fetch replaces `Host`): how a page reached
 * through DNS rebinding calls a loopback server under its own host name.
 */
export function rawRequest(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      url,
      { method: options.method ?? 'GET', headers: options.headers },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        response.on('error', reject);
      },
    );
    request.on('error', reject);
    request.end(options.body);
  });
}

/** The processes of a process group (the stack's node and its JVM), from /proc. */
export function processGroupMembers(groupId: number): number[] {
  const members: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // Fields after the command name, which is in parentheses and may hold spaces.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === groupId) members.push(Number(entry));
    } catch {
      // The process ended while listed.
    }
  }
  return members;
}

/**
 * The TCP sockets the given processes listen on, read from /proc (the sockets among their file
 * descriptors, matched by inode against /proc/net/tcp and tcp6). Addresses are shown as
 * `ss` shows them: `127.0.0.1`, `::ffff:127.0.0.1`, `::`, `0.0.0.0`.
 */
export function listeningSockets(pids: number[]): { address: string; port: number }[] {
  const inodes = new Set<string>();
  for (const pid of pids) {
    let fds: string[] = [];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const target = readlinkSync(`/proc/${pid}/fd/${fd}`);
        const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
        if (inode) inodes.add(inode);
      } catch {
        // Closed while listed.
      }
    }
  }
  const sockets: { address: string; port: number }[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const columns = line.trim().split(/\s+/);
      const [local, state, inode] = [columns[1], columns[3], columns[9]];
      if (!local || state !== '0A' || !inode || !inodes.has(inode)) continue;
      const [hexAddress = '', hexPort = ''] = local.split(':');
      sockets.push({ address: procAddress(hexAddress), port: Number.parseInt(hexPort, 16) });
    }
  }
  return sockets;
}

/** An address of /proc/net/tcp(6): 32-bit words in host (little-endian) byte order. */
function procAddress(hex: string): string {
  const words = hex.match(/.{8}/g) ?? [];
  const bytes = words.flatMap((word) =>
    (word.match(/../g) ?? []).reverse().map((b) => parseInt(b, 16)),
  );
  if (bytes.length === 4) return bytes.join('.');
  const isMapped =
    bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 255 && bytes[11] === 255;
  if (isMapped) return `::ffff:${bytes.slice(12).join('.')}`;
  const groups: string[] = [];
  for (let index = 0; index < 16; index += 2) {
    groups.push((((bytes[index] ?? 0) << 8) | (bytes[index + 1] ?? 0)).toString(16));
  }
  return groups.join(':').replace(/(^|:)0(:0)+(:|$)/, '::');
}

/** Whether a listening address can be reached from this machine only. */
export function isLoopbackAddress(address: string): boolean {
  return (
    address === '127.0.0.1' ||
    address === '::ffff:127.0.0.1' ||
    address === '::1' ||
    address === '0:0:0:0:0:0:0:1'
  );
}

/** The pid of the stack's DynamoDB Local JVM, as the stack records it. */
export function dynamoDbLocalPid(stack: Pick<StackProcess, 'dataDir'>): number {
  return Number(readFileSync(path.join(stack.dataDir, 'dynamodb', 'dynamodb-local.pid'), 'utf8'));
}
