import { describe, expect, it } from 'vitest';
import {
  authenticate,
  BOOTSTRAP_KEY_ID,
  hashApiKey,
  newApiKey,
  withBootstrapAdminKey,
} from '../../lambdas/core/auth';
import { DomainError } from '../../lambdas/domain/errors';
import { MemoryKeys } from './memory-keys';

/** What Secrets Manager generates with `passwordLength: 64, excludePunctuation: true`. */
const BOOTSTRAP = 'q7Xk2mN9vB4cR8tY1wE6uI3oP5aS0dF7gH2jK9lZ4xC8vB1nM6qW3eR5tY0uI7oP';

describe('withBootstrapAdminKey', () => {
  it('accepts the bootstrap secret as an admin key, by hash', async () => {
    // Prepare
    let reads = 0;
    const keys = withBootstrapAdminKey(new MemoryKeys(), async () => {
      reads += 1;
      return `${BOOTSTRAP}\n`;
    });
    // Act
    const principal = await authenticate(`Bearer ${BOOTSTRAP}`, keys);
    // Assess
    expect(principal).toEqual({ role: 'admin', name: 'bootstrap-admin', keyId: BOOTSTRAP_KEY_ID });
    expect(reads).toBe(1);
  });

  it('does not read the secret for keys in the table', async () => {
    // Prepare
    const table = new MemoryKeys();
    const { key, record } = newApiKey('agent', 'agent://a', new Date());
    await table.put(record);
    const keys = withBootstrapAdminKey(table, async () => {
      throw new Error('must not be read');
    });
    // Act / Assess
    await expect(authenticate(`Bearer ${key}`, keys)).resolves.toMatchObject({ role: 'agent' });
  });

  it('refuses other keys, and every key when the secret cannot be read', async () => {
    // Prepare
    const unavailable: unknown[] = [];
    const keys = withBootstrapAdminKey(new MemoryKeys(), async () => BOOTSTRAP);
    const broken = withBootstrapAdminKey(
      new MemoryKeys(),
      async () => {
        throw new Error('AccessDeniedException');
      },
      (error) => unavailable.push(error),
    );
    const other = BOOTSTRAP.replace(/.$/, 'X');
    // Act / Assess
    await expect(authenticate(`Bearer ${other}`, keys)).rejects.toThrow(DomainError);
    await expect(authenticate(`Bearer ${BOOTSTRAP}`, broken)).rejects.toThrow(/unknown or revoked/);
    expect(unavailable).toHaveLength(1);
    expect(await keys.findByHash(hashApiKey('short'))).toBeNull();
  });

  it('is revoked once the first real admin key is stored, and listed as revoked', async () => {
    const table = new MemoryKeys();
    const keys = withBootstrapAdminKey(table, async () => BOOTSTRAP);
    await keys.put(newApiKey('agent', 'agent://a', new Date()).record);
    await expect(authenticate(`Bearer ${BOOTSTRAP}`, keys)).resolves.toMatchObject({
      role: 'admin',
    });
    const ops = newApiKey('admin', 'ops@company.com', new Date('2026-12-01T10:00:00Z'));
    await keys.put(ops.record);
    await expect(authenticate(`Bearer ${BOOTSTRAP}`, keys)).rejects.toThrow(/unknown or revoked/);
    await expect(authenticate(`Bearer ${ops.key}`, keys)).resolves.toMatchObject({
      role: 'admin',
    });
    expect((await keys.list()).find((k) => k.id === BOOTSTRAP_KEY_ID)).toMatchObject({
      revoked_at: '2026-12-01T10:00:00.000Z',
    });
  });

  it('revokes itself when an admin key was stored before (by an earlier release)', async () => {
    const table = new MemoryKeys();
    await table.put(newApiKey('admin', 'ops@company.com', new Date()).record);
    const keys = withBootstrapAdminKey(table, async () => BOOTSTRAP);
    await expect(authenticate(`Bearer ${BOOTSTRAP}`, keys)).rejects.toThrow(/unknown or revoked/);
    expect(table.records.find((k) => k.id === BOOTSTRAP_KEY_ID)?.revoked_at).toBeTruthy();
  });

  it('is refused where key items may not be written, the revocation left to the admin function', async () => {
    const table = new MemoryKeys();
    await table.put(newApiKey('admin', 'ops@company.com', new Date()).record);
    table.put = async () => {
      throw new Error('AccessDeniedException');
    };
    const unavailable: unknown[] = [];
    const keys = withBootstrapAdminKey(
      table,
      async () => BOOTSTRAP,
      (e) => unavailable.push(e),
    );
    await expect(authenticate(`Bearer ${BOOTSTRAP}`, keys)).rejects.toThrow(/unknown or revoked/);
    expect(unavailable).toHaveLength(1);
  });

  it('can be revoked by id like any key', async () => {
    const keys = withBootstrapAdminKey(new MemoryKeys(), async () => BOOTSTRAP);
    expect(await keys.revoke(BOOTSTRAP_KEY_ID, '2026-12-01T10:00:00.000Z')).toMatchObject({
      id: BOOTSTRAP_KEY_ID,
      revoked_at: '2026-12-01T10:00:00.000Z',
    });
    await expect(authenticate(`Bearer ${BOOTSTRAP}`, keys)).rejects.toThrow(/unknown or revoked/);
  });

  it('still refuses malformed keys before any lookup', async () => {
    const keys = withBootstrapAdminKey(new MemoryKeys(), async () => BOOTSTRAP);
    for (const header of ['Bearer short', 'Bearer has spaces in it', `Bearer ${'a'.repeat(201)}`]) {
      await expect(authenticate(header, keys)).rejects.toThrow(/valid API key/);
    }
  });
});
