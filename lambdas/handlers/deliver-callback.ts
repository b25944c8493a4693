import { z } from 'zod';
import { deliverCallback } from '../core/callbacks';
import { callbackDeps } from '../shared/deps';

const inputSchema = z.object({
  intent_id: z.string().min(1),
  retry_count: z.number().int().min(0),
});

/**
 * State machine task "DeliverCallback": one signed delivery attempt of the final intent to its
 * callback_url. A retryable failure throws, and the task's Retry schedules the next attempt.
 */
export const handler = async (event: unknown) =>
  deliverCallback(await callbackDeps(), inputSchema.parse(event));
