import { describe, expect, it } from 'vitest';
import { evaluateCondition, wildcardMatch } from '../../local/stepfunctions/choice';
import { type ChoiceState, compileDefinition } from '../../local/stepfunctions/definition';
import { StatesError } from '../../local/stepfunctions/errors';
import { evaluateIntrinsic, parseIntrinsic } from '../../local/stepfunctions/intrinsics';
import type { Json } from '../../local/stepfunctions/json';
import { parsePath, readPath, writePath } from '../../local/stepfunctions/jsonpath';
import {
  applyResultPath,
  applyTemplate,
  type ContextObject,
  filterPath,
} from '../../local/stepfunctions/payload';

const context: ContextObject = {
  Execution: { Id: 'arn:exec', Name: 'exec-1' },
  State: { Name: 'S', RetryCount: 0 },
  StateMachine: { Id: 'arn:sm' },
  Task: { Token: 'tok' },
};

function intrinsic(text: string, data: Json = {}): Json {
  return evaluateIntrinsic(parseIntrinsic(text), (path) => {
    const value = readPath(path.root === 'context' ? context : data, path.segments);
    if (value === undefined) throw new Error(`missing ${path.text}`);
    return value;
  });
}

function template(parameters: object, data: Json): Json {
  const definition = compileDefinition({
    StartAt: 'P',
    States: { P: { Type: 'Pass', Parameters: parameters, End: true } },
  });
  const state = definition.states.get('P');
  if (state?.type !== 'Pass' || !state.parameters) throw new Error('no template');
  return applyTemplate(state.parameters, data, context);
}

function statesErrorOf(action: () => unknown): StatesError {
  try {
    action();
  } catch (error) {
    if (error instanceof StatesError) return error;
    throw error;
  }
  throw new Error('expected a StatesError');
}

describe('JSONPath subset', () => {
  it('parses dotted, indexed and bracketed paths', () => {
    expect(parsePath('$').segments).toEqual([]);
    expect(parsePath('$.a.b').segments).toEqual(['a', 'b']);
    expect(parsePath('$.a[0].b').segments).toEqual(['a', 0, 'b']);
    expect(parsePath('$[\'a b\']["c"]').segments).toEqual(['a b', 'c']);
    expect(parsePath('$.error-info').segments).toEqual(['error-info']);
    expect(parsePath('$$.Task.Token')).toMatchObject({
      root: 'context',
      segments: ['Task', 'Token'],
    });
  });

  it('refuses paths that can select several nodes', () => {
    for (const text of ['$..a', '$.a[*]', '$.a[?(@.b)]', '$.a[0:2]', '$.*', 'a.b', '$.a[-1]']) {
      expect(() => parsePath(text), text).toThrow();
    }
  });

  it('reads and writes without mutating the input', () => {
    const input: Json = { a: { b: [1, 2] }, keep: true };
    expect(readPath(input, ['a', 'b', 1])).toBe(2);
    expect(readPath(input, ['a', 'missing'])).toBeUndefined();
    expect(readPath(input, ['a', 'b', 5])).toBeUndefined();
    const written = writePath(input, ['a', 'c', 'd'], 'x');
    expect(written).toEqual({ a: { b: [1, 2], c: { d: 'x' } }, keep: true });
    expect(input).toEqual({ a: { b: [1, 2] }, keep: true });
    expect(writePath('scalar', ['a'], 1)).toBeUndefined();
  });
});

describe('input and output processing', () => {
  it('InputPath/OutputPath select, null gives {}, missing path is States.Runtime', () => {
    expect(filterPath({ a: { b: 1 } }, parsePath('$.a'), 'InputPath', context)).toEqual({ b: 1 });
    expect(filterPath({ a: 1 }, null, 'OutputPath', context)).toEqual({});
    expect(filterPath({ a: 1 }, parsePath('$$.Task.Token'), 'InputPath', context)).toBe('tok');
    expect(
      statesErrorOf(() => filterPath({ a: 1 }, parsePath('$.nope'), 'InputPath', context)).error,
    ).toBe('States.Runtime');
  });

  it('ResultPath replaces, merges, or (null) discards', () => {
    expect(applyResultPath({ a: 1 }, { r: 2 }, undefined)).toEqual({ r: 2 });
    expect(applyResultPath({ a: 1 }, { r: 2 }, parsePath('$.result'))).toEqual({
      a: 1,
      result: { r: 2 },
    });
    expect(applyResultPath({ a: 1 }, { r: 2 }, null)).toEqual({ a: 1 });
    const conflict = statesErrorOf(() => applyResultPath({ a: 1 }, 2, parsePath('$.a.b')));
    expect(conflict.error).toBe('States.ReferencePathConflict');
    expect(conflict.cause).toBe('Unable to apply step "b" to input {"a":1}');
    expect(statesErrorOf(() => applyResultPath([1], 2, parsePath('$.sum'))).cause).toBe(
      'Unable to apply step "sum" to input [1]',
    );
  });

  it('Parameters templates resolve .$ fields from input, context and intrinsics, recursively', () => {
    const output = template(
      {
        static: 'kept',
        'id.$': '$.id',
        'token.$': '$$.Task.Token',
        'name.$': '$$.Execution.Name',
        nested: { 'first.$': '$.items[0]', list: [{ 'x.$': '$.id' }, 'plain'] },
        'greeting.$': "States.Format('Hello {} #{}', $.who, $.id)",
      },
      { id: 7, who: 'Ada', items: ['a', 'b'] },
    );
    expect(output).toEqual({
      static: 'kept',
      id: 7,
      token: 'tok',
      name: 'exec-1',
      nested: { first: 'a', list: [{ x: 7 }, 'plain'] },
      greeting: 'Hello Ada #7',
    });
  });

  it('a .$ field whose path is missing is States.Runtime', () => {
    const error = statesErrorOf(() => template({ 'x.$': '$.missing' }, { a: 1 }));
    expect(error.error).toBe('States.Runtime');
    expect(error.cause).toContain("'$.missing'");
    expect(error.cause).toContain("'x.$'");
  });
});

