import { json, routeHandler } from '../shared/http';

/** GET /healthz, without authentication. */
export const handler = routeHandler({
  'GET /healthz': async () => json(200, { ok: true }),
});
