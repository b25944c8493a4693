import { DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DescribeStateMachineCommand, type SFNClient } from '@aws-sdk/client-sfn';
import type { FieldIssue } from '../domain/errors';

/**
 * Readiness (`GET /healthz?ready=1`): whether what the API needs answers now. The table is
 * described (one cheap control-plane read, granted on this table alone); the workflow engine is
 * asked to describe the state machine only where it is given (the local stack, whose engine is
 * a part that can be down; in AWS it is Step Functions itself). Each check has `timeoutMs`.
 */
export interface ReadinessTargets {
  dynamo: DynamoDBClient;
  tableName: string;
  sfn?: SFNClient;
  stateMachineArn?: string;
  timeoutMs?: number;
}

export async function readinessProblems(targets: ReadinessTargets): Promise<FieldIssue[]> {
  const abortSignal = AbortSignal.timeout(targets.timeoutMs ?? 3000);
  const checks: Promise<FieldIssue | undefined>[] = [
    check('store', async () => {
      const { Table } = await targets.dynamo.send(
        new DescribeTableCommand({ TableName: targets.tableName }),
        { abortSignal },
      );
      if (Table?.TableStatus !== 'ACTIVE' && Table?.TableStatus !== 'UPDATING') {
        throw new Error(`the table is ${String(Table?.TableStatus)}`);
      }
    }),
  ];
  const { sfn, stateMachineArn } = targets;
  if (sfn && stateMachineArn) {
    checks.push(
      check('engine', async () => {
        await sfn.send(new DescribeStateMachineCommand({ stateMachineArn }), { abortSignal });
      }),
    );
  }
  return (await Promise.all(checks)).filter((issue) => issue !== undefined);
}

async function check(field: string, probe: () => Promise<void>): Promise<FieldIssue | undefined> {
  try {
    await probe();
    return undefined;
  } catch (error) {
    const reason = error instanceof Error ? error.name : 'error';
    return { field, message: `does not answer (${reason})` };
  }
}
