import {
  DescribeExecutionCommand,
  SendTaskSuccessCommand,
  type SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import type { ExecutionStatus, Workflow, WorkflowExecutions } from '../core/ports';
import { DomainError } from '../domain/errors';

/** Errors meaning "this token is no longer waiting": the stage already ended, which is fine. */
const STALE_TOKEN_ERRORS = new Set(['TaskTimedOut', 'TaskDoesNotExist', 'InvalidToken']);
/**
 * Step Functions' API throttling (docs/deploy.md, "Limits"), still there after the AWS SDK's own
 * retries: a start is answered 429 with Retry-After (the intent is stored; the create's retry,
 * same Idempotency-Key, starts it), a wake is left to the next planned stage.
 */
const THROTTLED = new Set(['ThrottlingException', 'TooManyRequestsException']);
const isThrottled = (error: unknown) => error instanceof Error && THROTTLED.has(error.name);

export class StepFunctionsWorkflow implements Workflow, WorkflowExecutions {
  constructor(
    private readonly sfn: SFNClient,
    /** Only starting needs it; functions that only answer tokens do not get it configured. */
    private readonly stateMachineArn: () => string,
  ) {}

  async start(intentId: string, executionName?: string): Promise<void> {
    // The intent id is the execution name: a repeated start is a no-op, never a second execution.
    await this.startNamed(executionName ?? intentId, intentId);
  }

  /** The reconciler's restarts use `<intent id>-r<n>`; the input is always the intent id only. */
  async startNamed(executionName: string, intentId: string): Promise<void> {
    try {
      await this.sfn.send(
        new StartExecutionCommand({
          stateMachineArn: this.stateMachineArn(),
          name: executionName,
          input: JSON.stringify({ intent_id: intentId }),
        }),
      );
    } catch (error) {
      // Same name, already closed: the intent's workflow ran; nothing to start.
      if (error instanceof Error && error.name === 'ExecutionAlreadyExists') return;
      if (isThrottled(error)) {
        throw new DomainError('rate_limited', 'Too many approvals are starting; retry shortly.', {
          cause: error,
          retryAfterSeconds: 1,
        });
      }
      throw error;
    }
  }

  async status(executionName: string): Promise<ExecutionStatus | null> {
    try {
      const result = await this.sfn.send(
        new DescribeExecutionCommand({ executionArn: this.executionArn(executionName) }),
      );
      return (result.status as ExecutionStatus | undefined) ?? null;
    } catch (error) {
      if (error instanceof Error && error.name === 'ExecutionDoesNotExist') return null;
      throw error;
    }
  }

  /** `arn:…:stateMachine:<machine>` → `arn:…:execution:<machine>:<name>`. */
  private executionArn(executionName: string): string {
    const machineArn = this.stateMachineArn();
    const marker = ':stateMachine:';
    const at = machineArn.indexOf(marker);
    if (at < 0) throw new Error(`not a state machine ARN: ${machineArn}`);
    return `${machineArn.slice(0, at)}:execution:${machineArn.slice(at + marker.length)}:${executionName}`;
  }

  async wake(
    taskToken: string,
    output: Record<string, unknown>,
  ): Promise<'delivered' | 'stale' | 'throttled'> {
    try {
      await this.sfn.send(
        new SendTaskSuccessCommand({ taskToken, output: JSON.stringify(output) }),
      );
      return 'delivered';
    } catch (error) {
      if (error instanceof Error && STALE_TOKEN_ERRORS.has(error.name)) return 'stale';
      if (isThrottled(error)) return 'throttled';
      throw error;
    }
  }
}
