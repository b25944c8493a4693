import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LocalStepFunctions } from '../../local/stepfunctions/index';
import { FakeLambdas, temporaryDirectory } from './helpers';

/**
 * A journal write that fails (here: fdatasync answering EIO, at the file-handle boundary) leaves
 * the engine refusing every change for good; it says so once through `onJournalFailure`, before
 * the caller of that write sees its error, so that `npm start` can stop with the reason.
 */
const PASS = { StartAt: 'P', States: { P: { Type: 'Pass', End: true } } };

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function fileHandlePrototype(dir: string) {
  const handle = await open(join(dir, 'probe'), 'w');
  await handle.close();
  return Object.getPrototypeOf(handle) as { datasync: () => Promise<void> };
}

describe('a journal write that fails', () => {
  it('is reported once, with the error, before the callers fail', async () => {
    const directory = temporaryDirectory();
    cleanups.push(() => directory.remove());
    const events: string[] = [];
    const failures: Error[] = [];
    const sfn = await LocalStepFunctions.open({
      dataDir: join(directory.path, 'stepfunctions'),
      stateMachines: [{ name: 'pass', definition: PASS }],
      invokeLambda: new FakeLambdas().invoke,
      onJournalFailure: (error) => {
        events.push('reported');
        failures.push(error);
      },
    });
    cleanups.push(() => sfn.close());
    const stateMachineArn = sfn.stateMachineArn('pass');
    await sfn.startExecution({ stateMachineArn, name: 'before' });
    await sfn.settle();
    expect(failures).toEqual([]);

    const prototype = await fileHandlePrototype(directory.path);
    const eio = Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
    const datasync = vi.spyOn(prototype, 'datasync').mockRejectedValue(eio);
    cleanups.push(() => datasync.mockRestore());

    const starts = ['a', 'b'].map((name) =>
      sfn.startExecution({ stateMachineArn, name }).catch((error: Error) => {
        events.push(`rejected ${name}`);
        return error;
      }),
    );
    const [a, b] = await Promise.all(starts);
    expect(a).toBeInstanceOf(Error);
    expect(b).toBeInstanceOf(Error);
    expect(events[0]).toBe('reported');
    expect(failures).toHaveLength(1);
    expect(failures[0]?.message).toContain('EIO: i/o error');
    expect(failures[0]?.cause).toBe(eio);

    // Refused for good, and not reported again.
    datasync.mockRestore();
    await expect(sfn.startExecution({ stateMachineArn, name: 'after' })).rejects.toThrow(
      /journal write failed: EIO/,
    );
    expect(failures).toHaveLength(1);
  });
});
