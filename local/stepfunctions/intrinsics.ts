/**
 * Intrinsic functions (`States.Format(...)` and friends) usable as the value of a `.$` field in
 * Parameters/ResultSelector and in a Fail state's ErrorPath/CausePath. Expressions are parsed once
 * when the definition is loaded, where AWS's creation-time rules apply: only the escapes \' \{ \} \\
 * in string literals, and at most 10 intrinsic functions in one field. Evaluation errors surface as
 * States.Runtime, which fails the execution (AWS does not let States.ALL catch it either).
 *
 * Argument conversions follow what AWS was recorded doing: numeric arguments of MathAdd,
 * MathRandom, ArrayPartition and ArrayRange are rounded to an integer (Java's Math.round, i.e.
 * halves toward positive infinity), and States.Format renders objects and arrays the way Java's
 * Map/List toString does (`{Arg1=1, Arg2=[]}`).
 */
import { createHash, randomInt, randomUUID } from 'node:crypto';
import { runtimeError } from './errors.js';
import { isJsonObject, type Json, jsonDeepEqual } from './json.js';
import { type ParsedPath, PathSyntaxError, PathUnsupportedError, parsePath } from './jsonpath.js';

export type IntrinsicArgument =
  | { kind: 'literal'; value: Json; raw?: string }
  | { kind: 'path'; path: ParsedPath }
  | { kind: 'call'; call: IntrinsicCall };

export interface IntrinsicCall {
  readonly name: string;
  readonly args: readonly IntrinsicArgument[];
  readonly text: string;
}

export class IntrinsicSyntaxError extends Error {
  override name = 'IntrinsicSyntaxError';
}

/** Valid for AWS but not implemented here (an unknown function, a multi-node path argument). */
export class IntrinsicUnsupportedError extends IntrinsicSyntaxError {
  override name = 'IntrinsicUnsupportedError';
}

type Implementation = (args: Json[], call: IntrinsicCall, raw: (string | undefined)[]) => Json;

/** Minimum and maximum argument counts for each supported function. */
const ARITY: Record<string, [number, number]> = {
  'States.Format': [1, Number.POSITIVE_INFINITY],
  'States.StringToJson': [1, 1],
  'States.JsonToString': [1, 1],
  'States.Array': [0, Number.POSITIVE_INFINITY],
  'States.ArrayPartition': [2, 2],
  'States.ArrayContains': [2, 2],
  'States.ArrayRange': [3, 3],
  'States.ArrayGetItem': [2, 2],
  'States.ArrayLength': [1, 1],
  'States.ArrayUnique': [1, 1],
  'States.Base64Encode': [1, 1],
  'States.Base64Decode': [1, 1],
  'States.Hash': [2, 2],
  'States.JsonMerge': [3, 3],
  'States.MathRandom': [2, 3],
  'States.MathAdd': [2, 2],
  'States.StringSplit': [2, 2],
  'States.UUID': [0, 0],
};

