import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadLocalDefinition, synthesizedTemplate } from '../../local/cdk-definition';
import { synthesizeTemplate } from '../../local/synthesize';

const cacheDir = mkdtempSync(path.join(tmpdir(), 'countersign-synth-cache-'));
afterAll(() => rmSync(cacheDir, { recursive: true, force: true }));

describe('the template npm start runs', () => {
  it('is synthesized in a child process once, then read from the cache until its sources change', async () => {
    // A template of earlier sources, left from before a change: replaced, not kept beside.
    writeFileSync(path.join(cacheDir, 'template-0000000000000000.json'), '{}');
    const fromChild = await synthesizedTemplate(cacheDir);
    // The same state machine as synthesizing here, in-process, as `cdk synth` does.
    expect(loadLocalDefinition(fromChild).definition).toEqual(
      loadLocalDefinition(synthesizeTemplate()).definition,
    );
    const [cached, ...others] = readdirSync(cacheDir);
    expect(others).toEqual([]);
    expect(cached).toMatch(/^template-[0-9a-f]{16}\.json$/);

    // A second start reads the file (a marker written into it comes back) and spawns nothing.
    const marker = { Resources: { Marker: { Type: 'Test::Marker' } } };
    writeFileSync(path.join(cacheDir, cached ?? ''), JSON.stringify(marker));
    expect(await synthesizedTemplate(cacheDir)).toEqual(marker);
  }, 120_000);
});
