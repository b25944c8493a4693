import { describe, expect, it } from 'vitest';
import { createKey } from '../../lambdas/core/admin';
import { authenticate, hashApiKey } from '../../lambdas/core/auth';
import { canSee } from '../../lambdas/core/intents';
import { pendingIntent, T0 } from '../domain/fixtures';
import { MemoryKeys } from './memory-keys';

const clock = { now: () => T0 };
const admin = { role: 'admin', name: 'ops', keyId: 'key_admin' } as const;

describe('email principals compare case-insensitively', () => {
  it('stores email principals of every role lower-cased, other names as given', async () => {
    const keys = new MemoryKeys();
    const agent = await createKey(keys, clock, admin, {
      role: 'agent',
      principal: 'Alice@Example.com',
    });
    const operator = await createKey(keys, clock, admin, { role: 'admin', principal: 'Bob@X.com' });
    const named = await createKey(keys, clock, admin, {
      role: 'agent',
      principal: 'agent://MyOrg/Reports',
    });
    expect([agent.principal, operator.principal, named.principal]).toEqual([
      'alice@example.com',
      'bob@x.com',
      'agent://MyOrg/Reports',
    ]);
  });

  it('authenticates a key stored before with a capitalised email as the lower-case principal', async () => {
    const keys = new MemoryKeys();
    const key = 'csk_legacy-key-with-capitals';
    await keys.put({
      id: 'key_legacy',
      role: 'agent',
      principal: 'Alice@Example.com',
      key_hash: hashApiKey(key),
      prefix: 'csk_le',
      created_at: T0.toISOString(),
      revoked_at: null,
    });
    const principal = await authenticate(`Bearer ${key}`, keys);
    expect(principal.name).toBe('alice@example.com');
    // It still sees the intents it created under the old spelling.
    const intent = { ...pendingIntent(), from_agent: 'Alice@Example.com' };
    expect(canSee(principal, intent)).toBe(true);
    expect(canSee({ ...principal, name: 'agent://other' }, intent)).toBe(false);
  });

  it('lets a reviewer see an intent whatever the case its address was stored in', () => {
    const intent = { ...pendingIntent(), recipients: ['CFO@Company.com'], asked: [] };
    expect(canSee({ role: 'reviewer', name: 'cfo@company.com', keyId: 'k' }, intent)).toBe(true);
  });
});
