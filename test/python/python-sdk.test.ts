import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { sealEvents } from '../../lambdas/domain/audit';
import { CountersignClient, canonicalize, GENESIS_HASH, type Intent } from '../../sdk/src/index';
import {
  newDataDir,
  removeDataDir,
  reviewerClients,
  type StackProcess,
  startStack,
  until,
} from '../e2e/harness';

/**
 * The Python SDK (`python/`) in `npm test`: its unittest suite, `mypy --strict` on the package,
 * a cross-check of its RFC 8785 canonicalization and hash chain against the TypeScript SDK's on
 * random JSON, and its end-to-end tests against a local stack, including a wait and
 * `@require_approval` tools (approved, rejected) across a restart of the whole stack. Python 3.9+ and Debian's `mypy` are needed (.ci/run installs mypy).
 */
const PYTHON_DIR = path.resolve(import.meta.dirname, '../../python');
const PYTHON = process.env.PYTHON ?? 'python3';

interface Run {
  code: number | null;
  output: string;
  stdout: string;
}

/** Runs a command in python/ with only the given COUNTERSIGN_* variables, killing it on timeout. */
function run(
  command: string,
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 120_000,
): Promise<Run> {
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith('COUNTERSIGN_')),
  );
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: PYTHON_DIR,
      env: { ...inherited, PYTHONDONTWRITEBYTECODE: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
      stdout += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    const timer = setTimeout(() => {
      output += `\n[killed after ${timeoutMs} ms]`;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`could not run ${command}: ${error.message}`));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output, stdout });
    });
  });
}

/** `{code, output}` so that a failure shows what Python printed. */
function outcome(result: Run): { code: number | null; output: string } {
  return { code: result.code, output: result.code === 0 ? '' : result.output };
}

describe('python SDK: unit tests and types', () => {
  it('passes its unittest suite (scripted HTTP server, JCS vectors, require_approval)', async () => {
    const result = await run(PYTHON, ['-m', 'unittest', 'discover', '-s', 'tests', '-t', '.']);
    expect(outcome(result)).toEqual({ code: 0, output: '' });
    expect(result.output).toMatch(/Ran (\d{2,}) tests/);
  });

  it('is clean under mypy --strict, and keeps its types for callers', async () => {
    const which = await run('sh', ['-c', 'command -v mypy'], {}, 10_000);
    if (which.code !== 0) {
      throw new Error(
        'mypy is missing: install Debian\'s with "apt-get install -y mypy" (.ci/run does so).',
      );
    }
    // The cache goes to a scratch directory: nothing is written into the repository.
    const cacheDir = mkdtempSync(path.join(tmpdir(), 'countersign-mypy-'));
    try {
      const result = await run(
        'mypy',
        // tests/typing_usage.py: the seed and @require_approval as callers write them.
        ['--strict', '--cache-dir', cacheDir, 'countersign', 'tests/typing_usage.py'],
        {},
        240_000,
      );
      expect(outcome(result)).toEqual({ code: 0, output: '' });
    } finally {
      rmSync(cacheDir, { recursive: true, force: true });
    }
  }, 300_000);
});

describe('python SDK: the same canonical JSON and hashes as the TypeScript SDK', () => {
  const scratch = mkdtempSync(path.join(tmpdir(), 'countersign-py-jcs-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('canonicalizes random JSON exactly as canonicalize() does', async () => {
    const values = fc.sample(fc.jsonValue({ stringUnit: 'binary' }), 300);
    values.push(...fc.sample(fc.jsonValue({ stringUnit: 'grapheme' }), 200));
    const expected = values.map((value) => canonicalize(value));
    const input = path.join(scratch, 'values.jsonl');
    writeFileSync(input, values.map((value) => JSON.stringify(value)).join('\n'));
    const result = await run(PYTHON, [
      '-c',
      `import json, sys
from countersign import canonicalize
for line in open(sys.argv[1], encoding="utf-8"):
    print(json.dumps(canonicalize(json.loads(line))))`,
      input,
    ]);
    expect(outcome(result)).toEqual({ code: 0, output: '' });
    const actual = result.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as string);
    expect(actual).toHaveLength(expected.length);
    for (const [index, canonical] of expected.entries()) {
      expect({ value: values[index], canonical: actual[index] }).toEqual({
        value: values[index],
        canonical,
      });
    }
  });

  it('verifies trails the server seals, and finds an altered event in each', async () => {
    const data = fc.sample(fc.dictionary(fc.string(), fc.jsonValue()), 60);
    const at = '2026-11-24T09:00:00.000Z';
    const trails = Array.from({ length: 20 }, (_, n) =>
      sealEvents(
        { event_count: 0, last_event_hash: GENESIS_HASH },
        data.slice(n * 3, n * 3 + 3).map((eventData, k) => ({
          type: k === 0 ? 'created' : 'notified',
          at,
          actor: `agent://trail/${n}`,
          channel: 'api',
          data: eventData,
        })),
      ),
    );
    const input = path.join(scratch, 'trails.json');
    writeFileSync(input, JSON.stringify(trails));
    const result = await run(PYTHON, [
      '-c',
      `import json, sys
from countersign import verify_events
for trail in json.load(open(sys.argv[1], encoding="utf-8")):
    intact = verify_events(trail["events"], trail)
    trail["events"][1]["actor"] = "someone else"
    altered = verify_events(trail["events"], trail)
    print(json.dumps([intact.ok, intact.intact_count, altered.problem, altered.seq]))`,
      input,
    ]);
    expect(outcome(result)).toEqual({ code: 0, output: '' });
    const lines = result.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as unknown);
    expect(lines).toEqual(trails.map(() => [true, 3, 'hash', 2]));
  });
});

