import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { ZodError } from 'zod';
import { DomainError, type DomainErrorCode, type FieldIssue } from '../domain/errors';

const STATUS_BY_CODE: Record<DomainErrorCode, number> = {
  invalid_request: 400,
  validation_failed: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_a_reviewer: 403,
  not_found: 404,
  already_decided: 409,
  already_voted: 409,
  idempotency_conflict: 409,
  not_pending: 409,
  payload_too_large: 413,
};

const JSON_HEADERS = {
  'Content-Type': 'application/json',
  'Cache-Control': 'no-store',
};

export function json(statusCode: number, body: unknown): APIGatewayProxyResult {
  return { statusCode, headers: JSON_HEADERS, body: JSON.stringify(body) };
}

/** The contract's error shape, from any thrown value. Unknown errors never leak their text. */
export function errorResult(error: unknown): APIGatewayProxyResult {
  if (error instanceof DomainError) {
    return json(STATUS_BY_CODE[error.code], {
      error: {
        code: error.code,
        message: error.message,
        details: error.details,
        ...(error.intent !== undefined ? { intent: error.intent } : {}),
      },
    });
  }
  if (error instanceof ZodError) {
    return errorResult(
      new DomainError('validation_failed', 'The request has invalid fields.', {
        details: zodIssues(error),
      }),
    );
  }
  console.error(
    JSON.stringify({ level: 'ERROR', message: 'unhandled error', error: describe(error) }),
  );
  return json(500, { error: { code: 'internal', message: 'Internal server error.', details: [] } });
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
  return async (event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> => {
    const route = routes[`${event.httpMethod} ${event.resource}`];
    try {
      if (!route)
        throw new DomainError('not_found', `No route for ${event.httpMethod} ${event.path}.`);
      return await route(event);
    } catch (error) {
      return errorResult(error);
    }
  };
}

function describe(error: unknown): Record<string, unknown> {
  if (error instanceof Error)
    return { name: error.name, message: error.message, stack: error.stack };
  return { value: String(error) };
}
