import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { ZodError } from 'zod';
import { DomainError, type DomainErrorCode, type FieldIssue } from '../domain/errors';
import {
  describeError,
  type InvocationContext,
  invocationLogger,
  type Logger,
  logger,
} from './logger';

const STATUS_BY_CODE: Record<DomainErrorCode, number> = {
  invalid_request: 400,
  validation_failed: 400,
  unauthenticated: 401,
  forbidden: 403,
  policy_violation: 403,
  not_a_reviewer: 403,
  not_found: 404,
  already_decided: 409,
  already_voted: 409,
  idempotency_conflict: 409,
  not_pending: 409,
  step_over: 409,
  payload_too_large: 413,
  rate_limited: 429,
};

const JSON_HEADERS = {
  'Content-Type': 'application/json',
  'Cache-Control': 'no-store',
};

export function json(statusCode: number, body: unknown): APIGatewayProxyResult {
  return { statusCode, headers: JSON_HEADERS, body: JSON.stringify(body) };
}

/**
 * The contract's error shape, from any thrown value. Unknown errors never leak their text to
 * the caller; they are logged (name, message, stack: never the request) with the request's ids.
 */
export function errorResult(error: unknown, log: Logger = logger): APIGatewayProxyResult {
  const { status, body, retryAfterSeconds } = errorAnswer(error, log);
  const result = json(status, body);
  if (retryAfterSeconds === undefined) return result;
  return {
    ...result,
    headers: { ...result.headers, 'Retry-After': String(Math.ceil(retryAfterSeconds)) },
  };
}

/**
 * The status and body `errorResult` answers for `error`: also the `status` and `error` of one
 * item of a bulk answer (`POST /v1/decisions`), so an item fails exactly as the request alone would.
 */
export function errorAnswer(
  error: unknown,
  log: Logger = logger,
): {
  status: number;
  body: { error: { code: string; message: string; details: FieldIssue[]; intent?: unknown } };
  retryAfterSeconds?: number;
} {
  if (error instanceof DomainError) {
    return {
      status: STATUS_BY_CODE[error.code],
      body: {
        error: {
          code: error.code,
          message: error.message,
          details: error.details,
          ...(error.intent !== undefined ? { intent: error.intent } : {}),
        },
      },
      ...(error.retryAfterSeconds !== undefined
        ? { retryAfterSeconds: error.retryAfterSeconds }
        : {}),
    };
  }
  if (error instanceof ZodError) {
    return errorAnswer(
      new DomainError('validation_failed', 'The request has invalid fields.', {
        details: zodIssues(error),
      }),
    );
  }
  log.error('unhandled error', { error: describeError(error) });
  return {
    status: 500,
    body: { error: { code: 'internal', message: 'Internal server error.', details: [] } },
  };
}

export function zodIssues(error: ZodError): FieldIssue[] {
  return error.issues.flatMap((issue) => {
    const prefix = issue.path.map(String);
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({
        field: [...prefix, key].join('.'),
        message: 'is not a known field',
      }));
    }
    return [{ field: prefix.length > 0 ? prefix.join('.') : '(body)', message: issue.message }];
  });
}

/** In a `u` regex a surrogate pair is one code point, so `\p{Cs}` matches only a lone half. */
const LONE_SURROGATE = /\p{Cs}/u;
/** Deep enough for any real payload; deeper input is refused before recursive code sees it. */
const MAX_JSON_DEPTH = 64;

/** Walks parsed JSON without recursion: the depth is what is being checked. */
function jsonProblem(root: unknown): string | undefined {
  const pending: { value: unknown; depth: number }[] = [{ value: root, depth: 0 }];
  for (let next = pending.pop(); next; next = pending.pop()) {
    const { value, depth } = next;
    if (typeof value === 'string') {
      if (LONE_SURROGATE.test(value)) return 'The body contains a lone Unicode surrogate.';
    } else if (value !== null && typeof value === 'object') {
      if (depth >= MAX_JSON_DEPTH) {
        return `The body is nested deeper than ${MAX_JSON_DEPTH} levels.`;
      }
      for (const [key, item] of Object.entries(value)) {
        if (LONE_SURROGATE.test(key)) return 'The body contains a lone Unicode surrogate.';
        pending.push({ value: item, depth: depth + 1 });
      }
    }
  }
  return undefined;
}

/** Parses a JSON object body, or throws invalid_request saying why. */
export function parseJsonBody(event: APIGatewayProxyEvent): Record<string, unknown> {
  const contentType = header(event, 'content-type') ?? '';
  if (event.body === null || event.body === '') {
    throw new DomainError('invalid_request', 'The request needs a JSON body.');
  }
  if (!/^application\/(.+\+)?json\b/i.test(contentType)) {
    throw new DomainError(
      'invalid_request',
      'Send the body as JSON with Content-Type: application/json.',
    );
  }
  const text = event.isBase64Encoded
    ? Buffer.from(event.body, 'base64').toString('utf8')
    : event.body;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new DomainError('invalid_request', 'The body is not valid JSON.');
  }
  const problem = jsonProblem(parsed);
  // JSON may escape half a surrogate pair ("\ud800"): valid JSON, but no Unicode text, so
  // neither canonical hashing (RFC 8785) nor an email can carry it.
  if (problem) throw new DomainError('invalid_request', problem);
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new DomainError('invalid_request', 'The body must be a JSON object.');
  }
  return parsed as Record<string, unknown>;
}

/** Optional JSON body: absent means `{}`. */
export function parseOptionalJsonBody(event: APIGatewayProxyEvent): Record<string, unknown> {
  return event.body === null || event.body === '' ? {} : parseJsonBody(event);
}

export function header(event: APIGatewayProxyEvent, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(event.headers ?? {})) {
    if (key.toLowerCase() === wanted && value !== undefined) return value;
  }
  return undefined;
}

export function pathParameter(event: APIGatewayProxyEvent, name: string): string {
  const value = event.pathParameters?.[name];
  if (!value) throw new DomainError('not_found', 'No such resource.');
  return value;
}

export type Route = (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>;

/**
 * One Lambda serves a few routes of one concern (and so one set of permissions). This picks the
 * route from API Gateway's resource template and maps every error to the contract in one place.
 */
export function routeHandler(routes: Record<string, Route>) {
  return async (
    event: APIGatewayProxyEvent,
    context?: InvocationContext,
  ): Promise<APIGatewayProxyResult> => {
    const started = Date.now();
    const log = requestLogger(event, context);
    const route = routes[`${event.httpMethod} ${event.resource}`];
    let result: APIGatewayProxyResult;
    try {
      if (!route)
        throw new DomainError('not_found', `No route for ${event.httpMethod} ${event.path}.`);
      result = await route(event);
    } catch (error) {
      result = errorResult(error, log);
    }
    log.info('request', { status: result.statusCode, duration_ms: Date.now() - started });
    return result;
  };
}

/**
 * A logger for one API request: the Lambda and API Gateway request ids, the route, and the
 * intent id when the path has one. Never the headers (keys) or the body (payloads).
 */
export function requestLogger(event: APIGatewayProxyEvent, context?: InvocationContext): Logger {
  const intentId = event.pathParameters?.id;
  return invocationLogger(context, {
    request_id: event.requestContext?.requestId,
    route: `${event.httpMethod} ${event.resource}`,
    ...(intentId?.startsWith('int_') ? { intent_id: intentId } : {}),
  });
}
