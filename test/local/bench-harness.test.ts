import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

/**
 * The bench scripts (`npm run bench`, `bench:inbox`) start stacks with the e2e harness, outside
 * vitest: loading it there must not need a running test (vitest's hooks throw outside a suite).
 */
describe('the e2e harness outside vitest', () => {
  it('loads in a plain node process, as the bench scripts load it', () => {
    const env = { ...process.env };
    delete env.VITEST;
    delete env.VITEST_POOL_ID;
    delete env.VITEST_WORKER_ID;
    delete env.NODE_ENV;
    const out = execFileSync(
      process.execPath,
      [
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        "const harness = await import('./test/e2e/harness.ts'); console.log(typeof harness.startStack);",
      ],
      { env, encoding: 'utf8', timeout: 60_000 },
    );
    expect(out.trim()).toBe('function');
  });
});
