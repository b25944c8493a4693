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

  it('still refuses malformed keys before any lookup', async () => {
    const keys = withBootstrapAdminKey(new MemoryKeys(), async () => BOOTSTRAP);
    for (const header of ['Bearer short', 'Bearer has spaces in it', `Bearer ${'a'.repeat(201)}`]) {
      await expect(authenticate(header, keys)).rejects.toThrow(/valid API key/);
    }
  });
});
