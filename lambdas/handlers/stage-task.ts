import { z } from 'zod';
import { runStage } from '../core/stage-runner';
import { stageRunnerDeps } from '../shared/deps';

const inputSchema = z.object({
  intent_id: z.string().min(1),
  step: z.number().int().min(0),
  stage: z.number().int().min(0),
  task_token: z.string().min(1),
});

/** State machine callback task "AwaitDecision": store the token, notify, and return; the decision answers the token. */
export const handler = async (event: unknown) =>
  runStage(await stageRunnerDeps(), inputSchema.parse(event));
