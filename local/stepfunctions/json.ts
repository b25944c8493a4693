/**
 * JSON value model shared by every module. Values flowing through an execution are treated as
 * immutable: path operations copy along the path they change instead of mutating in place, so a
 * state's input can be kept (for Catch/ResultPath) without defensive deep clones.
 */
export type Json = null | boolean | number | string | Json[] | JsonObject;
export interface JsonObject {
  [key: string]: Json;
}

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Parses JSON text, returning undefined instead of throwing when the text is not valid JSON. */
export function tryParseJson(text: string): { value: Json } | undefined {
  try {
    return { value: JSON.parse(text) as Json };
  } catch {
    return undefined;
  }
}

/**
 * Converts an arbitrary JS value (e.g. a Lambda handler's return value) into JSON the way a Lambda
 * response is serialised: undefined becomes null, Dates become ISO strings, functions vanish.
 */
export function toJson(value: unknown): Json {
  if (value === undefined) return null;
  const text = JSON.stringify(value);
  return text === undefined ? null : (JSON.parse(text) as Json);
}

export function jsonDeepEqual(a: Json, b: Json): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    return (
      Array.isArray(b) &&
      a.length === b.length &&
      a.every((item, i) => jsonDeepEqual(item, b[i] ?? null))
    );
  }
  if (isJsonObject(a) && isJsonObject(b)) {
    const keys = Object.keys(a);
    if (keys.length !== Object.keys(b).length) return false;
    return keys.every((key) => key in b && jsonDeepEqual(a[key] ?? null, b[key] ?? null));
  }
  return false;
}

export function utf8Length(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/** AWS's payload quota for state input/output and execution input (262,144 bytes of UTF-8). */
export const MAX_PAYLOAD_BYTES = 262_144;
