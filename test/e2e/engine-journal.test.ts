import { spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readdirSync, rmSync, writeSync } from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CountersignClient } from '../../sdk/src/index';
import {
  newDataDir,
  outboxItems,
  removeDataDir,
  type StackProcess,
  startStack,
  until,
} from './harness';

/**
 * The Step Functions engine runs inside `npm start`; a journal write that fails leaves it
 * refusing every change, so `npm start` stops with the reason and exit 1 (issue #21) instead of
 * answering 500s. The fault is real: the engine's directory is a 1 MiB tmpfs, filled to the byte
 * while the stack serves, so the next journal write gets ENOSPC. Mounting needs root (or
 * CAP_SYS_ADMIN); without it the test is skipped. Once the disk has room again, a new start
 * resumes what was acknowledged before the failure.
 */
const canMount = (() => {
  const probe = newDataDir();
  try {
    return spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe]).status === 0;
  } finally {
    spawnSync('umount', [probe]);
    removeDataDir(probe);
  }
})();

let stack: StackProcess | undefined;
let dataDir: string | undefined;
let mounted: string | undefined;

afterEach(async () => {
  await stack?.stop();
  stack = undefined;
  if (mounted && spawnSync('umount', [mounted]).status !== 0) spawnSync('umount', ['-l', mounted]);
  mounted = undefined;
  if (dataDir) removeDataDir(dataDir);
  dataDir = undefined;
});

/** Writes `data` to `file` until the filesystem has no byte left for it. */
function fillWith(file: string, flags: 'w' | 'a', data: Buffer): void {
  const fd = openSync(file, flags);
  try {
    for (;;) writeSync(fd, data);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
  } finally {
    closeSync(fd);
  }
}

const body = (n: number) => ({
  intent_type: 'intent.journal.v1',
  to_agent: 'agent://myorg/journal',
  payload: { n, reviewer: 'cfo@company.com' },
  policy: { timeout: { after: '1h' } },
});

describe('npm start and its Step Functions journal', () => {
  it.skipIf(!canMount)(
    'stops with the reason and exit 1 when a journal write fails; no 500 meanwhile',
    async () => {
      dataDir = newDataDir();
      const engineDir = path.join(dataDir, 'stepfunctions');
      mkdirSync(engineDir);
      expect(
        spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m,mode=0700', 'tmpfs', engineDir]).status,
      ).toBe(0);
      mounted = engineDir;

      stack = await startStack(dataDir);
      const { agent: agentKey, admin: adminKey } = stack.settings.api_keys;
      const agent = new CountersignClient({ baseUrl: stack.url, apiKey: agentKey });
      const admin = new CountersignClient({ baseUrl: stack.url, apiKey: adminKey });
      const { key: reviewerKey } = await admin.createKey({
        role: 'reviewer',
        principal: 'cfo@company.com',
      });
      const acknowledged = await agent.sendIntent(body(1));
      // Its reviewer notified: the execution now waits for the decision.
      const stackNow = stack;
      await until(
        async () =>
          (await outboxItems(stackNow)).some((item) => item.intent_id === acknowledged)
            ? true
            : undefined,
        60_000,
        'the notice of the acknowledged intent',
      );

      // Disk full: a filler takes every free page, and the last page of the segment being
      // written is padded with empty lines (which replay skips).
      fillWith(path.join(engineDir, 'filler'), 'w', Buffer.alloc(64 * 1024));
      const segment = readdirSync(engineDir)
        .filter((name) => /^journal-\d+\.log$/.test(name))
        .sort()
        .at(-1) as string;
      fillWith(path.join(engineDir, segment), 'a', Buffer.alloc(4096, '\n'));

      // A raw call (an SDK would retry a 503): answered 503 or cut off by the stop, never 500.
      const outcome = await fetch(`${stack.url}/v1/intents`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${agentKey}`, 'Content-Type': 'application/json' },
        body: JSON.stringify(body(2)),
      }).then(
        async (response) => ({ status: response.status, body: await response.text() }),
        () => ({ status: 'closed' as const, body: '' }),
      );
      expect([503, 'closed'], JSON.stringify(outcome)).toContain(outcome.status);

      const code = await stack.exited;
      expect(code).toBe(1);
      expect(stack.output()).toContain(
        `Countersign stopped: the Step Functions journal could not be written (ENOSPC: no space left on device, write) in ${engineDir}; nothing acknowledged is lost`,
      );

      // The disk fixed, a new start resumes the intent acknowledged before the failure.
      rmSync(path.join(engineDir, 'filler'));
      stack = await startStack(dataDir);
      const reviewer = new CountersignClient({ baseUrl: stack.url, apiKey: reviewerKey });
      const waiter = new CountersignClient({ baseUrl: stack.url, apiKey: agentKey });
      expect((await waiter.getIntent(acknowledged)).status).toBe('pending');
      await reviewer.decide(acknowledged, { outcome: 'approve' });
      expect((await waiter.waitFor(acknowledged, { timeoutMs: 60_000 })).status).toBe('approved');
    },
    240_000,
  );
});
