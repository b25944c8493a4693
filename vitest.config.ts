import { configDefaults, defineConfig } from 'vitest/config';

/**
 * Two tiers (CONTRIBUTING.md): `unit` runs in-process with no Java, browser, Python or child
 * process, in under a minute (`npm run test:unit`, a worker per core); `e2e` is everything else: local stacks,
 * DynamoDB Local, Chromium, the CLI, the Python SDK, and the files below that wait on real time
 * or spawn processes (`npm run test:e2e`). `npm test` runs both. Every test file is in exactly
 * one tier (`test/shared/tiers.test.ts`).
 */
export const UNIT_DIRECTORIES = [
  'test/domain',
  'test/core',
  'test/handlers',
  'test/sdk',
  'test/cdk',
  'test/shared',
  'test/local-sfn',
  'test/contract',
  'sdk/src',
];
export const E2E_DIRECTORIES = [
  'test/e2e',
  'test/cli',
  'test/python',
  'test/local',
  'test/adapters',
];
/** In unit directories, but slow: real timeouts, kill -9 of child processes, big simulations. */
export const SLOW_FILES = [
  'test/core/stage-chunks.test.ts',
  'test/core/agent-keys.test.ts',
  'test/handlers/ses-retries.test.ts',
  'test/handlers/slack-rate-limits.test.ts',
  'test/cdk/cost-model.test.ts',
  'test/local-sfn/restart.test.ts',
  'test/local-sfn/callback-delivery.test.ts',
];
const files = (directories: string[]) =>
  directories.map((directory) => `${directory}/**/*.test.ts`);

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Node 20 is supported locally on purpose; the AWS SDK's Node 22 notice is noise in tests.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: files(UNIT_DIRECTORIES.filter((directory) => directory !== 'test/cdk')),
          exclude: [...configDefaults.exclude, ...SLOW_FILES],
        },
      },
      // The CDK tests share one module cache per worker: each file would otherwise load
      // aws-cdk-lib again (21 s of 59 s for test/cdk); they mock no module, so nothing leaks.
      {
        extends: true,
        test: {
          name: 'unit-cdk',
          include: files(['test/cdk']),
          exclude: [...configDefaults.exclude, ...SLOW_FILES],
          isolate: false,
        },
      },
      {
        extends: true,
        test: { name: 'e2e', include: [...files(E2E_DIRECTORIES), ...SLOW_FILES] },
      },
    ],
  },
});
