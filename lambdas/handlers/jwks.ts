import { signer } from '../shared/deps';
import { json, routeHandler } from '../shared/http';

/**
 * GET /.well-known/jwks.json, without authentication: the public keys that verify receipts and
 * callbacks (a JWK Set). Read once per container (`kms:GetPublicKey` in AWS); clients may cache
 * it for five minutes.
 */
export const handler = routeHandler({
  'GET /.well-known/jwks.json': async () => {
    const result = json(200, await signer.publicKeys());
    return { ...result, headers: { ...result.headers, 'Cache-Control': 'public, max-age=300' } };
  },
});