describe('python SDK: end to end on the local stack', () => {
  let stack: StackProcess | undefined;
  let dataDir: string | undefined;
  const reviewer = reviewerClients(() => {
    if (!stack) throw new Error('no stack');
    return stack;
  });

  afterAll(async () => {
    await stack?.stop();
    if (dataDir) removeDataDir(dataDir);
  });

  function pythonEnv(current: StackProcess, extra: Record<string, string> = {}) {
    return {
      COUNTERSIGN_URL: current.url,
      COUNTERSIGN_API_KEY: current.settings.api_keys.agent,
      COUNTERSIGN_ADMIN_KEY: current.settings.api_keys.admin,
      ...extra,
    };
  }

  it('passes the e2e module: the seed verbatim, typed errors, require_approval, asyncio', async () => {
    dataDir = newDataDir();
    stack = await startStack(dataDir);
    const result = await run(
      PYTHON,
      ['-m', 'unittest', '-v', 'tests_e2e.test_local_stack'],
      pythonEnv(stack),
      150_000,
    );
    expect(outcome(result)).toEqual({ code: 0, output: '' });
    expect(result.output).toMatch(/Ran 6 tests/);
    expect(result.output).not.toMatch(/skipped/);
  }, 240_000);

  it('keeps waiting while the stack is stopped and restarted: wait_for and @require_approval', async () => {
    if (!stack || !dataDir) {
      dataDir = newDataDir();
      stack = await startStack(dataDir);
    }
    const port = Number(new URL(stack.url).port);
    const signalFile = path.join(dataDir, 'python-waiting');
    // Notes when a process ends, so that a wait for it to start waiting fails at once.
    const running = (command: Promise<Run>) => {
      const state: { exited?: Run } = {};
      void command.then((result) => {
        state.exited = result;
      });
      return state;
    };
    const waiting = run(
      PYTHON,
      ['-m', 'tests_e2e.wait_across_restart'],
      pythonEnv(stack, { COUNTERSIGN_E2E_SIGNAL_FILE: signalFile }),
      240_000,
    );
    const waitingState = running(waiting);
    // Two @require_approval tools, one to be approved and one rejected after the restart.
    const tools = new Map(
      ['approve', 'reject'].map((decision) => {
        const toAgent = `agent://e2e/python/require-approval-${decision}`;
        const call = run(
          PYTHON,
          ['-m', 'tests_e2e.require_approval_across_restart'],
          pythonEnv(stack as StackProcess, { COUNTERSIGN_E2E_TO_AGENT: toAgent }),
          240_000,
        );
        return [decision, { toAgent, call, state: running(call) }] as const;
      }),
    );
    const admin = new CountersignClient({
      baseUrl: stack.url,
      apiKey: stack.settings.api_keys.admin,
    });
    const intentsTo = async (toAgent: string) => {
      const found: Intent[] = [];
      for await (const intent of admin.iterateIntents({ limit: 100 })) {
        if (intent.to_agent === toAgent) found.push(intent);
      }
      return found;
    };
    const intentId = await until(
      () => {
        if (existsSync(signalFile)) return readFileSync(signalFile, 'utf8');
        if (waitingState.exited) {
          throw new Error(`the Python side ended before waiting:\n${waitingState.exited.output}`);
        }
        return undefined;
      },
      60_000,
      'the Python side to send its intent and start waiting',
    );
    const toolIntents = new Map<string, Intent>();
    for (const [decision, { toAgent, state }] of tools) {
      const [intent] = await until(
        async () => {
          if (state.exited) throw new Error(`${toAgent} ended early:\n${state.exited.output}`);
          const found = await intentsTo(toAgent);
          return found.length > 0 ? found : undefined;
        },
        60_000,
        `the @require_approval tool to send its intent to ${toAgent}`,
      );
      toolIntents.set(decision, intent as Intent);
    }

    await stack.stop();
    stack = await startStack(dataDir, port);
    const cfo = await reviewer('cfo@company.com');
    const decided = await cfo.approve(intentId, 'approved after the restart');
    expect(decided.status).toBe('approved');
    await cfo.approve(String(toolIntents.get('approve')?.id), 'Go ahead');
    await cfo.reject(String(toolIntents.get('reject')?.id), 'Not before the audit');

    const result = await waiting;
    expect(outcome(result)).toEqual({ code: 0, output: '' });
    expect(JSON.parse(result.stdout.trim())).toEqual({ id: intentId, status: 'approved' });
    // Approved: the tool ran once, with its arguments. Rejected: it never ran, and the sentence
    // an agent's model reads carries the reviewer's reason. One intent each, across the restart.
    const approved = await tools.get('approve')?.call;
    const rejected = await tools.get('reject')?.call;
    expect(outcome(approved as Run)).toEqual({ code: 0, output: '' });
    expect(JSON.parse(String(approved?.stdout).trim())).toEqual({
      sent: [{ to: 'board@company.com', subject: 'Q1 results' }],
      seen: 'sent to board@company.com: Q1 results',
    });
    expect(outcome(rejected as Run)).toEqual({ code: 0, output: '' });
    expect(JSON.parse(String(rejected?.stdout).trim())).toEqual({
      sent: [],
      seen: 'cfo@company.com rejected send_email: Not before the audit',
    });
    for (const { toAgent } of tools.values()) expect(await intentsTo(toAgent)).toHaveLength(1);
  }, 300_000);
});
