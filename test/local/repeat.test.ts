/**
 * `npm run test:repeat` reports every way a run can fail, not only failed tests: it runs real
 * `vitest run`s over throwaway test files (vitest's globals, so they import nothing).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const dir = mkdtempSync(path.join(tmpdir(), 'countersign-repeat-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function repeat(name: string, source: string): Promise<{ code: number | null; output: string }> {
  writeFileSync(path.join(dir, `${name}.test.ts`), source);
  return new Promise((resolve, reject) => {
    const child = spawn(
      'npx',
      ['tsx', 'test/repeat.ts', '2', '--root', dir, '--globals', `${name}.test.ts`],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
    });
    child.stderr.on('data', () => undefined);
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

describe('npm run test:repeat', () => {
  it('says so when nothing failed', async () => {
    const { code, output } = await repeat('passes', "it('adds', () => expect(1 + 1).toBe(2));\n");
    expect(output).toContain('No test failed in 2 runs');
    expect(code).toBe(0);
  });

  it('reports a failed test with its count and first message', async () => {
    const { code, output } = await repeat(
      'fails',
      "it('adds', () => expect(1 + 1).toBe(3));\nit('ok', () => undefined);\n",
    );
    expect(output).toMatch(/- 2\/2 \S*fails\.test\.ts › adds/);
    expect(output).toContain('expected 2 to be 3');
    expect(code).toBe(1);
  });

  it('reports a file whose setup failed, though none of its tests ran', async () => {
    const { code, output } = await repeat(
      'setup',
      "beforeAll(() => { throw new Error('the stack did not start'); });\nit('works', () => undefined);\n",
    );
    expect(output).toContain('setup.test.ts');
    expect(output).not.toContain('No test failed');
    expect(code).toBe(1);
  });

  it('reports a run that exited non-zero on an unhandled error', async () => {
    const { code, output } = await repeat(
      'unhandled',
      "it('passes, then throws later', async () => {\n  setTimeout(() => { throw new Error('late'); }, 0);\n  await new Promise((resolve) => setTimeout(resolve, 50));\n});\n",
    );
    expect(output).toContain('- 2/2 vitest exited 1 with no failed test');
    expect(code).toBe(1);
  });
});
