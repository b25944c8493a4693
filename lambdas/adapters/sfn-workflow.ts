import { SendTaskSuccessCommand, type SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { Workflow } from '../core/ports';

/** Errors meaning "this token is no longer waiting": the stage already ended, which is fine. */
const STALE_TOKEN_ERRORS = new Set(['TaskTimedOut', 'TaskDoesNotExist', 'InvalidToken']);

export class StepFunctionsWorkflow implements Workflow {
  constructor(
    private readonly sfn: SFNClient,
    /** Only starting needs it; functions that only answer tokens do not get it configured. */
    private readonly stateMachineArn: () => string,
  ) {}

  async start(intentId: string): Promise<void> {
    try {
      // The intent id is the execution name: a repeated start is a no-op, never a second execution.
      await this.sfn.send(
        new StartExecutionCommand({
          stateMachineArn: this.stateMachineArn(),
          name: intentId,
          input: JSON.stringify({ intent_id: intentId }),
        }),
      );
    } catch (error) {
      // Same name, already closed: the intent's workflow ran; nothing to start.
      if (error instanceof Error && error.name === 'ExecutionAlreadyExists') return;
      throw error;
    }
  }

  async wake(taskToken: string, output: Record<string, unknown>): Promise<'delivered' | 'stale'> {
    try {
      await this.sfn.send(
        new SendTaskSuccessCommand({ taskToken, output: JSON.stringify(output) }),
      );
      return 'delivered';
    } catch (error) {
      if (error instanceof Error && STALE_TOKEN_ERRORS.has(error.name)) return 'stale';
      throw error;
    }
  }
}
