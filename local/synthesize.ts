import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { CountersignStack } from '../lib/countersign-stack';
import { LOCAL_ACCOUNT, LOCAL_REGION, type SynthesizedTemplate } from './cdk-definition';

/**
 * Synthesizes the Countersign stack as `cdk synth` would (asset bundling skipped: reading the
 * template does not need it) and answers the CloudFormation template. Only this module loads
 * aws-cdk-lib for the local stack, and `npm start` runs it in a child process (see
 * `cdk-definition.ts`), so the service itself never holds the CDK in memory.
 */
export function synthesizeTemplate(): SynthesizedTemplate {
  const outdir = mkdtempSync(path.join(tmpdir(), 'countersign-synth-'));
  try {
    const app = new App({ outdir, context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new CountersignStack(app, 'Countersign', {
      env: { account: LOCAL_ACCOUNT, region: LOCAL_REGION },
    });
    return app.synth().getStackByName(stack.stackName).template as SynthesizedTemplate;
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

// `node --import tsx local/synthesize.ts <file>`: writes the template to <file>, atomically.
if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  const target = process.argv[2];
  if (!target) throw new Error('usage: synthesize.ts <output file>');
  const partial = `${target}.${process.pid}.tmp`;
  writeFileSync(partial, JSON.stringify(synthesizeTemplate()));
  renameSync(partial, target);
}
