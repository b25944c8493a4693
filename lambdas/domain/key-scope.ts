import { z } from 'zod';
import { DomainError } from './errors';

/**
 * What an agent key may ask for. An operator can scope a key to intent types (`intent_types`):
 * each pattern is an exact type (`intent.refund.v1`), a prefix ending in `*`
 * (`intent.refund.*`), or `*` alone for every type; a key without patterns may create any
 * type. Creating an intent of a type outside the key's patterns is 403 `forbidden`.
 */
export const intentTypePatternSchema = z
  .string()
  .max(200)
  .regex(
    /^(\*|[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*(\.?\*)?)$/,
    'must be an intent type, a prefix ending in * (intent.refund.*), or * alone',
  );

function intentTypeAllowed(patterns: readonly string[] | undefined, intentType: string): boolean {
  if (!patterns) return true;
  return patterns.some((pattern) =>
    pattern.endsWith('*') ? intentType.startsWith(pattern.slice(0, -1)) : pattern === intentType,
  );
}

export function assertIntentTypeAllowed(
  patterns: readonly string[] | undefined,
  intentType: string,
): void {
  if (intentTypeAllowed(patterns, intentType)) return;
  throw new DomainError('forbidden', `This key may not create intents of type ${intentType}.`, {
    details: [
      {
        field: 'intent_type',
        message: `${intentType} is not one of the key's intent types: ${patterns?.join(', ')}`,
      },
    ],
  });
}
