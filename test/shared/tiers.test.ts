/**
 * Every test file runs in exactly one tier of `vitest.config.ts`: a file in a directory neither
 * tier names would never run, in `npm test` either.
 */
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { E2E_DIRECTORIES, SLOW_FILES, UNIT_DIRECTORIES } from '../../vitest.config';

const within = (file: string, directories: string[]) =>
  directories.some((directory) => file.startsWith(`${directory}/`));

describe('test tiers', () => {
  it('puts every test file in exactly one tier', () => {
    const testFiles = ['test', 'sdk/src'].flatMap((root) =>
      (readdirSync(root, { recursive: true }) as string[])
        .map((file) => `${root}/${file}`)
        .filter((file) => file.endsWith('.test.ts')),
    );
    expect(testFiles.length).toBeGreaterThan(100);
    const unplaced = testFiles.filter((file) => {
      const unit = within(file, UNIT_DIRECTORIES) && !SLOW_FILES.includes(file);
      const e2e = within(file, E2E_DIRECTORIES) || SLOW_FILES.includes(file);
      return unit === e2e;
    });
    expect(unplaced).toEqual([]);
    for (const file of SLOW_FILES) expect(testFiles).toContain(file);
  });
});
