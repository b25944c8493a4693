/**
 * The JSONPath subset Step Functions definitions use in practice (and everything CDK emits):
 * `$`, `$.a.b`, `$.a[0]`, `$['a']`, `$["a"]`, `$.a.['b']`, and the same rooted at `$$` (the context
 * object). Anything that could select several nodes (`*`, `..`, filters, slices, unions, negative
 * indexes) is valid JSONPath that this engine does not implement: it raises PathUnsupportedError,
 * as opposed to PathSyntaxError for text that is not a JSONPath at all. Either way the definition
 * is refused when it is loaded, so a path always designates at most one value.
 *
 * Bracket-quoted names are taken literally up to the closing quote: a backslash is an ordinary
 * character there, as in AWS (its JSONPath implementation has no escapes inside quoted names).
 */
import { isJsonObject, type Json } from './json.js';

export type PathSegment = string | number;

export interface ParsedPath {
  /** The text as written in the definition, kept for error messages. */
  readonly text: string;
  /** `$$` paths read the context object, `$` paths the state's data. */
  readonly root: 'data' | 'context';
  readonly segments: readonly PathSegment[];
}

export class PathSyntaxError extends Error {
  override name = 'PathSyntaxError';
}

/** Valid JSONPath that can select several nodes (wildcards, filters, slices, unions, `..`). */
export class PathUnsupportedError extends PathSyntaxError {
  override name = 'PathUnsupportedError';
}

const NAME_STOP = new Set(['.', '[', ']', "'", '"', '*', '(', ')', '?', '@', ',', ' ']);

export function parsePath(text: string): ParsedPath {
  let position: number;
  let root: ParsedPath['root'];
  if (text.startsWith('$$')) {
    root = 'context';
    position = 2;
  } else if (text.startsWith('$')) {
    root = 'data';
    position = 1;
  } else {
    throw new PathSyntaxError(`"${text}" is not a JSONPath: it must start with "$"`);
  }
  const segments: PathSegment[] = [];
  while (position < text.length) {
    const char = text[position];
    if (char === '.') {
      if (text[position + 1] === '.') {
        throw new PathUnsupportedError(`"${text}": recursive descent ("..") is not supported`);
      }
      if (text[position + 1] === '[') {
        // `$.a.['b c']`: a dot before a bracket is allowed (the AWS docs' own example).
        position++;
        continue;
      }
      let end = position + 1;
      while (end < text.length && !NAME_STOP.has(text[end] ?? '')) end++;
      const name = text.slice(position + 1, end);
      if (name.length === 0) {
        if (text[end] === '*') {
          throw new PathUnsupportedError(`"${text}": wildcards ("*") are not supported`);
        }
        const offending = text[end] ?? 'end of path';
        throw new PathSyntaxError(`"${text}": missing field name at "${offending}"`);
      }
      segments.push(name);
      position = end;
    } else if (char === '[') {
      const quote = text[position + 1];
      if (quote === "'" || quote === '"') {
        const end = text.indexOf(quote, position + 2);
        if (end === -1) throw new PathSyntaxError(`"${text}": unterminated bracket field name`);
        if (text[end + 1] !== ']') {
          if (text[end + 1] === ',') {
            throw new PathUnsupportedError(`"${text}": unions ("[...,...]") are not supported`);
          }
          throw new PathSyntaxError(`"${text}": unterminated bracket field name`);
        }
        segments.push(text.slice(position + 2, end));
        position = end + 2;
      } else {
        const close = text.indexOf(']', position);
        if (close === -1) throw new PathSyntaxError(`"${text}": unterminated "["`);
        const inner = text.slice(position + 1, close).trim();
        if (/^\d+$/.test(inner)) {
          segments.push(Number(inner));
          position = close + 1;
          continue;
        }
        const kind = unsupportedSelector(inner);
        if (kind)
          throw new PathUnsupportedError(`"${text}": ${kind} ("[${inner}]") are not supported`);
        throw new PathSyntaxError(`"${text}": "[${inner}]" is not an array index or a quoted name`);
      }
    } else {
      throw new PathSyntaxError(
        `"${text}": unexpected character "${char}" at position ${position}`,
      );
    }
  }
  return { text, root, segments };
}

/** Names the valid JSONPath selector `[inner]` is, if it is one this engine does not implement. */
function unsupportedSelector(inner: string): string | undefined {
  if (inner === '*') return 'wildcards';
  if (inner.startsWith('?')) return 'filters';
  if (inner.startsWith('(')) return 'script expressions';
  if (/^-?\d*:-?\d*(:-?\d*)?$/.test(inner)) return 'slices';
  if (/^-\d+$/.test(inner)) return 'negative indexes';
  if (/^-?\d+(\s*,\s*-?\d+)+$/.test(inner)) return 'unions';
  return undefined;
}

/** Returns the selected value, or undefined when the path does not exist in `data`. */
export function readPath(data: Json, segments: readonly PathSegment[]): Json | undefined {
  let current: Json | undefined = data;
  for (const segment of segments) {
    if (current === undefined) return undefined;
    if (typeof segment === 'number') {
      current = Array.isArray(current) ? current[segment] : undefined;
    } else {
      current =
        isJsonObject(current) && Object.hasOwn(current, segment) ? current[segment] : undefined;
    }
  }
  return current;
}

/**
 * Returns a copy of `data` with `value` placed at the path, creating intermediate objects as
 * ResultPath does. Only the objects along the path are copied. Returns undefined when the path
 * cannot be created (an intermediate value is a scalar, or an array index is out of range).
 */
export function writePath(
  data: Json,
  segments: readonly PathSegment[],
  value: Json,
): Json | undefined {
  if (segments.length === 0) return value;
  const [head, ...rest] = segments;
  if (typeof head === 'number') {
    if (!Array.isArray(data) || head >= data.length) return undefined;
    const child = writePath(data[head] ?? null, rest, value);
    if (child === undefined) return undefined;
    const copy = data.slice();
    copy[head] = child;
    return copy;
  }
  if (head === undefined || !isJsonObject(data)) return undefined;
  const existing = Object.hasOwn(data, head) ? data[head] : undefined;
  const child = writePath(existing === undefined ? {} : existing, rest, value);
  if (child === undefined) return undefined;
  return { ...data, [head]: child };
}