describe('intrinsic functions', () => {
  it('States.Format with escapes', () => {
    expect(intrinsic("States.Format('{} + {} = {}', 1, 2, 3)")).toBe('1 + 2 = 3');
    expect(intrinsic("States.Format('literal \\{\\} and {}', 'x')")).toBe('literal {} and x');
    expect(intrinsic("States.Format('it\\'s {}', $.v)", { v: true })).toBe("it's true");
    expect(intrinsic("States.Format('{}', $.o)", { o: { nested: [1, 'a'] } })).toBe(
      '{nested=[1, a]}',
    );
  });

  it('JSON conversions and merging', () => {
    expect(intrinsic('States.StringToJson($.s)', { s: '{"a":[1,2]}' })).toEqual({ a: [1, 2] });
    expect(intrinsic('States.JsonToString($.o)', { o: { a: 1 } })).toBe('{"a":1}');
    expect(
      intrinsic('States.JsonMerge($.a, $.b, false)', { a: { x: 1, y: { z: 1 } }, b: { y: 2 } }),
    ).toEqual({ x: 1, y: 2 });
    expect(() => intrinsic('States.JsonMerge($.a, $.b, true)', { a: {}, b: {} })).toThrow(
      StatesError,
    );
    expect(() => intrinsic("States.StringToJson('not json')")).toThrow(StatesError);
  });

  it('arrays', () => {
    expect(intrinsic("States.Array(1, 'two', $.three)", { three: [3] })).toEqual([1, 'two', [3]]);
    expect(intrinsic('States.ArrayGetItem($.a, 1)', { a: ['x', 'y'] })).toBe('y');
    expect(intrinsic('States.ArrayLength($.a)', { a: [1, 2, 3] })).toBe(3);
    expect(intrinsic('States.ArrayContains($.a, 2)', { a: [1, 2] })).toBe(true);
    expect(intrinsic('States.ArrayRange(1, 9, 3)')).toEqual([1, 4, 7]);
    expect(intrinsic('States.ArrayPartition($.a, 2)', { a: [1, 2, 3] })).toEqual([[1, 2], [3]]);
    expect(intrinsic('States.ArrayUnique($.a)', { a: [1, 1, { a: 1 }, { a: 1 }] })).toEqual([
      1,
      { a: 1 },
    ]);
    expect(() => intrinsic('States.ArrayGetItem($.a, 5)', { a: [] })).toThrow(StatesError);
  });

  it('math, strings, hashing, UUID, nesting', () => {
    expect(intrinsic('States.MathAdd($.n, 1)', { n: 41 })).toBe(42);
    expect(intrinsic('States.MathAdd(-5, 2)')).toBe(-3);
    expect(intrinsic('States.MathAdd(1.5, 1)')).toBe(3);
    expect(() => intrinsic("States.MathAdd('1', 1)")).toThrow(StatesError);
    expect(intrinsic("States.StringSplit('a,b;c', ',;')")).toEqual(['a', 'b', 'c']);
    expect(intrinsic("States.Base64Decode(States.Base64Encode('hé'))")).toBe('hé');
    expect(intrinsic("States.Hash('abc', 'SHA-256')")).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
    expect(intrinsic('States.UUID()')).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    const random = intrinsic('States.MathRandom(1, 3)');
    expect([1, 2]).toContain(random);
    expect(intrinsic('States.ArrayLength(States.Array(1, 2))')).toBe(2);
    expect(intrinsic("States.Format('{}', $$.Execution.Name)")).toBe('exec-1');
  });

  it('refuses unknown functions and wrong arity at parse time', () => {
    expect(() => parseIntrinsic('States.Nope(1)')).toThrow(/not supported/);
    expect(() => parseIntrinsic('States.UUID(1)')).toThrow(/argument/);
    expect(() => parseIntrinsic("States.Format('x'")).toThrow();
  });
});

