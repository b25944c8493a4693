/**
 * The Python SDK's TypedDicts (`python/countersign/types.py`) against the OpenAPI document,
 * whose schemas the TypeScript types are held to (`test/contract/types.test.ts`): Python cannot
 * import the contract module, so its keys are compared with the document's. An answer's type
 * names every field the server may send and requires none the server may leave out; a request's
 * type offers every field the server accepts and requires exactly what it requires. (The Python
 * types may name fields ahead of the server, as `editable` and `edits` for editing before
 * approving.) Needs Python 3.9+.
 */
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openApiDocument } from '../../lambdas/openapi/document';

const PYTHON_DIR = path.resolve(import.meta.dirname, '../../python');
const PYTHON = process.env.PYTHON ?? 'python3';

/** Python type → the document's component. */
const ANSWERS: Record<string, string> = {
  Intent: 'Intent',
  ResolvedPolicy: 'ResolvedPolicy',
  AuditEvent: 'AuditEvent',
  ListIntentsResponse: 'IntentList',
  EventsResponse: 'EventList',
  ApiKey: 'ApiKey',
  CreatedKey: 'CreatedKey',
  Team: 'Team',
  PolicyDryRunResponse: 'PolicyDryRunResult',
  HealthResponse: 'Health',
};
const REQUESTS: Record<string, string> = {
  CreateIntentRequest: 'CreateIntentRequest',
  DecisionRequest: 'DecisionRequest',
  CreateKeyRequest: 'CreateKeyRequest',
  PutTeamRequest: 'PutTeamRequest',
  PolicyDryRunRequest: 'PolicyDryRunRequest',
};

type Keys = { required: string[]; optional: string[] };

function pythonKeys(names: string[]): Record<string, Keys> {
  const script = [
    'import json, sys',
    'from countersign import types',
    'print(json.dumps({n: {"required": sorted(getattr(types, n).__required_keys__),',
    '  "optional": sorted(getattr(types, n).__optional_keys__)} for n in sys.argv[1:]}))',
  ].join('\n');
  const output = execFileSync(PYTHON, ['-c', script, ...names], {
    cwd: PYTHON_DIR,
    encoding: 'utf8',
  });
  return JSON.parse(output) as Record<string, Keys>;
}

const components = (
  openApiDocument() as {
    components: { schemas: Record<string, { properties: object; required?: string[] }> };
  }
).components.schemas;

function documented(id: string): Keys {
  const schema = components[id];
  if (!schema) throw new Error(`no component ${id}`);
  const required = [...(schema.required ?? [])].sort();
  const optional = Object.keys(schema.properties)
    .filter((name) => !required.includes(name))
    .sort();
  return { required, optional };
}

const keys = pythonKeys([...Object.keys(ANSWERS), ...Object.keys(REQUESTS)]);

describe('the Python SDK types and the OpenAPI document', () => {
  it.each(Object.entries(ANSWERS))('%s names every field of %s', (python, id) => {
    const doc = documented(id);
    const py = keys[python] ?? { required: [], optional: [] };
    const named = [...py.required, ...py.optional];
    expect(
      [...doc.required, ...doc.optional].filter((name) => !named.includes(name)),
      'fields the server sends that the Python type does not name',
    ).toEqual([]);
    expect(
      py.required.filter((name) => !doc.required.includes(name)),
      'fields the Python type requires that the server may leave out',
    ).toEqual([]);
  });

  it.each(Object.entries(REQUESTS))('%s offers every field of %s', (python, id) => {
    const doc = documented(id);
    const py = keys[python] ?? { required: [], optional: [] };
    const named = [...py.required, ...py.optional];
    expect(doc.optional.filter((name) => !named.includes(name))).toEqual([]);
    expect(py.required).toEqual(doc.required);
  });
});