export function isIntrinsicExpression(text: string): boolean {
  return /^States\.[A-Za-z0-9]+\s*\(/.test(text);
}

/** AWS: "You can nest up to 10 intrinsic functions within a field" (its example counts every call). */
export const MAX_INTRINSICS_PER_FIELD = 10;

export function parseIntrinsic(text: string): IntrinsicCall {
  const parser = new Parser(text);
  const call = parser.parseCall();
  parser.skipSpaces();
  if (!parser.atEnd()) {
    throw new IntrinsicSyntaxError(`"${text}": unexpected text after the closing parenthesis`);
  }
  const count = countCalls(call);
  if (count > MAX_INTRINSICS_PER_FIELD) {
    throw new IntrinsicSyntaxError(
      `"${text}": ${count} intrinsic functions in one field, at most ${MAX_INTRINSICS_PER_FIELD} are allowed`,
    );
  }
  return call;
}

/** Every call in the expression, the outermost included. */
export function intrinsicCalls(call: IntrinsicCall): IntrinsicCall[] {
  const calls = [call];
  for (const argument of call.args) {
    if (argument.kind === 'call') calls.push(...intrinsicCalls(argument.call));
  }
  return calls;
}

function countCalls(call: IntrinsicCall): number {
  return intrinsicCalls(call).length;
}

class Parser {
  private position = 0;
  constructor(private readonly text: string) {}

  atEnd(): boolean {
    return this.position >= this.text.length;
  }

  skipSpaces(): void {
    while (this.text[this.position] === ' ') this.position++;
  }

  parseCall(): IntrinsicCall {
    const start = this.position;
    const match = /^States\.[A-Za-z0-9]+/.exec(this.text.slice(this.position));
    if (!match)
      throw new IntrinsicSyntaxError(`"${this.text}": expected an intrinsic function name`);
    const name = match[0];
    const arity = ARITY[name];
    if (!arity) {
      throw new IntrinsicUnsupportedError(
        `"${this.text}": intrinsic function ${name} is not supported`,
      );
    }
    this.position += name.length;
    this.skipSpaces();
    this.expect('(');
    const args: IntrinsicArgument[] = [];
    this.skipSpaces();
    if (this.text[this.position] !== ')') {
      for (;;) {
        this.skipSpaces();
        args.push(this.parseArgument());
        this.skipSpaces();
        if (this.text[this.position] === ',') {
          this.position++;
          continue;
        }
        break;
      }
    }
    this.expect(')');
    const [min, max] = arity;
    if (args.length < min || args.length > max) {
      throw new IntrinsicSyntaxError(
        `"${this.text}": ${name} takes ${min === max ? min : `${min} or more`} argument(s), got ${args.length}`,
      );
    }
    return { name, args, text: this.text.slice(start, this.position) };
  }

  private expect(char: string): void {
    if (this.text[this.position] !== char) {
      throw new IntrinsicSyntaxError(
        `"${this.text}": expected "${char}" at position ${this.position}`,
      );
    }
    this.position++;
  }

  private parseArgument(): IntrinsicArgument {
    const rest = this.text.slice(this.position);
    if (rest.startsWith("'")) return this.parseString();
    if (rest.startsWith('States.')) return { kind: 'call', call: this.parseCall() };
    if (rest.startsWith('$')) return this.parsePathArgument();
    const literal = /^(-?\d+(\.\d+)?([eE][+-]?\d+)?|true|false|null)/.exec(rest);
    if (literal) {
      this.position += literal[0].length;
      return { kind: 'literal', value: JSON.parse(literal[0]) as Json };
    }
    throw new IntrinsicSyntaxError(
      `"${this.text}": unexpected argument at position ${this.position}`,
    );
  }

  /**
   * String literals: single quotes, with the escapes \' \{ \} \\ and no others (AWS refuses any other
   * backslash at creation). `raw` keeps the escapes for States.Format.
   */
  private parseString(): IntrinsicArgument {
    let position = this.position + 1;
    let value = '';
    let raw = '';
    while (position < this.text.length && this.text[position] !== "'") {
      const char = this.text[position] ?? '';
      if (char === '\\') {
        const next = this.text[position + 1];
        if (next === undefined) break;
        if (!"'{}\\".includes(next)) {
          throw new IntrinsicSyntaxError(
            `"${this.text}": invalid escape "\\${next}" at position ${position}; only \\' \\{ \\} and \\\\ are allowed`,
          );
        }
        value += next;
        raw += char + next;
        position += 2;
      } else {
        value += char;
        raw += char;
        position++;
      }
    }
    if (this.text[position] !== "'") {
      throw new IntrinsicSyntaxError(`"${this.text}": unterminated string literal`);
    }
    this.position = position + 1;
    return { kind: 'literal', value, raw };
  }

  private parsePathArgument(): IntrinsicArgument {
    let position = this.position;
    let quote: string | undefined;
    while (position < this.text.length) {
      const char = this.text[position];
      if (quote) {
        if (char === quote) quote = undefined;
      } else if (char === "'" || char === '"') {
        quote = char;
      } else if (char === ',' || char === ')' || char === ' ') {
        break;
      }
      position++;
    }
    const pathText = this.text.slice(this.position, position);
    this.position = position;
    try {
      return { kind: 'path', path: parsePath(pathText) };
    } catch (error) {
      if (error instanceof PathUnsupportedError) throw new IntrinsicUnsupportedError(error.message);
      if (error instanceof PathSyntaxError) throw new IntrinsicSyntaxError(error.message);
      throw error;
    }
  }
}

/** Resolves a path argument; the caller decides which document (`$` or `$$`) it reads. */
export type PathResolver = (path: ParsedPath) => Json;

export function evaluateIntrinsic(call: IntrinsicCall, resolve: PathResolver): Json {
  const values: Json[] = [];
  const raws: (string | undefined)[] = [];
  for (const argument of call.args) {
    if (argument.kind === 'literal') {
      values.push(argument.value);
      raws.push(argument.raw);
    } else if (argument.kind === 'path') {
      values.push(resolve(argument.path));
      raws.push(undefined);
    } else {
      values.push(evaluateIntrinsic(argument.call, resolve));
      raws.push(undefined);
    }
  }
  const implementation = IMPLEMENTATIONS[call.name];
  if (!implementation) throw runtimeError(`Intrinsic function ${call.name} is not supported`);
  return implementation(values, call, raws);
}

function fail(call: IntrinsicCall, message: string): never {
  throw runtimeError(`The evaluation of the intrinsic function ${call.text} failed: ${message}`);
}

function argumentAt(args: Json[], index: number): Json {
  return args[index] ?? null;
}

function stringArgument(args: Json[], index: number, call: IntrinsicCall): string {
  const value = argumentAt(args, index);
  if (typeof value !== 'string') fail(call, `argument ${index + 1} must be a string`);
  return value;
}

function arrayArgument(args: Json[], index: number, call: IntrinsicCall): Json[] {
  const value = argumentAt(args, index);
  if (!Array.isArray(value)) fail(call, `argument ${index + 1} must be an array`);
  return value;
}

function integerArgument(args: Json[], index: number, call: IntrinsicCall): number {
  const value = argumentAt(args, index);
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    fail(call, `argument ${index + 1} must be an integer`);
  }
  return value;
}

