/**
 * Every answer an e2e test receives from a local stack is checked against the OpenAPI document
 * (built in-process by the code that serves `GET /v1/openapi.json`, so a stack that is down or
 * dying, as the supervision tests make it, cannot leave the answers unchecked). The global `fetch` is wrapped once per test file:
 * the tests' own requests and the SDK clients' (which call the global `fetch`) both go through
 * it. A mismatch fails the test during which it arrived (`afterEach`), or the file (`afterAll`)
 * for requests made in its hooks. Outside vitest (the bench scripts) it does nothing. The local console's own routes (`/_local/…`) are not part of
 * the API and are not checked.
 */
import { afterAll, afterEach } from 'vitest';
import { openApiDocument } from '../../lambdas/openapi/document';
import { ResponseValidator } from '../contract/response-validator';

const watched = new Map<string, ResponseValidator>();
const pending = new Set<Promise<void>>();
const mismatches: string[] = [];
let wrapped = false;

/** Checks every later answer of the stack at `baseUrl` (the same URL after a restart is kept). */
export function checkResponsesOf(baseUrl: string): void {
  // Outside vitest (the bench scripts start stacks with the harness too) nothing reports.
  if (!underVitest) return;
  const { origin } = new URL(baseUrl);
  if (!watched.has(origin)) watched.set(origin, new ResponseValidator(openApiDocument()));
  if (wrapped) return;
  wrapped = true;
  const original = globalThis.fetch;
  globalThis.fetch = async (input, init) => {
    const response = await original(input, init);
    const url = new URL(input instanceof Request ? input.url : String(input));
    const validator = watched.get(url.origin);
    if (validator && !url.pathname.startsWith('/_local/')) {
      const method = (
        init?.method ?? (input instanceof Request ? input.method : 'GET')
      ).toUpperCase();
      const copy = response.clone();
      const check = (async () => {
        const problem = validator.check(method, url.pathname, {
          status: copy.status,
          contentType: copy.headers.get('content-type'),
          body: await copy.text(),
        });
        if (problem) mismatches.push(problem);
      })().catch((error: unknown) => {
        mismatches.push(`${method} ${url.pathname}: could not be checked: ${String(error)}`);
      });
      pending.add(check);
      void check.finally(() => pending.delete(check));
    }
    return response;
  };
}

async function reportMismatches(): Promise<void> {
  await Promise.all([...pending]);
  if (mismatches.length === 0) return;
  const found = mismatches.splice(0);
  throw new Error(`Answers that do not match the OpenAPI document:\n${found.join('\n')}`);
}

const underVitest = process.env.VITEST !== undefined;
if (underVitest) {
  afterEach(reportMismatches);
  afterAll(reportMismatches);
}
