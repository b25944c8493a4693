/**
 * Choice rule evaluation. As on AWS, comparing values of the wrong type is simply false (e.g.
 * NumericEquals on a string), while a Variable that does not exist is a States.Runtime error
 * unless the rule is IsPresent.
 */
import type { ChoiceCondition, ChoiceState } from './definition.js';
import { runtimeError } from './errors.js';
import type { Json } from './json.js';
import { type ContextObject, readReference, requireReference } from './payload.js';
import { compareTimestamps, parsePreciseTimestamp, parseTimestamp } from './timestamps.js';

/** Returns the name of the next state, or undefined when no rule matched and there is no Default. */
export function chooseNext(
  state: ChoiceState,
  input: Json,
  context: ContextObject,
): string | undefined {
  for (const rule of state.choices) {
    if (evaluateCondition(rule.condition, input, context)) return rule.next;
  }
  return state.defaultNext;
}

export function evaluateCondition(
  condition: ChoiceCondition,
  input: Json,
  context: ContextObject,
): boolean {
  switch (condition.kind) {
    case 'and':
      return condition.conditions.every((inner) => evaluateCondition(inner, input, context));
    case 'or':
      return condition.conditions.some((inner) => evaluateCondition(inner, input, context));
    case 'not':
      return !evaluateCondition(condition.condition, input, context);
    case 'test': {
      const value = readReference(condition.variable, input, context);
      if (condition.test === 'IsPresent') return (value !== undefined) === condition.expected;
      if (value === undefined) throw missingVariable(condition.variable.text);
      return typeTest(condition.test, value) === condition.expected;
    }
    case 'compare': {
      const value = readReference(condition.variable, input, context);
      if (value === undefined) throw missingVariable(condition.variable.text);
      const operand =
        condition.operand.kind === 'literal'
          ? condition.operand.value
          : requireReference(condition.operand.path, input, context, `${condition.operator}Path`);
      return compare(condition.operator, value, operand);
    }
  }
}

function missingVariable(path: string) {
  return runtimeError(
    `Invalid path '${path}': The choice state's condition path references an invalid value.`,
  );
}

function typeTest(test: string, value: Json): boolean {
  switch (test) {
    case 'IsNull':
      return value === null;
    case 'IsNumeric':
      return typeof value === 'number';
    case 'IsString':
      return typeof value === 'string';
    case 'IsBoolean':
      return typeof value === 'boolean';
    case 'IsTimestamp':
      return typeof value === 'string' && parseTimestamp(value) !== undefined;
    default:
      return false;
  }
}

function compare(operator: string, value: Json, operand: Json): boolean {
  if (operator === 'BooleanEquals') {
    return typeof value === 'boolean' && typeof operand === 'boolean' && value === operand;
  }
  if (operator === 'StringMatches') {
    return (
      typeof value === 'string' && typeof operand === 'string' && wildcardMatch(value, operand)
    );
  }
  if (operator.startsWith('String')) {
    if (typeof value !== 'string' || typeof operand !== 'string') return false;
    return ordered(operator.slice('String'.length), value < operand ? -1 : value > operand ? 1 : 0);
  }
  if (operator.startsWith('Numeric')) {
    if (typeof value !== 'number' || typeof operand !== 'number') return false;
    return ordered(operator.slice('Numeric'.length), Math.sign(value - operand));
  }
  if (operator.startsWith('Timestamp')) {
    if (typeof value !== 'string' || typeof operand !== 'string') return false;
    const left = parsePreciseTimestamp(value);
    const right = parsePreciseTimestamp(operand);
    if (left === undefined || right === undefined) return false;
    return ordered(operator.slice('Timestamp'.length), compareTimestamps(left, right));
  }
  return false;
}

function ordered(relation: string, order: number): boolean {
  switch (relation) {
    case 'Equals':
      return order === 0;
    case 'LessThan':
      return order < 0;
    case 'GreaterThan':
      return order > 0;
    case 'LessThanEquals':
      return order <= 0;
    case 'GreaterThanEquals':
      return order >= 0;
    default:
      return false;
  }
}

/** StringMatches: `*` matches any run of characters; `\*` and `\\` are literal. */
export function wildcardMatch(text: string, pattern: string): boolean {
  let regex = '^';
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i] ?? '';
    if (char === '\\' && i + 1 < pattern.length) {
      regex += escapeRegex(pattern[i + 1] ?? '');
      i++;
    } else if (char === '*') {
      regex += '.*';
    } else {
      regex += escapeRegex(char);
    }
  }
  return new RegExp(`${regex}$`, 's').test(text);
}

function escapeRegex(char: string): string {
  return char.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
