/**
 * Input and output processing (InputPath → Parameters → task → ResultSelector → ResultPath →
 * OutputPath) and the context object. Failures are States.Runtime errors, which fail the execution
 * (AWS does not let Retry/Catch, not even States.ALL, handle them), except a ResultPath that cannot
 * be applied: AWS reports that as States.ReferencePathConflict (not the documented
 * States.ResultPathMatchFailure; see the engine README), an ordinary error a Catch can handle.
 */
import type { OptionalPath, PayloadTemplate } from './definition.js';
import { runtimeError, StatesError } from './errors.js';
import { evaluateIntrinsic } from './intrinsics.js';
import { isJsonObject, type Json, type JsonObject } from './json.js';
import { type ParsedPath, type PathSegment, readPath, writePath } from './jsonpath.js';

/** The document `$$` paths read; see https://docs.aws.amazon.com/step-functions/latest/dg/input-output-contextobject.html */
export interface ContextObject extends JsonObject {
  Execution: JsonObject;
  State: JsonObject;
  StateMachine: JsonObject;
}

function truncateForMessage(value: Json): string {
  const text = JSON.stringify(value);
  return text.length > 1000 ? `${text.slice(0, 1000)}...` : text;
}

/** Reads a path against the state data (`$`) or the context object (`$$`); undefined when missing. */
export function readReference(
  path: ParsedPath,
  data: Json,
  context: ContextObject,
): Json | undefined {
  return readPath(path.root === 'context' ? context : data, path.segments);
}

/** Reads a path that must exist (a reference path), raising States.Runtime when it does not. */
export function requireReference(
  path: ParsedPath,
  data: Json,
  context: ContextObject,
  field: string,
): Json {
  const value = readReference(path, data, context);
  if (value === undefined) {
    throw runtimeError(
      `The JSONPath '${path.text}' specified for the field '${field}' could not be found in the input '${truncateForMessage(path.root === 'context' ? context : data)}'`,
    );
  }
  return value;
}

/**
 * InputPath/OutputPath: `undefined` keeps the value, `null` yields `{}` (AWS's "discard"). A `$$`
 * path selects from the context object instead of the value, as AWS allows.
 */
export function filterPath(
  value: Json,
  path: OptionalPath | undefined,
  field: 'InputPath' | 'OutputPath',
  context: ContextObject,
): Json {
  if (path === undefined) return value;
  if (path === null) return {};
  const selected = readReference(path, value, context);
  if (selected === undefined) {
    throw runtimeError(
      `Invalid path '${path.text}' : No results for path: ${describeSegments(path)}; field ${field}, input '${truncateForMessage(value)}'`,
    );
  }
  return selected;
}

function describeSegments(path: ParsedPath): string {
  return `$${path.segments.map((segment) => (typeof segment === 'number' ? `[${segment}]` : `['${segment}']`)).join('')}`;
}

/** Builds the JSON described by a Parameters/ResultSelector template. */
export function applyTemplate(template: PayloadTemplate, data: Json, context: ContextObject): Json {
  switch (template.kind) {
    case 'static':
      return template.value;
    case 'array':
      return template.items.map((item) => applyTemplate(item, data, context));
    case 'object': {
      const output: JsonObject = {};
      for (const entry of template.entries)
        output[entry.key] = applyTemplate(entry.value, data, context);
      return output;
    }
    case 'path':
      return requireReference(template.path, data, context, template.field);
    case 'intrinsic':
      return evaluateIntrinsic(template.call, (path) =>
        requireReference(path, data, context, template.field),
      );
  }
}

/**
 * What AWS reports when a ResultPath cannot be applied (e.g. `$.x` on an array). Observed AWS
 * executions show `States.ReferencePathConflict` with the cause `Unable to apply step "<key>" to
 * input <input>`; none we found shows the documented `States.ResultPathMatchFailure`.
 */
export const REFERENCE_PATH_CONFLICT = 'States.ReferencePathConflict';

/** The first segment of `segments` that cannot be written into `input` (AWS's "step"). */
function unappliableStep(input: Json, segments: readonly PathSegment[]): PathSegment | undefined {
  let node: Json = input;
  for (const segment of segments) {
    if (typeof segment === 'number') {
      const item = Array.isArray(node) ? node[segment] : undefined;
      if (item === undefined) return segment;
      node = item;
    } else {
      if (!isJsonObject(node)) return segment;
      node = Object.hasOwn(node, segment) ? (node[segment] as Json) : {};
    }
  }
  return segments.at(-1);
}

/**
 * ResultPath: `undefined` (default "$") replaces the input with the result, `null` discards the
 * result and keeps the input, a path writes the result into a copy of the input.
 */
export function applyResultPath(input: Json, result: Json, path: OptionalPath | undefined): Json {
  if (path === undefined) return result;
  if (path === null) return input;
  const output = writePath(input, path.segments, result);
  if (output === undefined) {
    const step = unappliableStep(input, path.segments) ?? path.text;
    throw new StatesError(
      REFERENCE_PATH_CONFLICT,
      `Unable to apply step "${step}" to input ${truncateForMessage(input)}`,
    );
  }
  return output;
}

export function isPositiveInteger(value: Json | undefined): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value > 0;
}

export function asObject(value: Json): JsonObject | undefined {
  return isJsonObject(value) ? value : undefined;
}
