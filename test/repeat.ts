/**
 * Runs test files N times and reports every test that failed at least once, to find flaky tests
 * before CI does. `npm run test:repeat` runs the end-to-end, browser and engine suites 5 times;
 * `npm run test:repeat -- 10 test/e2e/console.test.ts` runs the given files 10 times. Each run is
 * a fresh `vitest run` writing its JSON report to a temporary file. Exits 1 if any test failed.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type JsonReport, runFailures } from './repeat-report';

const DEFAULT_PATHS = ['test/e2e', 'test/local-sfn'];

const [first, ...rest] = process.argv.slice(2);
const runs = first !== undefined && /^\d+$/.test(first) ? Number(first) : 5;
const paths = first !== undefined && /^\d+$/.test(first) ? rest : process.argv.slice(2);
const targets = paths.length > 0 ? paths : DEFAULT_PATHS;

const failures = new Map<string, { count: number; firstMessage: string }>();
const dir = mkdtempSync(join(tmpdir(), 'countersign-repeat-'));
try {
  for (let run = 1; run <= runs; run++) {
    const report = join(dir, `run-${run}.json`);
    const started = Date.now();
    const child = spawnSync(
      'npx',
      ['vitest', 'run', ...targets, '--reporter=json', `--outputFile=${report}`],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
    const seconds = ((Date.now() - started) / 1000).toFixed(0);
    let parsed: JsonReport | undefined;
    try {
      parsed = JSON.parse(readFileSync(report, 'utf8')) as JsonReport;
    } catch {
      parsed = undefined;
    }
    const failed = runFailures(parsed, child.status, process.cwd());
    for (const { test, message } of failed) record(test, message);
    console.log(
      parsed
        ? `run ${run}/${runs}: ${parsed.numPassedTests} passed, ${parsed.numFailedTests} failed, exit ${child.status}, in ${seconds} s`
        : `run ${run}/${runs}: no report (exit ${child.status}) in ${seconds} s`,
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

if (failures.size === 0) {
  console.log(`No test failed in ${runs} runs of ${targets.join(' ')}.`);
} else {
  console.log(`\nTests that failed at least once in ${runs} runs:`);
  for (const [test, { count, firstMessage }] of failures) {
    console.log(`- ${count}/${runs} ${test}`);
    // The first lines say what differed (an assertion's expected and received values).
    for (const line of firstMessage.split('\n').slice(0, 12))
      console.log(`    ${line.slice(0, 300)}`);
  }
  process.exitCode = 1;
}

function record(test: string, message: string): void {
  const seen = failures.get(test);
  if (seen) seen.count++;
  else failures.set(test, { count: 1, firstMessage: message });
}
