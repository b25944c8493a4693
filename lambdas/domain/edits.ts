/**
 * Edit before approve. An agent's request may name values a reviewer may change before
 * approving (`editable`, JSON Pointers of RFC 6901 into the payload); a reviewer approving with
 * `edits` (`{"/amount": 40000}`) makes a new version of the payload, which is what later
 * approvers see and what the agent runs once approved (`approved_payload`). An editable pointer
 * must name a string, number or boolean the payload holds, and an edit keeps its type: a form
 * field, a Slack input and the CLI's `--set` can all edit such a value, and what the agent
 * receives has the shape it sent. The payload as asked is never changed; the edits so far are
 * kept beside it (`edits`, relative to the payload as asked) and the version counts them.
 */
import { z } from 'zod';
import type { Edits, EditValue } from '../../sdk/src/types';
import type { FieldIssue } from './errors';

export type { Edits, EditValue };

export const MAX_EDITABLE = 50;
const MAX_POINTER_LENGTH = 500;
/** The edits of one intent, as JSON, at most this long: they live on the intent item. */
export const MAX_EDITS_BYTES = 16 * 1024;
/**
 * Numbers the store keeps exactly as JSON has them (DynamoDB holds magnitudes up to 9.9E+125
 * and down to 1E-130); an edited number outside is refused rather than failing the write.
 */
const MAX_NUMBER_MAGNITUDE = 1e125;
const MIN_NUMBER_MAGNITUDE = 1e-130;

export const editableSchema = z
  .array(z.string().max(MAX_POINTER_LENGTH))
  .max(MAX_EDITABLE, `must name at most ${MAX_EDITABLE} pointers`);

/** The edits of a decision: pointers to values; checked against the intent by `editIssues`. */
export const editsSchema = z
  .record(z.string().max(MAX_POINTER_LENGTH), z.unknown())
  .refine((edits) => Object.keys(edits).length <= MAX_EDITABLE, {
    message: `must change at most ${MAX_EDITABLE} values`,
  });

