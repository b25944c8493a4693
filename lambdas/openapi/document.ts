/**
 * Builds the OpenAPI 3.1 document of the API from the route table (`./routes.ts`): request
 * schemas are the zod schemas the handlers validate with, converted as the input they accept;
 * answers are the contract's schemas (`./schemas.ts`). Served at `GET /v1/openapi.json`.
 */
import { z } from 'zod';
import { OPERATIONS, type Operation, type ResponseSpec } from './routes';
import { contractSchemas, errorBodySchema } from './schemas';

type JsonSchema = Record<string, unknown>;

const COMPONENT = '#/components/schemas/';
const JSON_SCHEMA_OPTIONS = { io: 'input', target: 'draft-2020-12' } as const;

/** Points `#/$defs/<id>` references (named schemas zod extracted) at their components. */
function toComponentRefs(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(toComponentRefs);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) =>
      key === '$ref' && typeof item === 'string'
        ? [key, item.replace(/^#\/\$defs\//, COMPONENT)]
        : [key, toComponentRefs(item)],
    ),
  );
}

/** A named schema by reference, anything else inline (named schemas inside by reference). */
function schemaOf(schema: z.ZodType): JsonSchema {
  const id = contractSchemas.get(schema)?.id;
  if (id !== undefined) return { $ref: `${COMPONENT}${id}` };
  const {
    $schema: _dialect,
    $defs: defs = {},
    ...inline
  } = z.toJSONSchema(schema, { ...JSON_SCHEMA_OPTIONS, metadata: contractSchemas });
  const unnamed = Object.keys(defs).filter((ref) => !contractSchemaIds().has(ref));
  if (unnamed.length > 0) throw new Error(`unnamed shared schemas: ${unnamed.join(', ')}`);
  return toComponentRefs(inline) as JsonSchema;
}

function contractSchemaIds(): Set<string> {
  return new Set(Object.keys(components()));
}

let componentCache: Record<string, JsonSchema> | undefined;

function components(): Record<string, JsonSchema> {
  if (componentCache) return componentCache;
  const { schemas } = z.toJSONSchema(contractSchemas, {
    ...JSON_SCHEMA_OPTIONS,
    uri: (id) => `${COMPONENT}${id}`,
  });
  componentCache = Object.fromEntries(
    Object.entries(schemas).map(([id, { $schema: _dialect, $id: _id, ...schema }]) => [id, schema]),
  );
  return componentCache;
}

function parameters(operation: Operation): JsonSchema[] {
  const inPath = [...operation.path.matchAll(/\{([^}]+)\}/g)].map(([, name]) => ({
    name,
    in: 'path',
    required: true,
    schema: { type: 'string' },
  }));
  const query = Object.entries(operation.query?.shape ?? {}).map(([name, schema]) => {
    const converted = schemaOf(schema as z.ZodType);
    const { description, ...rest } = converted;
    return {
      name,
      in: 'query',
      required: !(schema as z.ZodType).safeParse(undefined).success,
      ...(description === undefined ? {} : { description }),
      schema: rest,
    };
  });
  const headers = (operation.headers ?? []).map(({ name, description }) => ({
    name,
    in: 'header',
    required: false,
    description,
    schema: { type: 'string' },
  }));
  return [...inPath, ...query, ...headers];
}

function response(spec: ResponseSpec): JsonSchema {
  const content = spec.json
    ? { 'application/json': { schema: schemaOf(spec.json) } }
    : spec.html
      ? { 'text/html': { schema: { type: 'string' } } }
      : undefined;
  return {
    description: spec.description,
    ...(content ? { content } : {}),
    ...(spec.mayBeEmpty ? { 'x-countersign-may-be-empty': true } : {}),
  };
}

/** Any status an operation does not list: a fault (500), throttling (429), a part down (503). */
function otherErrors(operation: Operation): ResponseSpec {
  const description = 'Any other error: 500 `internal`, 429 throttled, 503 `unavailable`.';
  const pages = Object.values(operation.responses).some((spec) => spec.html);
  return pages ? { description, html: true } : { description, json: errorBodySchema };
}

function security(auth: Operation['auth']): JsonSchema[] | undefined {
  if (auth === 'none' || auth === 'link') return [];
  if (auth === 'slack') return [{ slackSignature: [] }];
  // The inbox answers without a session too (the sign-in form), so the cookie is optional.
  if (auth === 'session') return [{ inboxSession: [] }, {}];
  return [{ bearerKey: [] }];
}

function describeAuth(auth: Operation['auth']): string {
  if (auth === 'none') return 'No key.';
  if (auth === 'link') return 'The link token in the path is the credential.';
  if (auth === 'slack')
    return 'Signed by Slack (`X-Slack-Signature`, `X-Slack-Request-Timestamp`).';
  if (auth === 'session')
    return 'The inbox session cookie; forms also carry its CSRF token. Without a session: the sign-in form.';
  return `Keys of role ${auth.map((role) => `\`${role}\``).join(', ')}.`;
}

function operationObject(operation: Operation): JsonSchema {
  const body = operation.body;
  return {
    operationId: operation.operationId,
    summary: operation.summary,
    description: describeAuth(operation.auth),
    tags: [operation.tag],
    security: security(operation.auth),
    parameters: parameters(operation),
    ...(body
      ? {
          requestBody: {
            required: true,
            content: {
              [body.form ? 'application/x-www-form-urlencoded' : 'application/json']: {
                schema: schemaOf(body.schema),
              },
            },
          },
        }
      : {}),
    responses: {
      ...Object.fromEntries(
        Object.entries(operation.responses).map(([status, spec]) => [status, response(spec)]),
      ),
      default: response(otherErrors(operation)),
    },
  };
}

export function buildOpenApiDocument(): JsonSchema {
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const operation of OPERATIONS) {
    const item = paths[operation.path] ?? {};
    item[operation.method.toLowerCase()] = operationObject(operation);
    paths[operation.path] = item;
  }
  return {
    openapi: '3.1.1',
    info: {
      title: 'Countersign API',
      version: '1',
      summary: 'Human approval for AI agents.',
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    tags: [
      { name: 'intents', description: 'Ask for approval, wait, decide, cancel, the audit trail.' },
      { name: 'teams' },
      { name: 'keys' },
      { name: 'policies', description: 'Operator policies.' },
      { name: 'signatures', description: 'Receipts and callbacks.' },
      { name: 'health' },
      { name: 'reviewers', description: 'The review page and Slack.' },
      { name: 'inbox', description: 'The reviewer inbox: HTML pages and forms for people.' },
      { name: 'mcp', description: 'The MCP server.' },
    ],
    paths,
    components: {
      schemas: components(),
      securitySchemes: {
        inboxSession: {
          type: 'apiKey',
          in: 'cookie',
          name: 'countersign_inbox',
          description: 'The inbox session, set by signing in with an emailed link (12 h at most).',
        },
        bearerKey: { type: 'http', scheme: 'bearer', description: 'An API key.' },
        slackSignature: {
          type: 'apiKey',
          in: 'header',
          name: 'X-Slack-Signature',
          description: 'Slack’s request signature (v0 HMAC-SHA256 of the timestamp and body).',
        },
      },
    },
  };
}

let built: JsonSchema | undefined;

/** The document, built once per process (it depends on nothing but the code). */
export function openApiDocument(): JsonSchema {
  built ??= buildOpenApiDocument();
  return built;
}
