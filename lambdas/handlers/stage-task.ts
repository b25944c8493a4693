import { z } from 'zod';
import { runStage } from '../core/stage-runner';
import { stageRunnerDeps } from '../shared/deps';
import { type InvocationContext, invocationLogger } from '../shared/logger';

const inputSchema = z.object({
  intent_id: z.string().min(1),
  step: z.number().int().min(0),
  stage: z.number().int().min(0),
  task_token: z.string().min(1),
});

/** State machine callback task "AwaitDecision": store the token, notify, and return; the decision answers the token. */
export const handler = async (event: unknown, context?: InvocationContext) => {
  const input = inputSchema.parse(event);
  // The task token is a credential for this execution: it is never logged.
  const log = invocationLogger(context, {
    intent_id: input.intent_id,
    task: 'AwaitDecision',
    step: input.step,
    stage: input.stage,
  });
  try {
    const result = await runStage(await stageRunnerDeps(), input);
    log.info('stage entered', { ...result });
    return result;
  } catch (error) {
    log.error('stage failed', { error });
    throw error;
  }
};
