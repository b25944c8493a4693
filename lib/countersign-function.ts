import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import {
  type AddToPrincipalPolicyResult,
  type IGrantable,
  type IPrincipal,
  type PolicyStatement,
  Role,
  ServicePrincipal,
} from 'aws-cdk-lib/aws-iam';
import { Architecture, type CfnFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { FUNCTION_METADATA_KEY, type FunctionSpec } from '../lambdas/functions';

export const REPOSITORY_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export { FUNCTION_METADATA_KEY } from '../lambdas/functions';

export interface CountersignFunctionProps {
  /** The function's entry in `lambdas/functions.ts`. */
  readonly spec: FunctionSpec;
  /**
   * How long the function's logs are kept.
   * @default - one month
   */
  readonly logRetention?: RetentionDays;
}

/**
 * The house Lambda function: Node 22 on ARM64, bundled with esbuild, source maps on, its own
 * log group with a retention and its own role, and metadata that lets the local stack find the
 * handler module. The role starts empty (no AWS managed policy): it may write to its own log
 * group, and every other permission is granted by the construct that wires it. The function is
 * the `Default` child, so its logical id is the one this construct's id gives.
 */
export class CountersignFunction extends Construct implements IGrantable {
  readonly lambda: NodejsFunction;
  readonly role: Role;
  readonly logGroup: LogGroup;
  readonly grantPrincipal: IPrincipal;

  constructor(scope: Construct, id: string, props: CountersignFunctionProps) {
    super(scope, id);
    this.logGroup = new LogGroup(this, 'Logs', {
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
    });
    this.logGroup.grantWrite(this.role);
    this.grantPrincipal = this.role;
    this.lambda = new NodejsFunction(this, 'Default', {
      entry: path.join(REPOSITORY_ROOT, props.spec.entry),
      handler: 'handler',
      description: `Countersign: ${props.spec.description}`,
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      memorySize: 512,
      timeout: Duration.seconds(props.spec.timeoutSeconds),
      environment: { NODE_OPTIONS: '--enable-source-maps' },
      bundling: {
        minify: true,
        sourceMap: true,
        target: 'node22',
      },
      logGroup: this.logGroup,
      role: this.role,
    });
    (this.lambda.node.defaultChild as CfnFunction).addMetadata(
      FUNCTION_METADATA_KEY,
      props.spec.id,
    );
  }

  addEnvironment(name: string, value: string): void {
    this.lambda.addEnvironment(name, value);
  }

  addToRolePolicy(statement: PolicyStatement): AddToPrincipalPolicyResult {
    return this.role.addToPrincipalPolicy(statement);
  }
}