describe('Choice conditions', () => {
  function choose(rule: object, input: Json): boolean {
    const definition = compileDefinition({
      StartAt: 'C',
      States: { C: { Type: 'Choice', Choices: [{ ...rule, Next: 'D' }] }, D: { Type: 'Succeed' } },
    });
    const state = definition.states.get('C') as ChoiceState;
    const condition = state.choices[0]?.condition;
    if (!condition) throw new Error('no condition');
    return evaluateCondition(condition, input, context);
  }

  it('comparison operators, with wrong types being false rather than errors', () => {
    expect(choose({ Variable: '$.s', StringEquals: 'a' }, { s: 'a' })).toBe(true);
    expect(choose({ Variable: '$.s', StringLessThan: 'b' }, { s: 'a' })).toBe(true);
    expect(choose({ Variable: '$.s', StringGreaterThanEquals: 'b' }, { s: 'a' })).toBe(false);
    expect(choose({ Variable: '$.n', NumericEquals: 3 }, { n: 3 })).toBe(true);
    expect(choose({ Variable: '$.n', NumericGreaterThan: 3 }, { n: 4 })).toBe(true);
    expect(choose({ Variable: '$.n', NumericLessThanEquals: 3 }, { n: 4 })).toBe(false);
    expect(choose({ Variable: '$.n', NumericEquals: 3 }, { n: '3' })).toBe(false);
    expect(choose({ Variable: '$.b', BooleanEquals: false }, { b: false })).toBe(true);
    expect(choose({ Variable: '$.a', StringEqualsPath: '$.b' }, { a: 'x', b: 'x' })).toBe(true);
    expect(choose({ Variable: '$.a', NumericLessThanPath: '$.b' }, { a: 1, b: 2 })).toBe(true);
    expect(
      choose(
        { Variable: '$.t', TimestampLessThan: '2024-01-02T00:00:00Z' },
        { t: '2024-01-01T23:59:59Z' },
      ),
    ).toBe(true);
    expect(
      choose(
        { Variable: '$.t', TimestampEquals: '2024-01-01T01:00:00+01:00' },
        { t: '2024-01-01T00:00:00Z' },
      ),
    ).toBe(true);
    expect(
      choose(
        { Variable: '$.t', TimestampGreaterThan: '2024-01-01T00:00:00Z' },
        { t: 'not a time' },
      ),
    ).toBe(false);
  });

  it('type tests, IsPresent and boolean combinators', () => {
    expect(choose({ Variable: '$.x', IsPresent: false }, {})).toBe(true);
    expect(choose({ Variable: '$.x', IsNull: true }, { x: null })).toBe(true);
    expect(choose({ Variable: '$.x', IsString: true }, { x: 's' })).toBe(true);
    expect(choose({ Variable: '$.x', IsNumeric: true }, { x: 's' })).toBe(false);
    expect(choose({ Variable: '$.x', IsBoolean: true }, { x: false })).toBe(true);
    expect(choose({ Variable: '$.x', IsTimestamp: true }, { x: '2024-01-01T00:00:00Z' })).toBe(
      true,
    );
    const rule = {
      And: [
        { Variable: '$.n', NumericGreaterThanEquals: 1 },
        {
          Or: [
            { Variable: '$.s', StringEquals: 'a' },
            { Not: { Variable: '$.s', StringEquals: 'b' } },
          ],
        },
      ],
    };
    expect(choose(rule, { n: 1, s: 'c' })).toBe(true);
    expect(choose(rule, { n: 1, s: 'b' })).toBe(false);
    expect(choose(rule, { n: 0, s: 'a' })).toBe(false);
  });

  it('a missing Variable is States.Runtime (except IsPresent)', () => {
    expect(
      statesErrorOf(() => choose({ Variable: '$.missing', StringEquals: 'a' }, {})).error,
    ).toBe('States.Runtime');
    expect(statesErrorOf(() => choose({ Variable: '$.missing', IsNull: true }, {})).error).toBe(
      'States.Runtime',
    );
  });

  it('StringMatches wildcards and escapes', () => {
    expect(wildcardMatch('log-2024.txt', 'log-*.txt')).toBe(true);
    expect(wildcardMatch('a*b', 'a\\*b')).toBe(true);
    expect(wildcardMatch('axb', 'a\\*b')).toBe(false);
    expect(wildcardMatch('anything', '*')).toBe(true);
    expect(choose({ Variable: '$.f', StringMatches: '*.csv' }, { f: 'x.csv' })).toBe(true);
  });
});