/**
 * A numeric argument rounded to an integer. AWS documents that MathAdd/MathRandom "round it off to
 * the nearest integer"; the recorded halves (1.5 → 2, -1.5 → -1, -2.5 → -2) are Java's Math.round,
 * which JavaScript's Math.round matches.
 */
function roundedArgument(args: Json[], index: number, call: IntrinsicCall): number {
  const value = argumentAt(args, index);
  if (typeof value !== 'number') fail(call, `argument ${index + 1} must be a number`);
  return Math.round(value);
}

/** AWS's limit on the text States.Base64Encode/Base64Decode/Hash accept. */
export const MAX_ENCODED_INPUT_CHARACTERS = 10_000;

function withinEncodingLimit(text: string, call: IntrinsicCall): string {
  if (text.length > MAX_ENCODED_INPUT_CHARACTERS) {
    fail(
      call,
      `the input string is ${text.length} characters long, the maximum is ${MAX_ENCODED_INPUT_CHARACTERS}`,
    );
  }
  return text;
}

function limitedStringArgument(args: Json[], index: number, call: IntrinsicCall): string {
  return withinEncodingLimit(stringArgument(args, index, call), call);
}

/** How States.Format renders a value: Java's toString of the parsed JSON (Map, List, String...). */
export function formatValue(value: Json): string {
  if (Array.isArray(value)) return `[${value.map(formatValue).join(', ')}]`;
  if (isJsonObject(value)) {
    return `{${Object.entries(value)
      .map(([key, item]) => `${key}=${formatValue(item)}`)
      .join(', ')}}`;
  }
  return String(value);
}

function formatTemplate(
  template: string,
  raw: string | undefined,
  args: Json[],
  call: IntrinsicCall,
) {
  // Work on the escaped form so that \{ and \} stay literal braces while {} is a placeholder.
  const source = raw ?? template.replace(/\\/g, '\\\\');
  let output = '';
  let argumentIndex = 0;
  for (let i = 0; i < source.length; i++) {
    const char = source[i];
    if (char === '\\') {
      output += source[i + 1] ?? '';
      i++;
    } else if (char === '{' && source[i + 1] === '}') {
      if (argumentIndex >= args.length) fail(call, 'more {} placeholders than arguments');
      output += formatValue(args[argumentIndex++] ?? null);
      i++;
    } else {
      output += char;
    }
  }
  if (argumentIndex !== args.length) fail(call, 'fewer {} placeholders than arguments');
  return output;
}

const HASH_ALGORITHMS: Record<string, string> = {
  MD5: 'md5',
  'SHA-1': 'sha1',
  'SHA-256': 'sha256',
  'SHA-384': 'sha384',
  'SHA-512': 'sha512',
};

// AWS documents MathAdd/MathRandom/ArrayRange operands as Java ints.
const INT_MIN = -2_147_483_648;
const INT_MAX = 2_147_483_647;

