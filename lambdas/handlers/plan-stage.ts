import { z } from 'zod';
import { planNextStage } from '../core/stage-runner';
import { planStageDeps } from '../shared/deps';
import { type InvocationContext, invocationLogger } from '../shared/logger';

const inputSchema = z.object({ intent_id: z.string().min(1) });

/** State machine task "PlanStage": finish, time out, or the next pause. */
export const handler = async (event: unknown, context?: InvocationContext) => {
  const { intent_id } = inputSchema.parse(event);
  const log = invocationLogger(context, { intent_id, task: 'PlanStage' });
  try {
    const plan = await planNextStage(planStageDeps(), intent_id);
    log.info('planned', { ...plan });
    return plan;
  } catch (error) {
    log.error('plan failed', { error });
    throw error;
  }
};
