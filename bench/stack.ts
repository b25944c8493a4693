/**
 * `npm run bench`: the whole local stack measured as users feel it. Prints a table and, last,
 * one JSON line. Targets (2-core machine): decision-to-resume p99 <= 100 ms, a create rate that
 * does not drop (DynamoDB Local on two cores allows about 50 to 100 a second), < 1 GB for 10,000 pending intents, serving again within 15 s of kill -9.
 *
 * BENCH_PENDING (default 10000) sets how many intents are kept pending for the memory and
 * restart measurements. Decision-to-resume is measured twice: with the TypeScript SDK's
 * `waitFor` in this process, and with the Python SDK's `wait_for` (bench/python-waiters.py,
 * 200 threads in one Python process), each against the same target.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import WebSocket from 'ws';
import {
  CountersignClient,
  type CreateIntentRequest,
  type WaitSocketConstructor,
} from '../sdk/src/index';
import {
  newDataDir,
  outboxItems,
  removeDataDir,
  type StackProcess,
  startStack,
  until,
} from '../test/e2e/harness';

const PENDING = Number(process.env.BENCH_PENDING ?? 10_000);
const AGENTS = 20;
const WAITERS = 200;
/** Creates run this long; DynamoDB Local's JVM takes most of a minute to compile its hot paths. */
const CREATE_SECONDS = 60;
/** The steady rate is that of the last seconds of the run. */
const STEADY_SECONDS = 15;

const intentBody = (n: number, reviewer: string): CreateIntentRequest => ({
  intent_type: 'intent.bench.v1',
  to_agent: 'agent://bench/agent',
  summary: `Bench intent ${n}`,
  payload: { n, reviewer },
  policy: { remind_after: ['1h'], timeout: { after: '2d' } },
});

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, index)] ?? Number.NaN;
}

/** Resident memory of every process in the stack's process group (node and the JVM), in MB. */
function groupRssMb(pgid: number): number {
  let pages = 0;
  const parts: string[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // After the command: state(0) ppid(1) pgrp(2) ... rss is field 24 of stat, index 21 here.
      if (Number(fields[2]) !== pgid) continue;
      pages += Number(fields[21]);
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      parts.push(`${name} ${Math.round((Number(fields[21]) * 4096) / 1024 / 1024)} MB`);
    } catch {
      // The process ended while we looked.
    }
  }
  process.stderr.write(`  resident memory: ${parts.join(', ')}\n`);
  return Math.round((pages * 4096) / 1024 / 1024);
}

async function pool<T>(count: number, work: (worker: number) => Promise<T>): Promise<T[]> {
  return Promise.all(Array.from({ length: count }, (_, worker) => work(worker)));
}

/** Creates with 20 agents for `seconds`; answers how many completed in each second. */
async function measureCreates(agent: CountersignClient, seconds: number): Promise<number[]> {
  const started = Date.now();
  const until = started + seconds * 1000;
  const perSecond = Array.from({ length: seconds }, () => 0);
  let created = 0;
  await pool(AGENTS, async (worker) => {
    while (Date.now() < until) {
      await agent.sendIntent(intentBody(worker * 1_000_000 + created, 'bench@company.com'));
      created += 1;
      const second = Math.floor((Date.now() - started) / 1000);
      if (second < seconds) perSecond[second] = (perSecond[second] ?? 0) + 1;
    }
  });
  return perSecond;
}

const rate = (counts: number[]) => counts.reduce((sum, n) => sum + n, 0) / counts.length;

async function measureResume(
  stack: StackProcess,
  agent: CountersignClient,
  reviewer: CountersignClient,
): Promise<number[]> {
  const ids = await waitingIntents(stack, agent);
  const resumed = new Map<string, number>();
  const waits = ids.map((id) =>
    agent.waitFor(id, { timeoutMs: 120_000 }).then(() => resumed.set(id, performance.now())),
  );
  const latencies = await decideOneByOne(ids, reviewer, resumed, () => performance.now());
  await Promise.all(waits);
  return latencies;
}

/**
 * Lets every waiter's long poll reach the server, then approves the intents one by one and
 * times each from the decision to its waiter's return (`resumed`, on the clock `now` reads).
 */
