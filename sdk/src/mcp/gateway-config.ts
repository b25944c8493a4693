/**
 * The approval gateway's configuration (`countersign mcp-gateway --config gateway.json`): the
 * upstream MCP server, and the rules that say which tool calls need a person's approval first.
 * Validated strictly, with errors that name the field: an unknown key (a typo of `when` would
 * otherwise let every call through unapproved), a glob with characters tool names never have,
 * an operator that does not exist.
 */
import { z } from 'zod';
import type { UpstreamTarget } from './upstream.js';

const OPERATORS = [
  'eq',
  'ne',
  'lt',
  'lte',
  'gt',
  'gte',
  'in',
  'not_in',
  'exists',
  'matches',
] as const;
type Operator = (typeof OPERATORS)[number];

/** Tool names are letters, digits, `_`, `-`, `.` and `/`; a glob adds `*` and `?`. */
const GLOB = /^[A-Za-z0-9_.\-/*?]{1,128}$/;

const pointer = z
  .string()
  .regex(/^(\/([^~]|~[01])*)*$/, 'must be a JSON Pointer such as /to or /message/subject');

const condition = z
  .object({
    pointer,
    op: z.enum(OPERATORS),
    value: z.unknown().optional(),
  })
  .strict()
  .superRefine((value, ctx) => {
    if (
      value.op === 'exists'
        ? typeof value.value !== 'boolean' && value.value !== undefined
        : value.value === undefined
    ) {
      ctx.addIssue({ code: 'custom', message: `op ${value.op} needs a value`, path: ['value'] });
    }
    if ((value.op === 'in' || value.op === 'not_in') && !Array.isArray(value.value)) {
      ctx.addIssue({
        code: 'custom',
        message: `op ${value.op} needs an array value`,
        path: ['value'],
      });
    }
    if (
      value.op === 'matches' &&
      (typeof value.value !== 'string' || !globSyntaxOk(value.value, true))
    ) {
      ctx.addIssue({ code: 'custom', message: 'op matches needs a glob string', path: ['value'] });
    }
  });

/** Seconds a call waits for a decision, at most a week. */
const waitTimeout = z
  .number()
  .int()
  .min(1)
  .max(7 * 24 * 3600)
  .optional();

const rule = z
  .object({
    /** Tool name globs (`*` any run of characters, `?` one character). */
    tools: z
      .array(
        z
          .string()
          .regex(GLOB, 'is not a tool name glob (letters, digits, _ - . / and the wildcards * ?)'),
      )
      .min(1),
    /** Every condition must hold (on the call's arguments) for the rule to apply. */
    when: z.array(condition).optional(),
    /** The line reviewers see; `{tool}` and `{<argument>}` are filled in. */
    summary: z.string().min(1).max(500).optional(),
    intent_type: z
      .string()
      .regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, 'must be a dotted name')
      .max(200)
      .optional(),
    reviewers: z.array(z.string().min(1)).optional(),
    policy: z.record(z.string(), z.unknown()).optional(),
    /** JSON Pointers into the arguments a reviewer may change before approving. */
    editable: z.array(pointer).optional(),
    /** How long the call waits for a decision before it is cancelled and refused. */
    wait_timeout_seconds: waitTimeout,
  })
  .strict();

const upstream = z.union([
  z
    .object({
      command: z.string().min(1),
      args: z.array(z.string()).optional(),
      env: z.record(z.string(), z.string()).optional(),
      cwd: z.string().optional(),
    })
    .strict(),
  z
    .object({
      url: z.url({ protocol: /^https?$/ }),
      headers: z.record(z.string(), z.string()).optional(),
    })
    .strict(),
]);

const config = z
  .object({
    upstream,
    /** The agent the intents are asked for (`to_agent`); default `mcp-gateway`. */
    agent: z.string().min(1).max(500).optional(),
    rules: z.array(rule),
    /** Default for rules without their own; one hour. */
    wait_timeout_seconds: waitTimeout,
  })
  .strict();

