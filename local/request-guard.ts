import { timingSafeEqual } from 'node:crypto';

/**
 * What every server of the local stack checks before it answers. They listen on loopback only,
 * which keeps other hosts out but not a web page in the user's browser: through DNS rebinding
 * a page of `evil.example` can send requests to `127.0.0.1:<port>` under its own host name. So a
 * request is answered only when its `Host` names the loopback address or `localhost` with the
 * server's port (what every client of the stack sends), and the servers that stand for AWS or
 * Slack also ask for the credentials the stack configured its handlers with.
 */
export function isLoopbackHost(host: string | undefined, port: number, listenHost = '127.0.0.1') {
  if (host === undefined) return false;
  const allowed = new Set(
    [listenHost, '127.0.0.1', 'localhost', '[::1]'].map((name) => `${name}:${port}`.toLowerCase()),
  );
  return allowed.has(host.trim().toLowerCase());
}

/** The message of the 403 a request with another `Host` gets. */
export function foreignHostMessage(port: number): string {
  return `This local server answers only requests addressed to 127.0.0.1:${port} or localhost:${port}.`;
}

/** The access key id of a SigV4 `Authorization` header (`... Credential=<id>/<scope>, ...`). */
export function sigV4AccessKeyId(authorization: string | undefined): string | undefined {
  const match = /^AWS4-HMAC-SHA256\s+.*?Credential=([^/,\s]+)\//.exec(authorization ?? '');
  return match?.[1];
}

/** Compares secrets in time independent of where they differ. */
export function sameSecret(given: string | undefined, expected: string): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