async function decideOneByOne(
  ids: string[],
  reviewer: CountersignClient,
  resumed: Map<string, number>,
  now: () => number,
): Promise<number[]> {
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const latencies: number[] = [];
  for (const id of ids) {
    const decidedAt = now();
    await reviewer.decide(id, { outcome: 'approve' });
    while (!resumed.has(id)) await new Promise((resolve) => setImmediate(resolve));
    latencies.push((resumed.get(id) ?? decidedAt) - decidedAt);
  }
  return latencies.sort((a, b) => a - b);
}

async function fillPending(agent: CountersignClient, target: number, existing: number) {
  let next = existing;
  await pool(AGENTS, async () => {
    while (next < target) {
      next += 1;
      await agent.sendIntent(intentBody(next, 'pending@company.com'));
    }
  });
}

async function waitServing(url: string, agentKey: string, probeId: string): Promise<void> {
  const agent = new CountersignClient({ baseUrl: url, apiKey: agentKey });
  for (;;) {
    try {
      const intent = await agent.getIntent(probeId);
      if (intent.status === 'pending') return;
    } catch {
      // Not serving yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Creates the 200 intents to wait on, and waits until their first notices went out. */
async function waitingIntents(stack: StackProcess, agent: CountersignClient): Promise<string[]> {
  const ids = await pool(WAITERS, (n) => agent.sendIntent(intentBody(n, 'reviewer@company.com')));
  // 200 agents waiting, not 200 being created: let the first notices go out before deciding.
  await until(
    async () => {
      const notified = new Set((await outboxItems(stack)).map((item) => item.intent_id));
      return ids.every((id) => notified.has(id)) ? true : undefined;
    },
    120_000,
    'the first notices of the waiting intents',
  );
  return ids;
}

/**
 * Decision-to-resume with the Python SDK: one Python process waits on the 200 intents, and
 * reports when each `wait_for` returned (wall-clock milliseconds, the same clock as Date.now).
 */
async function measurePythonResume(
  stack: StackProcess,
  agent: CountersignClient,
  reviewer: CountersignClient,
): Promise<number[]> {
  const ids = await waitingIntents(stack, agent);
  const root = path.resolve(import.meta.dirname, '..');
  const child = spawn('python3', [path.join(root, 'bench', 'python-waiters.py')], {
    env: {
      ...process.env,
      PYTHONPATH: path.join(root, 'python'),
      COUNTERSIGN_URL: stack.url,
      COUNTERSIGN_API_KEY: stack.settings.api_keys.agent,
    },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const resumed = new Map<string, number>();
  let ready = false;
  createInterface({ input: child.stdout }).on('line', (line) => {
    if (line === 'ready') ready = true;
    const [id, at] = line.split(' ');
    if (id && at) resumed.set(id, Number(at));
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.stdin.end(JSON.stringify(ids));
  await until(() => (ready ? true : undefined), 60_000, 'the Python waiters to start');
  // The Python process reports wall-clock milliseconds: Date.now is the same clock.
  const latencies = await decideOneByOne(ids, reviewer, resumed, () => Date.now());
  await exited;
  return latencies;
}

async function main() {
  const dataDir = newDataDir();
  let stack: StackProcess | undefined;
  try {
    stack = await startStack(dataDir);
    // The waits use the wait channel, as on Node 22 by default (Node 20 has no global WebSocket).
    const agent = new CountersignClient({
      baseUrl: stack.url,
      apiKey: stack.settings.api_keys.agent,
      webSocket: WebSocket as unknown as WaitSocketConstructor,
    });
    const admin = new CountersignClient({
      baseUrl: stack.url,
      apiKey: stack.settings.api_keys.admin,
    });
    const { key } = await admin.createKey({ role: 'reviewer', principal: 'reviewer@company.com' });
    const reviewer = new CountersignClient({ baseUrl: stack.url, apiKey: key });

    // The JVM behind DynamoDB Local compiles its hot paths over the first minute: the rate of the
    // first seconds after a start and the steady rate of the last seconds are both reported.
    process.stderr.write(`creating with ${AGENTS} agents for ${CREATE_SECONDS} s...\n`);
    const perSecond = await measureCreates(agent, CREATE_SECONDS);
    const coldCreatesPerSecond = rate(perSecond.slice(5, 15));
    const createsPerSecond = rate(perSecond.slice(-STEADY_SECONDS));
    const byFive = perSecond.flatMap((_, i) =>
      i % 5 === 0 ? [Math.round(rate(perSecond.slice(i, i + 5)))] : [],
    );
    process.stderr.write(`  creates/s, by 5 s: ${byFive.join(' ')}\n`);
    process.stderr.write(`${WAITERS} agents waiting, deciding one by one...\n`);
    const latencies = await measureResume(stack, agent, reviewer);
    process.stderr.write(
      `  ${Math.round(createsPerSecond)} creates/s; resume p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms\n`,
    );
    process.stderr.write(`${WAITERS} Python waiters (one process, a thread each)...\n`);
    const pythonLatencies = await measurePythonResume(stack, agent, reviewer);
    process.stderr.write(
      `  Python resume p50 ${percentile(pythonLatencies, 50).toFixed(1)} ms, p99 ${percentile(pythonLatencies, 99).toFixed(1)} ms\n`,
    );

    process.stderr.write(`filling to ${PENDING} pending intents...\n`);
    const probeId = await agent.sendIntent(intentBody(-1, 'pending@company.com'));
    let counted = 0;
    for await (const _intent of admin.iterateIntents({ status: 'pending', limit: 100 }))
      counted += 1;
    await fillPending(agent, PENDING, counted);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const memoryMb = groupRssMb(stack.pid);
    process.stderr.write(`  ${memoryMb} MB with ${PENDING} pending\n`);

    process.stderr.write('kill -9 and restart...\n');
    const port = Number(new URL(stack.url).port);
    await stack.kill();
    const restartStarted = performance.now();
    stack = await startStack(dataDir, port);
    await waitServing(stack.url, stack.settings.api_keys.agent, probeId);
    const restartSeconds = (performance.now() - restartStarted) / 1000;
    const memoryAfterRestartMb = groupRssMb(stack.pid);

    const results = {
      creates_per_second: Math.round(createsPerSecond),
      creates_per_second_cold: Math.round(coldCreatesPerSecond),
      resume_p50_ms: Number(percentile(latencies, 50).toFixed(1)),
      resume_p99_ms: Number(percentile(latencies, 99).toFixed(1)),
      resume_max_ms: Number(percentile(latencies, 100).toFixed(1)),
      python_resume_p50_ms: Number(percentile(pythonLatencies, 50).toFixed(1)),
      python_resume_p99_ms: Number(percentile(pythonLatencies, 99).toFixed(1)),
      pending_intents: PENDING,
      memory_mb: memoryMb,
      memory_after_restart_mb: memoryAfterRestartMb,
      restart_to_serving_s: Number(restartSeconds.toFixed(2)),
    };
    const rows: [string, string, string][] = [
      [
        `intent creates per second (20 agents, last ${STEADY_SECONDS} s of ${CREATE_SECONDS})`,
        String(results.creates_per_second),
        'no drop',
      ],
      ['the same, 5 to 15 s after a start', String(results.creates_per_second_cold), ''],
      ['decision-to-resume p50 (200 waiting)', `${results.resume_p50_ms} ms`, ''],
      ['decision-to-resume p99 (200 waiting)', `${results.resume_p99_ms} ms`, '<= 100 ms'],
      ['the same with the Python SDK, p50', `${results.python_resume_p50_ms} ms`, ''],
      ['the same with the Python SDK, p99', `${results.python_resume_p99_ms} ms`, '<= 100 ms'],
      [`memory with ${PENDING} pending (node + JVM)`, `${results.memory_mb} MB`, '< 1024 MB'],
      [
        `serving again after kill -9 (${PENDING} pending)`,
        `${results.restart_to_serving_s} s`,
        '<= 15 s',
      ],
    ];
    console.log(`| measure | result | target |\n|---|---|---|`);
    for (const [name, value, target] of rows) console.log(`| ${name} | ${value} | ${target} |`);
    console.log(JSON.stringify(results));
  } finally {
    await stack?.stop();
    removeDataDir(dataDir);
  }
}

await main();
