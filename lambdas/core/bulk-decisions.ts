import { z } from 'zod';
import type { IntentView } from '../domain/intent';
import type { Principal } from './auth';
import { requireRole } from './auth';
import { decideIntent, type IntentServiceDeps } from './intents';

/**
 * Decisions in bulk (`POST /v1/decisions`, the inbox's "approve several"): each item goes
 * through the single decision's own path (`decideIntent`, or the inbox's vote), so each result is
 * what deciding that intent alone would have answered, and one item's failure is its own result,
 * never another's. Items are independent intents, decided a few at a time (the store groups
 * their reads and writes, `adapters/coalescer.ts`).
 */
export const MAX_BULK_DECISIONS = 100;
/** Items in flight at once: enough to fill a grouped write, few enough to stay polite. */
const CONCURRENCY = 10;

export type ItemSettled =
  | { intent_id: string; ok: true; intent: IntentView }
  | { intent_id: string; ok: false; error: unknown };

const intentIdSchema = z.string().min(1).max(100);

/**
 * The envelope only: the rest of each item (`outcome`, `comment`, `channel`, …) is the single
 * decision's body, checked by the single decision. One intent twice is refused as a whole, since
 * the two items would contradict or repeat each other, and which came "first" would be arbitrary.
 */
export const bulkSchema = z
  .object({
    decisions: z
      .array(z.looseObject({ intent_id: intentIdSchema }))
      .min(1)
      .max(MAX_BULK_DECISIONS),
  })
  .strict()
  .superRefine((input, ctx) => {
    const seen = new Map<string, number>();
    input.decisions.forEach((item, index) => {
      const first = seen.get(item.intent_id);
      if (first === undefined) seen.set(item.intent_id, index);
      else
        ctx.addIssue({
          code: 'custom',
          path: ['decisions', index, 'intent_id'],
          message: `repeats decisions.${first}.intent_id: decide each intent once per request`,
        });
    });
  });

/** `POST /v1/decisions`: every item through `decideIntent`, results in the order asked. */
export async function decideMany(
  deps: IntentServiceDeps,
  principal: Principal,
  body: Record<string, unknown>,
): Promise<ItemSettled[]> {
  requireRole(principal, 'reviewer', 'admin');
  const { decisions } = bulkSchema.parse(body);
  return settleEach(
    decisions.map((item) => item.intent_id),
    (id, index) => {
      const { intent_id: _id, ...single } = decisions[index] ?? { intent_id: id };
      return decideIntent(deps, principal, id, single);
    },
  );
}

/**
 * Runs `decide` for each id, `CONCURRENCY` at a time, and keeps each outcome (an intent or the
 * error it threw) in the order of `ids`. Nothing one item throws stops another.
 */
export async function settleEach(
  ids: readonly string[],
  decide: (id: string, index: number) => Promise<IntentView>,
): Promise<ItemSettled[]> {
  const results: ItemSettled[] = new Array(ids.length);
  let next = 0;
  const worker = async () => {
    for (let index = next++; index < ids.length; index = next++) {
      const id = ids[index] as string;
      try {
        results[index] = { intent_id: id, ok: true, intent: await decide(id, index) };
      } catch (error) {
        results[index] = { intent_id: id, ok: false, error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, ids.length) }, worker));
  return results;
}