/** The reference tokens of a JSON Pointer, or null when it is not one (the root is not editable). */
export function parsePointer(pointer: string): string[] | null {
  if (!pointer.startsWith('/')) return null;
  const tokens = pointer.slice(1).split('/');
  if (tokens.some((token) => /~[^01]|~$/.test(token))) return null;
  return tokens.map((token) => token.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function childOf(container: unknown, token: string): { found: true; value: unknown } | null {
  if (Array.isArray(container)) {
    if (!/^(0|[1-9]\d*)$/.test(token) || Number(token) >= container.length) return null;
    return { found: true, value: container[Number(token)] };
  }
  if (container !== null && typeof container === 'object' && Object.hasOwn(container, token)) {
    return { found: true, value: (container as Record<string, unknown>)[token] };
  }
  return null;
}

/** The value at `pointer`, or undefined when the payload holds none there. */
export function valueAt(payload: unknown, pointer: string): unknown {
  const tokens = parsePointer(pointer);
  if (!tokens) return undefined;
  let current: unknown = payload;
  for (const token of tokens) {
    const child = childOf(current, token);
    if (!child) return undefined;
    current = child.value;
  }
  return current;
}

function isEditValue(value: unknown): value is EditValue {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';
}

/** Why the create request's `editable` cannot be accepted for this payload (one issue per pointer). */
export function editableIssues(payload: unknown, editable: readonly string[]): FieldIssue[] {
  return editable.flatMap((pointer, index): FieldIssue[] => {
    const field = `editable.${index}`;
    if (!parsePointer(pointer)) {
      return [
        { field, message: `${JSON.stringify(pointer)} is not a JSON Pointer such as /amount` },
      ];
    }
    if (editable.indexOf(pointer) !== index) {
      return [{ field, message: `${pointer} is named twice` }];
    }
    const value = valueAt(payload, pointer);
    if (value === undefined) return [{ field, message: `${pointer} is not in the payload` }];
    if (!isEditValue(value)) {
      return [{ field, message: `${pointer} must name a string, number or boolean` }];
    }
    return [];
  });
}

/** Why a decision's `edits` cannot apply to this intent; each issue names its pointer. */
export function editIssues(
  intent: { payload: Record<string, unknown>; editable?: readonly string[] },
  edits: Record<string, unknown>,
): FieldIssue[] {
  const editable = intent.editable ?? [];
  const issues = Object.entries(edits).flatMap(([pointer, value]): FieldIssue[] => {
    const field = `edits.${pointer}`;
    if (!editable.includes(pointer)) {
      return [{ field, message: `${pointer} is not editable on this intent` }];
    }
    const original = valueAt(intent.payload, pointer);
    if (typeof value !== typeof original) {
      return [{ field, message: `must stay a ${typeof original}, not ${jsonType(value)}` }];
    }
    if (typeof value === 'number') {
      const magnitude = Math.abs(value);
      if (magnitude > MAX_NUMBER_MAGNITUDE || (magnitude > 0 && magnitude < MIN_NUMBER_MAGNITUDE)) {
        return [{ field, message: 'must be 0 or of a magnitude between 1e-130 and 1e125' }];
      }
    }
    return [];
  });
  return issues;
}

function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/**
 * The edits after a reviewer's `edits` on top of `current` (both relative to the payload as
 * asked): a value set back to what was asked is no edit. Callers check `editIssues` first.
 */
export function mergeEdits(
  payload: Record<string, unknown>,
  current: Edits,
  edits: Record<string, unknown>,
): Edits {
  const merged: Edits = { ...current };
  for (const [pointer, value] of Object.entries(edits)) {
    if (!isEditValue(value)) continue;
    if (valueAt(payload, pointer) === value) delete merged[pointer];
    else merged[pointer] = value;
  }
  return merged;
}

/** Whether two sets of edits change the same values to the same values. */
export function sameEdits(a: Edits, b: Edits): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => b[key] === a[key]);
}

/** Whether the edits fit on the intent item (see `MAX_EDITS_BYTES`). */
export function editsTooLarge(edits: Edits): FieldIssue[] {
  const bytes = Buffer.byteLength(JSON.stringify(edits), 'utf8');
  return bytes > MAX_EDITS_BYTES
    ? [
        {
          field: 'edits',
          message: `are ${bytes} bytes as JSON; at most ${MAX_EDITS_BYTES} are kept`,
        },
      ]
    : [];
}

/** The payload with the edits applied; the payload itself is never changed. */
export function applyEdits(
  payload: Record<string, unknown>,
  edits: Edits,
): Record<string, unknown> {
  const pointers = Object.keys(edits);
  if (pointers.length === 0) return payload;
  const copy = structuredClone(payload);
  for (const pointer of pointers) {
    const tokens = parsePointer(pointer);
    const value = edits[pointer];
    if (!tokens || value === undefined) continue;
    let container: unknown = copy;
    for (const token of tokens.slice(0, -1)) container = childOf(container, token)?.value;
    const last = tokens.at(-1) as string;
    if (childOf(container, last)) {
      if (Array.isArray(container)) container[Number(last)] = value;
      else (container as Record<string, unknown>)[last] = value;
    }
  }
  return copy;
}

/**
 * A value typed into a form field (the review page, a Slack modal) read as the type of the
 * value it edits: a number, `true`/`false`, or the text itself.
 */
export function editFromText(
  current: unknown,
  raw: string,
): { value: EditValue } | { problem: string } {
  if (typeof current === 'number') {
    const number = raw.trim() === '' ? Number.NaN : Number(raw.trim());
    return Number.isFinite(number) ? { value: number } : { problem: 'must be a number' };
  }
  if (typeof current === 'boolean') {
    const word = raw.trim().toLowerCase();
    return word === 'true' || word === 'false'
      ? { value: word === 'true' }
      : { problem: 'must be true or false' };
  }
  return { value: raw };
}
