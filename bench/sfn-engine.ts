/**
 * Benchmark of the local Step Functions engine: pause 10,000 executions on callback tasks, measure
 * memory, kill the process with SIGKILL, resume in a fresh process and measure the time to resume
 * and the memory after restart, then answer every task token.
 *
 *   npx tsx bench/sfn-engine.ts [--executions 10000]
 *
 * The last line printed is a JSON object with all the numbers.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { LocalStepFunctions, type StateMachineSpec } from '../local/stepfunctions/index';

const MACHINES: StateMachineSpec[] = [
  {
    name: 'approval',
    definition: {
      StartAt: 'Plan',
      States: {
        Plan: {
          Type: 'Pass',
          Parameters: { 'intent_id.$': '$.intent_id', next: { timeout_seconds: 86_400 } },
          Next: 'AwaitDecision',
        },
        AwaitDecision: {
          Type: 'Task',
          Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
          Parameters: {
            FunctionName: 'arn:aws:lambda:us-east-1:000000000000:function:stage-task',
            Payload: { 'intent_id.$': '$.intent_id', 'task_token.$': '$$.Task.Token' },
          },
          TimeoutSecondsPath: '$.next.timeout_seconds',
          ResultPath: '$.decision',
          Next: 'Done',
        },
        Done: { Type: 'Succeed' },
      },
    },
  },
];

interface Memory {
  rssMb: number;
  heapUsedMb: number;
}

function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  gc();
  gc();
}

function memory(): Memory {
  collectGarbage();
  const usage = process.memoryUsage();
  return { rssMb: round(usage.rss / 2 ** 20), heapUsedMb: round(usage.heapUsed / 2 ** 20) };
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}

function report(message: object): void {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

/** Child phase 1: start N executions, wait until all are paused, report, then wait to be killed. */
async function pausePhase(dataDir: string, count: number): Promise<void> {
  const baseline = memory();
  const tokens: string[] = [];
  const sfn = await LocalStepFunctions.open({
    dataDir,
    stateMachines: MACHINES,
    invokeLambda: async (_functionName, payload) => {
      tokens.push((payload as { task_token: string }).task_token);
      return { notified: true };
    },
  });
  const stateMachineArn = sfn.stateMachineArn('approval');
  const started = performance.now();
  await Promise.all(
    Array.from({ length: count }, (_, index) =>
      sfn.startExecution({
        stateMachineArn,
        name: `intent-${index}`,
        input: JSON.stringify({ intent_id: `intent-${index}` }),
      }),
    ),
  );
  const acknowledgedMs = performance.now() - started;
  await sfn.settle();
  const pausedMs = performance.now() - started;
  writeFileSync(join(dataDir, 'bench-tokens.json'), JSON.stringify(tokens));
  const paused = memory();
  report({
    phase: 'paused',
    executions: count,
    tokens: tokens.length,
    startAcknowledgedMs: Math.round(acknowledgedMs),
    allPausedMs: Math.round(pausedMs),
    armedTimers: sfn.timerStats().armed,
    journal: sfn.journalStats(),
    baseline,
    paused,
  });
  // Stay alive until the parent kills us with SIGKILL (no close(), no flush).
  setInterval(() => undefined, 1 << 30);
}

/** Child phase 2: reopen after the kill, measure resume time and memory, then answer every token. */
async function resumePhase(dataDir: string): Promise<void> {
  const baseline = memory();
  const tokens = JSON.parse(readFileSync(join(dataDir, 'bench-tokens.json'), 'utf8')) as string[];
  let reinvoked = 0;
  const opened = performance.now();
  const sfn = await LocalStepFunctions.open({
    dataDir,
    stateMachines: MACHINES,
    invokeLambda: async () => {
      reinvoked++;
      return null;
    },
  });
  const resumeMs = performance.now() - opened;
  await sfn.compactNow();
  const resumedAndCompactedMs = performance.now() - opened;
  const running = await sfn.listExecutions({
    stateMachineArn: sfn.stateMachineArn('approval'),
    statusFilter: 'RUNNING',
    maxResults: 1000,
  });
  const afterRestart = memory();
  const answering = performance.now();
  await Promise.all(
    tokens.map((taskToken) => sfn.sendTaskSuccess({ taskToken, output: '{"approved":true}' })),
  );
  const answerAllMs = performance.now() - answering;
  const succeeded = await sfn.listExecutions({
    stateMachineArn: sfn.stateMachineArn('approval'),
    statusFilter: 'SUCCEEDED',
    maxResults: 1000,
  });
  report({
    phase: 'resumed',
    resumeMs: Math.round(resumeMs),
    resumeAndCompactMs: Math.round(resumedAndCompactedMs),
    armedTimersAfterRestart: running.executions?.length === 0 ? 0 : sfn.timerStats().armed,
    reinvoked,
    baseline,
    afterRestart,
    answerAllMs: Math.round(answerAllMs),
    firstPageSucceeded: succeeded.executions?.length ?? 0,
    journal: sfn.journalStats(),
  });
  await sfn.close();
}

