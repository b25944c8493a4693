import { InvalidCursorError } from '../../core/ports';

/**
 * List cursors: opaque to callers, the sort key of the last item returned (every partition of
 * the list resumes below it), base64url JSON so that it can be extended later.
 */
export function encodeCursor(boundary: string): string {
  return Buffer.from(JSON.stringify({ b: boundary }), 'utf8').toString('base64url');
}

/** Returns the boundary, or throws `InvalidCursorError` (400 `invalid_request` to the caller). */
export function decodeCursor(cursor: string): string {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (parsed && typeof parsed === 'object' && 'b' in parsed && typeof parsed.b === 'string') {
      return parsed.b;
    }
  } catch {
    // fall through
  }
  throw new InvalidCursorError();
}
