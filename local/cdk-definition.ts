import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { FUNCTION_METADATA_KEY, FUNCTIONS, type FunctionSpec } from '../lambdas/functions';

/**
 * The local stack runs the state machine that CDK synthesizes, never a copy: the same stack is
 * synthesized (`synthesize.ts`), the state machine's DefinitionString taken from the template,
 * and its intrinsic functions resolved for local ARNs. Each Lambda ARN in the definition maps
 * back to the handler module that the CDK construct deploys for it.
 */
export interface LocalDefinition {
  stateMachineName: string;
  /** The definition as AWS would see it, with local ARNs. */
  definition: Record<string, unknown>;
  /** Lambda function ARN (as it appears in the definition) → the function's spec. */
  functionsByArn: Map<string, FunctionSpec>;
}

export const LOCAL_REGION = 'us-east-1';
export const LOCAL_ACCOUNT = '000000000000';

type CfnResource = {
  Type: string;
  Properties?: Record<string, unknown>;
  Metadata?: Record<string, unknown>;
};
export type SynthesizedTemplate = { Resources: Record<string, CfnResource> };

const REPOSITORY_ROOT = path.resolve(import.meta.dirname, '..');
/**
 * What the template is made from: the construct (`lib/`), what it imports from `lambdas/` (the
 * function list, retry constants), the synthesis with its local account and region, and the
 * CDK's version (the lock file). Handler code is in `lambdas/` too: a change to it costs one
 * synthesis more, never a stale template.
 */
const TEMPLATE_SOURCES = [
  'lib',
  'lambdas',
  'local/synthesize.ts',
  'local/cdk-definition.ts',
  'package-lock.json',
];
/** A synthesis that takes longer than this is stuck (it takes seconds). */
const SYNTHESIS_TIMEOUT_MS = 180_000;

/**
 * The synthesized template, kept in `cacheDir` under a hash of its sources: synthesis takes
 * several seconds and half a gigabyte, so it runs in a child process, once per change to the
 * construct or the functions (or to the CDK's version), not at every start. A restart after a
 * crash reads the file.
 */
export async function synthesizedTemplate(cacheDir: string): Promise<SynthesizedTemplate> {
  const name = `template-${sourcesHash().slice(0, 16)}.json`;
  const file = path.join(cacheDir, name);
  if (!existsSync(file)) {
    mkdirSync(cacheDir, { recursive: true });
    await synthesizeInChild(file);
    // Templates of earlier sources are never read again.
    for (const old of readdirSync(cacheDir)) {
      if (/^template-[0-9a-f]{16}\.json$/.test(old) && old !== name) {
        rmSync(path.join(cacheDir, old), { force: true });
      }
    }
  }
  return JSON.parse(readFileSync(file, 'utf8')) as SynthesizedTemplate;
}

function sourcesHash(): string {
  const files = TEMPLATE_SOURCES.flatMap((source) => {
    const absolute = path.join(REPOSITORY_ROOT, source);
    if (!existsSync(absolute)) return [];
    if (!statSync(absolute).isDirectory()) return [absolute];
    return readdirSync(absolute, { withFileTypes: true, recursive: true })
      .filter((entry) => entry.isFile())
      .map((entry) => path.join(entry.parentPath, entry.name));
  });
  const hash = createHash('sha256');
  for (const file of files.sort()) {
    hash.update(path.relative(REPOSITORY_ROOT, file)).update('\0').update(readFileSync(file));
  }
  return hash.digest('hex');
}

function synthesizeInChild(file: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(REPOSITORY_ROOT, 'local', 'synthesize.ts'), file],
      { cwd: REPOSITORY_ROOT, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    const errors: Buffer[] = [];
    child.stderr.on('data', (chunk: Buffer) => errors.push(chunk));
    const stuck = setTimeout(() => child.kill('SIGKILL'), SYNTHESIS_TIMEOUT_MS);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(stuck);
      if (code === 0 && existsSync(file)) resolve();
      else {
        const output = Buffer.concat(errors).toString('utf8').trim().split('\n').slice(-20);
        reject(new Error(`synthesizing the CDK app failed (exit ${code}):\n${output.join('\n')}`));
      }
    });
  });
}

