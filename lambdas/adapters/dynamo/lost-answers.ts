import {
  ConditionalCheckFailedException,
  TransactionCanceledException,
} from '@aws-sdk/client-dynamodb';
import { WRITE_ID } from './intent-items';

/**
 * Telling DynamoDB's refusals apart. A write whose answer was lost (a timeout, a dropped
 * connection, a 5xx) is sent again by the SDK, and its condition then fails against the write
 * itself: the META it finds says which write put it there (`WRITE_ID`), at no read cost
 * (`ReturnValuesOnConditionCheckFailure: ALL_OLD`). See docs/architecture.md, "Exactly once".
 */

/** The META a refused write found, as DynamoDB returned it (attribute values, not plain). */
function storedMeta(error: unknown): Record<string, { S?: string; N?: string }> | undefined {
  if (error instanceof TransactionCanceledException) {
    // In a lone write the META is the first action, and reasons come in the order of the actions.
    return error.CancellationReasons?.[0]?.Item as Record<string, { S?: string }> | undefined;
  }
  if (error instanceof ConditionalCheckFailedException) {
    return error.Item as Record<string, { S?: string }> | undefined;
  }
  return undefined;
}

/**
 * Whether a refused write found the META that it wrote itself: the SDK retried it after an
 * attempt that landed but whose answer was lost. Another writer's META, or none, is a refusal
 * like any other.
 */
export function ownWriteLanded(error: unknown, writeId: string): boolean {
  return storedMeta(error)?.[WRITE_ID]?.S === writeId;
}

/**
 * Whether a refused write found its expected version on a META written before listing items
 * existed (it still carries the old status index key, `gsi2pk`): the write is then sent again
 * as if the intent had no listing items yet, which puts them all.
 */
export function foundLegacyMeta(error: unknown, expectedVersion: number): boolean {
  const stored = storedMeta(error);
  return stored?.gsi2pk !== undefined && stored.version?.N === String(expectedVersion);
}

/**
 * The write lost to another: its version condition failed, or another transaction held one of
 * its items (`TransactionConflict`). Either way the caller reads again and decides again.
 */
export function isConditionFailure(error: unknown): boolean {
  if (error instanceof TransactionCanceledException) {
    return (error.CancellationReasons ?? []).some(
      (reason) => reason.Code === 'ConditionalCheckFailed' || reason.Code === 'TransactionConflict',
    );
  }
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}

/** DynamoDB refused the request as a whole before writing anything. */
export function nothingWritten(error: unknown): boolean {
  return (
    error instanceof TransactionCanceledException ||
    (error instanceof Error && error.name === 'ValidationException')
  );
}