function runChild(args: string[]): {
  child: ChildProcess;
  messages: AsyncGenerator<Record<string, unknown>>;
} {
  const script = fileURLToPath(import.meta.url);
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  async function* messages() {
    for await (const line of lines) yield JSON.parse(line) as Record<string, unknown>;
  }
  return { child, messages: messages() };
}

async function nextMessage(
  messages: AsyncGenerator<Record<string, unknown>>,
): Promise<Record<string, unknown>> {
  const { value, done } = await messages.next();
  if (done || !value) throw new Error('the benchmark child exited without reporting');
  return value;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const phase = args[args.indexOf('--phase') + 1];
  const dataDirArg = args[args.indexOf('--data-dir') + 1];
  if (args.includes('--phase') && dataDirArg) {
    if (phase === 'pause')
      await pausePhase(dataDirArg, Number(args[args.indexOf('--executions') + 1] ?? 10_000));
    else await resumePhase(dataDirArg);
    return;
  }

  const executions = args.includes('--executions')
    ? Number(args[args.indexOf('--executions') + 1])
    : 10_000;
  const dataDir = mkdtempSync(join(tmpdir(), 'sfn-bench-'));
  try {
    console.log(`Pausing ${executions} executions on callback tasks (data in ${dataDir})...`);
    const pause = runChild([
      '--phase',
      'pause',
      '--data-dir',
      dataDir,
      '--executions',
      String(executions),
    ]);
    const paused = await nextMessage(pause.messages);
    console.log(
      `  all paused after ${paused.allPausedMs} ms (StartExecution acknowledged after ${paused.startAcknowledgedMs} ms); ` +
        `${paused.armedTimers} deadlines in one timer queue`,
    );
    console.log(
      `  memory before engine: ${JSON.stringify(paused.baseline)}; with ${executions} paused: ${JSON.stringify(paused.paused)}`,
    );
    console.log(`  journal: ${JSON.stringify(paused.journal)}`);
    const exited = new Promise((resolve) => pause.child.once('exit', resolve));
    pause.child.kill('SIGKILL');
    await exited;
    console.log('  killed with SIGKILL');

    const resume = runChild(['--phase', 'resume', '--data-dir', dataDir]);
    const resumed = await nextMessage(resume.messages);
    console.log(
      `Restarted in a new process: open() resumed everything in ${resumed.resumeMs} ms ` +
        `(${resumed.resumeAndCompactMs} ms including a fresh snapshot); ${resumed.reinvoked} invocations repeated`,
    );
    console.log(
      `  memory after restart: ${JSON.stringify(resumed.afterRestart)} (process baseline ${JSON.stringify(resumed.baseline)})`,
    );
    console.log(
      `  answered all ${executions} tokens from before the crash in ${resumed.answerAllMs} ms`,
    );
    await new Promise((resolve) => resume.child.once('exit', resolve));

    const summary = {
      executions,
      allPausedMs: paused.allPausedMs,
      startAcknowledgedMs: paused.startAcknowledgedMs,
      pausedRssMb: (paused.paused as Memory).rssMb,
      pausedHeapUsedMb: (paused.paused as Memory).heapUsedMb,
      baselineRssMb: (paused.baseline as Memory).rssMb,
      armedTimers: paused.armedTimers,
      resumeMs: resumed.resumeMs,
      resumeAndCompactMs: resumed.resumeAndCompactMs,
      restartedRssMb: (resumed.afterRestart as Memory).rssMb,
      restartedHeapUsedMb: (resumed.afterRestart as Memory).heapUsedMb,
      reinvokedAfterCrash: resumed.reinvoked,
      answerAllMs: resumed.answerAllMs,
    };
    console.log(JSON.stringify(summary));
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