const IMPLEMENTATIONS: Record<string, Implementation> = {
  'States.Format': (args, call, raws) =>
    formatTemplate(stringArgument(args, 0, call), raws[0], args.slice(1), call),
  'States.StringToJson': (args, call) => {
    const text = stringArgument(args, 0, call);
    // Recorded on AWS: "" and " " give null rather than an error.
    if (text.trim() === '') return null;
    try {
      return JSON.parse(text) as Json;
    } catch {
      fail(call, 'argument is not valid JSON');
    }
  },
  'States.JsonToString': (args) => JSON.stringify(argumentAt(args, 0)),
  'States.Array': (args) => args,
  'States.ArrayPartition': (args, call) => {
    const array = arrayArgument(args, 0, call);
    const size = roundedArgument(args, 1, call);
    if (size <= 0) fail(call, 'chunk size must be positive');
    const chunks: Json[] = [];
    for (let i = 0; i < array.length; i += size) chunks.push(array.slice(i, i + size));
    return chunks;
  },
  'States.ArrayContains': (args, call) =>
    arrayArgument(args, 0, call).some((item) => jsonDeepEqual(item, argumentAt(args, 1))),
  'States.ArrayRange': (args, call) => {
    const start = roundedArgument(args, 0, call);
    const end = roundedArgument(args, 1, call);
    const step = roundedArgument(args, 2, call);
    if (step === 0) fail(call, 'step must not be 0');
    const range: Json[] = [];
    for (let value = start; step > 0 ? value <= end : value >= end; value += step) {
      range.push(value);
      if (range.length > 1000) fail(call, 'the range has more than 1000 elements');
    }
    return range;
  },
  'States.ArrayGetItem': (args, call) => {
    const array = arrayArgument(args, 0, call);
    const index = integerArgument(args, 1, call);
    const item = array[index];
    if (index < 0 || item === undefined) fail(call, `index ${index} is out of bounds`);
    return item;
  },
  'States.ArrayLength': (args, call) => arrayArgument(args, 0, call).length,
  'States.ArrayUnique': (args, call) => {
    const unique: Json[] = [];
    for (const item of arrayArgument(args, 0, call)) {
      if (!unique.some((seen) => jsonDeepEqual(seen, item))) unique.push(item);
    }
    return unique;
  },
  'States.Base64Encode': (args, call) =>
    Buffer.from(limitedStringArgument(args, 0, call), 'utf8').toString('base64'),
  'States.Base64Decode': (args, call) =>
    Buffer.from(limitedStringArgument(args, 0, call), 'base64').toString('utf8'),
  'States.Hash': (args, call) => {
    const data = argumentAt(args, 0);
    const algorithm = HASH_ALGORITHMS[stringArgument(args, 1, call)];
    if (!algorithm) fail(call, 'algorithm must be one of MD5, SHA-1, SHA-256, SHA-384, SHA-512');
    const text = withinEncodingLimit(typeof data === 'string' ? data : JSON.stringify(data), call);
    return createHash(algorithm).update(text, 'utf8').digest('hex');
  },
  'States.JsonMerge': (args, call) => {
    const left = argumentAt(args, 0);
    const right = argumentAt(args, 1);
    if (!isJsonObject(left) || !isJsonObject(right)) fail(call, 'both arguments must be objects');
    if (argumentAt(args, 2) !== false) {
      fail(call, 'only shallow merges are supported: the third argument must be false');
    }
    return { ...left, ...right };
  },
  'States.MathRandom': (args, call) => {
    const start = roundedArgument(args, 0, call);
    const end = roundedArgument(args, 1, call);
    if (end <= start) fail(call, 'the end of the range must be greater than its start');
    return randomInt(start, end);
  },
  'States.MathAdd': (args, call) => {
    // Each operand is rounded before adding: recorded 1.5 + 1.51 = 4 and -1.49 + -1.5 = -2.
    const sum = roundedArgument(args, 0, call) + roundedArgument(args, 1, call);
    if (sum < INT_MIN || sum > INT_MAX) fail(call, 'the sum does not fit in a 32-bit integer');
    return sum;
  },
  'States.StringSplit': (args, call) => {
    const text = stringArgument(args, 0, call);
    const delimiters = new Set(stringArgument(args, 1, call));
    const parts: Json[] = [];
    let current = '';
    for (const char of text) {
      if (delimiters.has(char)) {
        if (current.length > 0) parts.push(current);
        current = '';
      } else {
        current += char;
      }
    }
    if (current.length > 0) parts.push(current);
    return parts;
  },
  'States.UUID': () => randomUUID(),
};