function localFunctionArn(spec: FunctionSpec): string {
  return `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:countersign-${spec.id}`;
}

export function loadLocalDefinition(template: SynthesizedTemplate): LocalDefinition {
  const specsById = new Map<string, FunctionSpec>(
    Object.values(FUNCTIONS).map((spec) => [spec.id, spec]),
  );
  const arnByLogicalId = new Map<string, string>();
  const functionsByArn = new Map<string, FunctionSpec>();
  for (const [logicalId, resource] of Object.entries(template.Resources)) {
    if (resource.Type !== 'AWS::Lambda::Function') continue;
    const id = resource.Metadata?.[FUNCTION_METADATA_KEY];
    const spec = typeof id === 'string' ? specsById.get(id) : undefined;
    if (!spec) continue;
    const arn = localFunctionArn(spec);
    arnByLogicalId.set(logicalId, arn);
    functionsByArn.set(arn, spec);
  }

  const machines = Object.entries(template.Resources).filter(
    ([, resource]) => resource.Type === 'AWS::StepFunctions::StateMachine',
  );
  const [machine] = machines;
  if (machines.length !== 1 || !machine) {
    throw new Error(`expected one state machine in the template, found ${machines.length}`);
  }
  const [, resource] = machine;
  const name = resource.Properties?.StateMachineName;
  const definitionString = resolveIntrinsics(resource.Properties?.DefinitionString, arnByLogicalId);
  if (typeof name !== 'string' || typeof definitionString !== 'string') {
    throw new Error('the state machine has no literal name or definition');
  }
  return {
    stateMachineName: name,
    definition: JSON.parse(definitionString) as Record<string, unknown>,
    functionsByArn,
  };
}

const PSEUDO_PARAMETERS: Record<string, string> = {
  'AWS::Partition': 'aws',
  'AWS::Region': LOCAL_REGION,
  'AWS::AccountId': LOCAL_ACCOUNT,
  'AWS::URLSuffix': 'amazonaws.com',
};

/** Resolves the few intrinsics a definition string uses; anything else is refused by name. */
function resolveIntrinsics(value: unknown, arnByLogicalId: Map<string, string>): unknown {
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')
    return value;
  if (Array.isArray(value)) return value.map((item) => resolveIntrinsics(item, arnByLogicalId));
  if (value === null || typeof value !== 'object') {
    throw new Error(`cannot resolve ${JSON.stringify(value)}`);
  }
  const entries = Object.entries(value);
  const [first] = entries;
  if (entries.length !== 1 || !first)
    throw new Error(`unexpected object in definition: ${JSON.stringify(value)}`);
  const [fn, args] = first;
  if (fn === 'Ref' && typeof args === 'string') {
    const pseudo = PSEUDO_PARAMETERS[args];
    if (pseudo) return pseudo;
    throw new Error(`the definition references ${args}, which the local stack cannot resolve`);
  }
  if (fn === 'Fn::GetAtt' && Array.isArray(args) && args[1] === 'Arn') {
    const arn = arnByLogicalId.get(String(args[0]));
    if (arn) return arn;
    throw new Error(
      `the definition references ${String(args[0])}.Arn, which is not a Countersign function`,
    );
  }
  if (
    fn === 'Fn::Join' &&
    Array.isArray(args) &&
    typeof args[0] === 'string' &&
    Array.isArray(args[1])
  ) {
    return args[1].map((part) => String(resolveIntrinsics(part, arnByLogicalId))).join(args[0]);
  }
  throw new Error(`the definition uses ${fn}, which the local stack cannot resolve`);
}
