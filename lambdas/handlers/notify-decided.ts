import { z } from 'zod';
import { notifyDecided } from '../core/stage-runner';
import { stageRunnerDeps } from '../shared/deps';
import { type InvocationContext, invocationLogger } from '../shared/logger';

const inputSchema = z.object({
  intent_id: z.string().min(1),
  attempt: z.number().int().min(0),
});

/**
 * State machine task "NotifyDecided": once the intent is final, emails everyone it reached and
 * rewrites its Slack messages with the outcome. Failed notices make it throw, so its Retry
 * tries them again; its Catch lets the execution go on to the callback whatever happens.
 */
export const handler = async (event: unknown, context?: InvocationContext) => {
  const input = inputSchema.parse(event);
  const log = invocationLogger(context, {
    intent_id: input.intent_id,
    task: 'NotifyDecided',
    attempt: input.attempt,
  });
  try {
    const result = await notifyDecided(await stageRunnerDeps(), input);
    log.info('decided notices sent', { ...result });
    return result;
  } catch (error) {
    log.warn('decided notices not all sent', { error });
    throw error;
  }
};
