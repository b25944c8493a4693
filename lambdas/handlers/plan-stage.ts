import { z } from 'zod';
import { planNextStage } from '../core/stage-runner';
import { planStageDeps } from '../shared/deps';
import { type InvocationContext, invocationLogger } from '../shared/logger';

const inputSchema = z.object({
  intent_id: z.string().min(1),
  /** The asking execution's name: one superseded during its reminder hold stops. */
  execution: z.string().min(1).optional(),
});

/** State machine task "PlanStage": finish, time out, or the next pause. */
export const handler = async (event: unknown, context?: InvocationContext) => {
  const { intent_id, execution } = inputSchema.parse(event);
  const log = invocationLogger(context, { intent_id, task: 'PlanStage' });
  try {
    const plan = await planNextStage(planStageDeps(), intent_id, execution);
    log.info('planned', { ...plan });
    return plan;
  } catch (error) {
    log.error('plan failed', { error });
    throw error;
  }
};
