import { openApiDocument } from '../openapi/document';
import { json, routeHandler } from '../shared/http';

/**
 * GET /v1/openapi.json, without authentication: the OpenAPI 3.1 document of this API, built from
 * the schemas the handlers validate with (`lambdas/openapi/`). It changes only with the code, so
 * clients may cache it for five minutes.
 */
export const handler = routeHandler({
  'GET /v1/openapi.json': async () => {
    const result = json(200, openApiDocument());
    return { ...result, headers: { ...result.headers, 'Cache-Control': 'public, max-age=300' } };
  },
});
