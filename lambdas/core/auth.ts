import { createHash, randomBytes } from 'node:crypto';
import { ulid } from 'ulid';
import { DomainError } from '../domain/errors';
import type { ApiKeyRecord, KeyRepository, Role } from './ports';

export interface Principal {
  role: Role;
  /** An agent name, a reviewer's email, or an operator name. */
  name: string;
  keyId: string;
}

const KEY_PREFIX = 'csk_';

/** API keys are 256 random bits, so a plain SHA-256 is a safe way to store them (no password stretching needed). */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

export function generateApiKey(): string {
  return `${KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
}

export async function authenticate(
  authorization: string | undefined,
  keys: KeyRepository,
): Promise<Principal> {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  const key = match?.[1];
  if (!key?.startsWith(KEY_PREFIX) || key.length > 200) {
    throw new DomainError(
      'unauthenticated',
      'Send a valid API key as Authorization: Bearer <key>.',
    );
  }
  const record = await keys.findByHash(hashApiKey(key));
  if (!record || record.revoked_at) {
    throw new DomainError('unauthenticated', 'The API key is unknown or revoked.');
  }
  return { role: record.role, name: record.principal, keyId: record.id };
}

export function requireRole(principal: Principal, ...roles: Role[]): void {
  if (!roles.includes(principal.role)) {
    throw new DomainError('forbidden', `This needs one of the roles: ${roles.join(', ')}.`);
  }
}

/** Creates a key record; the plain key is returned once and never stored. */
export function newApiKey(
  role: Role,
  principal: string,
  now: Date,
): { key: string; record: ApiKeyRecord } {
  const key = generateApiKey();
  return {
    key,
    record: {
      id: `key_${ulid(now.getTime())}`,
      role,
      principal,
      key_hash: hashApiKey(key),
      prefix: key.slice(0, KEY_PREFIX.length + 6),
      created_at: now.toISOString(),
      revoked_at: null,
    },
  };
}

export function publicKey(record: ApiKeyRecord): Omit<ApiKeyRecord, 'key_hash'> {
  const { key_hash: _hash, ...rest } = record;
  return rest;
}
