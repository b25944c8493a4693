/**
 * The OpenAPI document: valid OpenAPI 3.1 (by an independent validator), one operation for every
 * route the functions serve and none besides, and request schemas that accept what the handlers
 * accept; plus the response validator the e2e tests run every answer through, shown to refuse
 * what does not match.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Validator } from '@seriousme/openapi-schema-validator';
import { describe, expect, it } from 'vitest';
import { toView } from '../../lambdas/domain/intent';
import { FUNCTIONS } from '../../lambdas/functions';
import { buildOpenApiDocument, openApiDocument } from '../../lambdas/openapi/document';
import { pendingIntent } from '../domain/fixtures';
import { ResponseValidator } from './response-validator';

const document = openApiDocument();

describe('the OpenAPI document', () => {
  it('is valid OpenAPI 3.1', async () => {
    const result = await new Validator().validate(structuredClone(document));
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
    expect(document.openapi).toMatch(/^3\.1\./);
  });

  it('is refused by the validator when broken (the check can fail)', async () => {
    const broken = structuredClone(document) as {
      paths: Record<string, Record<string, { parameters: { in: string }[] }>>;
    };
    const header = broken.paths['/v1/intents']?.post?.parameters[0];
    if (header) header.in = 'body'; // OpenAPI 2's body parameter: not a 3.1 location
    const result = await new Validator().validate(broken);
    expect(result.valid).toBe(false);
  });

  it('documents every route the functions serve, and no other', () => {
    const served = Object.values(FUNCTIONS)
      .flatMap((fn) => fn.routes.map((route) => `${route.method} ${route.path}`))
      .sort();
    const paths = document.paths as Record<string, Record<string, unknown>>;
    const documented = Object.entries(paths)
      .flatMap(([path, item]) =>
        Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`),
      )
      .sort();
    expect(documented).toEqual(served);
  });

  it('is the same document each time it is built', () => {
    expect(buildOpenApiDocument()).toEqual(document);
  });

  it('describes requests as the handlers validate them', () => {
    const schemas = (document.components as { schemas: Record<string, Record<string, unknown>> })
      .schemas;
    const create = schemas.CreateIntentRequest as {
      required: string[];
      additionalProperties: boolean;
      properties: Record<string, unknown>;
    };
    expect(create.required.sort()).toEqual(['intent_type', 'payload', 'to_agent']);
    expect(create.additionalProperties).toBe(false);
    expect(create.properties.intent_type).toMatchObject({ maxLength: 200 });
    // The list's query: parameters with the schema's bounds.
    const list = (document.paths as Record<string, Record<string, { parameters: unknown[] }>>)[
      '/v1/intents'
    ]?.get?.parameters;
    expect(list).toContainEqual({
      name: 'limit',
      in: 'query',
      required: false,
      schema: { type: 'integer', minimum: 1, maximum: 100 },
    });
  });
});

describe('docs/api.md', () => {
  it('shows a create request the document accepts, and the check can refuse one', () => {
    const text = readFileSync(path.resolve(import.meta.dirname, '../../docs/api.md'), 'utf8');
    const section = text.slice(text.indexOf('### `POST /v1/intents`'));
    const example = JSON.parse(/```json\n([\s\S]*?)```/.exec(section)?.[1] ?? 'null');
    const validator = new ResponseValidator(document);
    expect(validator.checkComponent('CreateIntentRequest', example)).toBeUndefined();
    expect(
      validator.checkComponent('CreateIntentRequest', { ...example, reviewer: 'a@b.co' }),
    ).toMatch(/additional properties/);
  });
});

describe('the response validator', () => {
  const validator = new ResponseValidator(document);
  const json = (status: number, body: unknown) => ({
    status,
    contentType: 'application/json',
    body: JSON.stringify(body),
  });
  const intent = toView(pendingIntent());

  it('accepts an intent as the server shows it', () => {
    expect(validator.check('GET', '/v1/intents/int_TEST', json(200, intent))).toBeUndefined();
    expect(validator.check('POST', '/v1/intents', json(201, intent))).toBeUndefined();
  });

  it('refuses a field the document does not declare', () => {
    const problem = validator.check(
      'GET',
      '/v1/intents/int_TEST',
      json(200, { ...intent, task_token: 'secret' }),
    );
    expect(problem).toMatch(/does not match the document/);
    expect(problem).toMatch(/unevaluated properties/);
  });

  it('refuses a wrong value, a missing field and a time that is not RFC 3339 UTC', () => {
    const { summary: _summary, ...withoutSummary } = intent;
    for (const body of [
      { ...intent, status: 'maybe' },
      withoutSummary,
      { ...intent, created_at: 'yesterday' },
    ]) {
      expect(validator.check('GET', '/v1/intents/int_TEST', json(200, body))).toMatch(
        /does not match/,
      );
    }
  });

  it('checks errors against the error body, also on unknown routes', () => {
    const notFound = { error: { code: 'not_found', message: 'No such intent.', details: [] } };
    expect(validator.check('GET', '/v1/intents/x', json(404, notFound))).toBeUndefined();
    expect(validator.check('GET', '/v1/nothing', json(404, notFound))).toBeUndefined();
    expect(validator.check('GET', '/v1/nothing', json(404, { message: 'nope' }))).toMatch(
      /does not match/,
    );
    expect(
      validator.check(
        'GET',
        '/v1/intents/x',
        json(404, { error: { ...notFound.error, code: 'oops' } }),
      ),
    ).toMatch(/does not match/);
  });

  it('refuses a success on a route the document does not know', () => {
    expect(validator.check('GET', '/v1/secret', json(200, {}))).toMatch(/not in the OpenAPI/);
  });

  it('refuses a status the operation does not document', () => {
    expect(validator.check('POST', '/v1/intents/x/decision', json(201, intent))).toMatch(
      /does not match/,
    );
  });

  it('checks media types: HTML pages, JSON answers, empty bodies', () => {
    const html = { status: 200, contentType: 'text/html; charset=utf-8', body: '<p>hi</p>' };
    expect(validator.check('GET', '/review/tok', html)).toBeUndefined();
    expect(validator.check('GET', '/v1/intents/x', html)).toMatch(/text\/html where/);
    const empty = { status: 200, contentType: null, body: '' };
    expect(validator.check('POST', '/slack/interactions', empty)).toBeUndefined();
    expect(validator.check('HEAD', '/review/tok', empty)).toBeUndefined();
    expect(validator.check('GET', '/v1/intents/x', empty)).toMatch(/empty body/);
  });
});
