import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { FUNCTIONS, type FunctionSpec } from '../lambdas/functions';
import { FUNCTION_METADATA_KEY } from '../lib/countersign-function';
import { CountersignStack } from '../lib/countersign-stack';

/**
 * The local stack runs the state machine that CDK synthesizes, never a copy: this synthesizes
 * the same stack in-process (asset bundling skipped, it is not needed to read the template),
 * takes the state machine's DefinitionString, and resolves its intrinsic functions for local
 * ARNs. Each Lambda ARN in the definition maps back to the handler module that the CDK
 * construct deploys for it.
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

export function localFunctionArn(spec: FunctionSpec): string {
  return `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:countersign-${spec.id}`;
}

export function synthesizeTemplate(): { Resources: Record<string, CfnResource> } {
  const outdir = mkdtempSync(path.join(tmpdir(), 'countersign-synth-'));
  try {
    const app = new App({ outdir, context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new CountersignStack(app, 'Countersign', {
      env: { account: LOCAL_ACCOUNT, region: LOCAL_REGION },
    });
    return app.synth().getStackByName(stack.stackName).template as {
      Resources: Record<string, CfnResource>;
    };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

export function loadLocalDefinition(
  template: { Resources: Record<string, CfnResource> } = synthesizeTemplate(),
): LocalDefinition {
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
export function resolveIntrinsics(value: unknown, arnByLogicalId: Map<string, string>): unknown {
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
