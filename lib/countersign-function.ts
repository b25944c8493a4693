import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, type CfnFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
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
  /**
   * Extra environment variables.
   * @default - none
   */
  readonly environment?: Record<string, string>;
}

/**
 * The house Lambda function: Node 22 on ARM64, bundled with esbuild, source maps on, its own
 * log group with a retention, and metadata that lets the local stack find the handler module.
 * Its role starts empty (no AWS managed policy): it may write to its own log group, and every
 * other permission is granted by the construct that wires it.
 */
export class CountersignFunction extends NodejsFunction {
  constructor(scope: Construct, id: string, props: CountersignFunctionProps) {
    const logGroup = new LogGroup(scope, `${id}-logs`, {
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const role = new Role(scope, `${id}-role`, {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
    });
    logGroup.grantWrite(role);
    super(scope, id, {
      entry: path.join(REPOSITORY_ROOT, props.spec.entry),
      handler: 'handler',
      description: `Countersign: ${props.spec.description}`,
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      memorySize: 512,
      timeout: Duration.seconds(props.spec.timeoutSeconds),
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        ...props.environment,
      },
      bundling: {
        minify: true,
        sourceMap: true,
        target: 'node22',
      },
      logGroup,
      role,
    });
    (this.node.defaultChild as CfnFunction).addMetadata(FUNCTION_METADATA_KEY, props.spec.id);
  }

  /** Gives the function the table name and the access it needs, in one call. */
  bindTable(table: ITable, access: 'read' | 'readwrite'): void {
    this.addEnvironment('TABLE_NAME', table.tableName);
    if (access === 'read') table.grantReadData(this);
    else table.grantReadWriteData(this);
  }
}