export type GatewayRule = z.infer<typeof rule>;
export interface GatewayConfig {
  upstream: UpstreamTarget;
  agent: string;
  rules: GatewayRule[];
  waitTimeoutSeconds: number;
}

export class GatewayConfigError extends Error {
  override name = 'GatewayConfigError';
}

/** Parses and validates the configuration; the error lists every problem, one per line. */
export function parseGatewayConfig(text: string, source = 'the gateway config'): GatewayConfig {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new GatewayConfigError(`${source} is not valid JSON: ${(error as Error).message}`);
  }
  const parsed = config.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.flatMap((issue) => {
      const at = issue.path.map(String).join('.') || '(top level)';
      if (issue.code === 'unrecognized_keys') {
        return issue.keys.map(
          (key) => `${at === '(top level)' ? key : `${at}.${key}`}: unknown key`,
        );
      }
      if (issue.code === 'invalid_union' && issue.path.join('.') === 'upstream') {
        return [
          'upstream: must be {"command": "...", "args": [...], "env": {...}} or {"url": "http(s)://..."}, with no other keys',
        ];
      }
      return [`${at}: ${issue.message}`];
    });
    throw new GatewayConfigError(`${source} is invalid:\n  ${problems.join('\n  ')}`);
  }
  const value = parsed.data;
  return {
    upstream: value.upstream as UpstreamTarget,
    agent: value.agent ?? 'mcp-gateway',
    rules: value.rules,
    waitTimeoutSeconds: value.wait_timeout_seconds ?? 3600,
  };
}

function globSyntaxOk(glob: string, anyText = false): boolean {
  return anyText ? glob.length > 0 && glob.length <= 1000 : GLOB.test(glob);
}

export function globMatches(glob: string, text: string): boolean {
  const pattern = glob
    .split('')
    .map((char) =>
      char === '*' ? '.*' : char === '?' ? '.' : char.replace(/[\\^$.|+()[\]{}]/g, '\\$&'),
    )
    .join('');
  return new RegExp(`^${pattern}$`, 's').test(text);
}

/** The value at a JSON Pointer, or `undefined` where there is none. */
function valueAt(root: unknown, path: string): unknown {
  if (path === '') return root;
  let current: unknown = root;
  for (const raw of path.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (current === null || typeof current !== 'object') return undefined;
    if (Array.isArray(current)) {
      if (!/^(0|[1-9]\d*)$/.test(key)) return undefined;
      current = current[Number(key)];
    } else {
      if (!Object.hasOwn(current, key)) return undefined;
      current = (current as Record<string, unknown>)[key];
    }
  }
  return current;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

function holds(op: Operator, actual: unknown, expected: unknown): boolean {
  if (op === 'exists') return (actual !== undefined) === (expected ?? true);
  // An absent argument never matches a comparison (as with operator policies).
  if (actual === undefined) return false;
  switch (op) {
    case 'eq':
      return same(actual, expected);
    case 'ne':
      return !same(actual, expected);
    case 'in':
      return (expected as unknown[]).some((candidate) => same(actual, candidate));
    case 'not_in':
      return !(expected as unknown[]).some((candidate) => same(actual, candidate));
    case 'matches':
      return typeof actual === 'string' && globMatches(String(expected), actual);
    default: {
      const comparable =
        (typeof actual === 'number' && typeof expected === 'number') ||
        (typeof actual === 'string' && typeof expected === 'string');
      if (!comparable) return false;
      const [a, b] = [actual as number | string, expected as number | string];
      return op === 'lt' ? a < b : op === 'lte' ? a <= b : op === 'gt' ? a > b : a >= b;
    }
  }
}

/** The first rule that applies to this call, or `undefined`: the call passes straight through. */
export function matchingRule(
  rules: readonly GatewayRule[],
  tool: string,
  args: Record<string, unknown>,
): GatewayRule | undefined {
  return rules.find(
    (candidate) =>
      candidate.tools.some((glob) => globMatches(glob, tool)) &&
      (candidate.when ?? []).every((test) =>
        holds(test.op, valueAt(args, test.pointer), test.value),
      ),
  );
}
