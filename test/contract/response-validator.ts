/**
 * Checks HTTP answers against the OpenAPI document: the operation is found by method and path
 * template, the status must be documented (or fall under `default`), and the body must match the
 * documented media type and JSON schema (ajv, JSON Schema 2020-12). Stricter than the published
 * document in one way: every object with declared properties refuses properties it does not
 * declare, so a field the server sends but the document lacks is a mismatch.
 */
import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

type Json = Record<string, unknown>;

const DOC_ID = 'https://countersign.invalid/openapi.json';

interface DocumentedOperation {
  method: string;
  template: string;
  pattern: RegExp;
  responses: Record<string, Json>;
}

/** Every object schema with `properties` and no word on others refuses undeclared properties. */
function strict(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(strict);
  if (value === null || typeof value !== 'object') return value;
  const copy = Object.fromEntries(Object.entries(value).map(([key, item]) => [key, strict(item)]));
  if ('properties' in copy && !('additionalProperties' in copy)) {
    copy.unevaluatedProperties = false;
  }
  return copy;
}

/** `#/components/...` references made absolute, so that a schema compiles on its own. */
function absoluteRefs(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(absoluteRefs);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) =>
      key === '$ref' && typeof item === 'string' && item.startsWith('#/')
        ? [key, `${DOC_ID}${item}`]
        : [key, absoluteRefs(item)],
    ),
  );
}

function templatePattern(template: string): RegExp {
  const escaped = template
    .split(/\{[^}]+\}/)
    .map((part) => part.replace(/[.*+?^$()|[\]\\]/g, '\\$&'))
    .join('[^/]+');
  return new RegExp(`^${escaped}$`);
}

export class ResponseValidator {
  readonly #operations: DocumentedOperation[] = [];
  readonly #ajv = new Ajv2020({ allErrors: true, strict: false });
  readonly #compiled = new Map<unknown, ValidateFunction>();
  readonly #errorBody: Json;

  constructor(document: Json) {
    addFormats(this.#ajv);
    const components = strict((document.components as Json).schemas) as Json;
    this.#ajv.addSchema({ $id: DOC_ID, components: { schemas: components } });
    this.#errorBody = { $ref: '#/components/schemas/ErrorBody' };
    const paths = document.paths as Record<string, Record<string, Json>>;
    for (const [template, item] of Object.entries(paths)) {
      for (const [method, operation] of Object.entries(item)) {
        this.#operations.push({
          method: method.toUpperCase(),
          template,
          pattern: templatePattern(template),
          responses: operation.responses as Record<string, Json>,
        });
      }
    }
    // Literal paths win over templates (`/v1/policies/dry-run` before `{intent_type}`).
    this.#operations.sort((a, b) => a.template.split('{').length - b.template.split('{').length);
  }

  /** What is wrong with the answer, or `undefined` when it matches the document. */
  check(
    method: string,
    pathname: string,
    answer: { status: number; contentType: string | null; body: string },
  ): string | undefined {
    const where = `${method} ${pathname} → ${answer.status}`;
    const onPath = this.#operations.filter((operation) => operation.pattern.test(pathname));
    const operation = onPath.find((candidate) => candidate.method === method);
    if (!operation) {
      // An unknown route, or a known path with another method: the contract's 404.
      if (answer.status < 400) return `${where}: the route is not in the OpenAPI document`;
      return this.#checkJson(where, this.#errorBody, answer);
    }
    const spec = operation.responses[String(answer.status)] ?? operation.responses.default;
    if (!spec) return `${where}: the status is not documented for ${operation.template}`;
    const content = spec.content as Record<string, { schema: Json }> | undefined;
    if (answer.body === '') {
      if (method === 'HEAD' || !content || spec['x-countersign-may-be-empty']) return undefined;
      return `${where}: an empty body where the document promises ${Object.keys(content)}`;
    }
    if (!content) return `${where}: a body where the document promises none`;
    const mediaType = (answer.contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
    const documented = content[mediaType];
    if (!documented) {
      return `${where}: ${mediaType || 'no Content-Type'} where the document promises ${Object.keys(content)}`;
    }
    if (mediaType !== 'application/json') return undefined;
    return this.#checkJson(where, documented.schema, answer);
  }

  /** What is wrong with `value` as the document's component `id`, or `undefined`. */
  checkComponent(id: string, value: unknown): string | undefined {
    const ref = { $ref: `#/components/schemas/${id}` };
    return this.#checkJson(id, ref, { body: JSON.stringify(value) });
  }

  #checkJson(where: string, schema: Json, answer: { body: string }): string | undefined {
    let body: unknown;
    try {
      body = JSON.parse(answer.body);
    } catch {
      return `${where}: the body is not JSON`;
    }
    let validate = this.#compiled.get(schema);
    if (!validate) {
      validate = this.#ajv.compile(absoluteRefs(strict(schema)) as Json);
      this.#compiled.set(schema, validate);
    }
    if (validate(body)) return undefined;
    const problems = (validate.errors ?? [])
      .slice(0, 5)
      .map((error) => `${error.instancePath || '(body)'} ${error.message ?? ''}`.trim())
      .join('; ');
    return `${where}: the body does not match the document: ${problems}`;
  }
}
