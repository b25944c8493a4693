import { z } from 'zod';
import { planNextStage } from '../core/stage-runner';
import { stageRunnerDeps } from '../shared/deps';

const inputSchema = z.object({ intent_id: z.string().min(1) });

/** State machine task "PlanStage": finish, time out, or the next pause. */
export const handler = async (event: unknown) => {
  const { intent_id } = inputSchema.parse(event);
  return planNextStage(await stageRunnerDeps(), intent_id);
};
