import { createHash } from 'node:crypto';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { apiEvent, setHandlerEnvironment } from './helpers';
import { NOW, type PortFakes, resetPortFakes } from './port-fakes';

/**
 * The inbox handler as deployed in AWS, where the public URL is HTTPS behind the API's stage
 * (`https://…/v1`): the session cookie is `Secure` and scoped to the stage's `/v1/inbox`, the
 * redirect stays under the stage, and a form posted from the stage's own origin is accepted.
 * Sign-in links and sessions are in the in-memory credential store of `port-fakes.ts`.
 */
vi.mock('../../lambdas/shared/deps', async (importOriginal) => ({
  ...(await importOriginal<object>()),
  ...(await import('./port-fakes')).fakeDeps(),
}));

setHandlerEnvironment();
const { handler } = await import('../../lambdas/handlers/inbox');

const TOKEN = 'a'.repeat(43);
const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');
const signIn = (origin: string) =>
  handler(
    apiEvent({
      method: 'POST',
      resource: '/inbox/sign-in/{token}',
      path: `/inbox/sign-in/${TOKEN}`,
      pathParameters: { token: TOKEN },
      body: '',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Origin: origin },
    }),
  );

let fakes: PortFakes;
beforeEach(async () => {
  fakes = resetPortFakes();
  fakes.publicBaseUrl = 'https://abc123.execute-api.eu-west-1.amazonaws.com/v1';
  // The sign-in link emailed to the CFO, unused, ten minutes to go.
  await fakes.credentials.putSignInLink(sha256(TOKEN), {
    email: 'cfo@company.com',
    expires_at: Math.floor(NOW.getTime() / 1000) + 600,
  });
});

describe('the inbox behind API Gateway over HTTPS', () => {
  it('sets a Secure, HttpOnly, SameSite=Lax session cookie for the stage path, for 12 hours at most', async () => {
    const result = await signIn('https://abc123.execute-api.eu-west-1.amazonaws.com');
    expect(result.statusCode).toBe(303);
    expect(result.headers?.Location).toBe('/v1/inbox');
    expect(result.headers?.['Set-Cookie']).toMatch(
      /^countersign_inbox=[A-Za-z0-9_-]{43}; Path=\/v1\/inbox; Max-Age=43200; HttpOnly; SameSite=Lax; Secure$/,
    );
    // The link is used up; the session is stored by the hash of its token, never the token.
    expect(fakes.credentials.links.size).toBe(0);
    const token = /=([^;]+)/.exec(String(result.headers?.['Set-Cookie']))?.[1] ?? '';
    expect([...fakes.credentials.sessions.keys()]).toEqual([sha256(token)]);
    const session = fakes.credentials.sessions.get(sha256(token));
    expect(session).toMatchObject({ reviewer: 'cfo@company.com' });
    expect(JSON.stringify(session)).not.toContain(token);
    expect(session?.expires_at).toBe(Math.floor(NOW.getTime() / 1000) + 12 * 3600);
  });

  it('refuses a sign-in posted from another origin, and uses nothing up', async () => {
    const result = await signIn('https://evil.example');
    expect(result.statusCode).toBe(403);
    expect(result.headers?.['Set-Cookie']).toBeUndefined();
    expect(fakes.credentials.links.size).toBe(1);
    expect(fakes.credentials.sessions.size).toBe(0);
  });
});
