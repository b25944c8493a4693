import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { ulid } from 'ulid';
import { DomainError } from '../domain/errors';
import { canonicalPrincipal } from '../domain/principals';
import type { ApiKeyRecord, KeyQuota, KeyRepository, Role } from './ports';

export interface Principal {
  role: Role;
  /** An agent name, a reviewer's email, or an operator name. */
  name: string;
  keyId: string;
  /** The intent types an agent key may create; absent means any. */
  intentTypes?: readonly string[];
  /** An agent key's hourly limits; absent means none. */
  quota?: KeyQuota;
}

const KEY_PREFIX = 'csk_';
/** The bootstrap admin key as Secrets Manager generates it: letters and digits only. */
const BOOTSTRAP_KEY_FORMAT = /^[A-Za-z0-9]{32,200}$/;

/** Keys Countersign issues start with `csk_`; the bootstrap key is the one other shape looked up. */
function looksLikeKey(key: string): boolean {
  return key.startsWith(KEY_PREFIX) ? key.length <= 200 : BOOTSTRAP_KEY_FORMAT.test(key);
}

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
  if (!key || !looksLikeKey(key)) {
    throw new DomainError(
      'unauthenticated',
      'Send a valid API key as Authorization: Bearer <key>.',
    );
  }
  const record = await keys.findByHash(hashApiKey(key));
  if (!record || record.revoked_at) {
    throw new DomainError('unauthenticated', 'The API key is unknown or revoked.');
  }
  // Keys stored before principals were normalised at creation may spell an email in capitals.
  return {
    role: record.role,
    name: canonicalPrincipal(record.principal),
    keyId: record.id,
    ...(record.intent_types ? { intentTypes: record.intent_types } : {}),
    ...(record.quota ? { quota: record.quota } : {}),
  };
}

export const BOOTSTRAP_KEY_ID = 'key_bootstrap';
export const BOOTSTRAP_PRINCIPAL = 'bootstrap-admin';

/**
 * The bootstrap admin key: a secret generated at deploy time (Secrets Manager), accepted as an
 * admin key by the repository it wraps, so that the first operator can create real keys. It is
 * looked up only when a presented key is not in the table, and compared by hash. Revoking it
 * through the API is not possible (it is not stored): the deployment turns it off instead.
 */
export function withBootstrapAdminKey(
  keys: KeyRepository,
  bootstrapKey: () => Promise<string>,
  onUnavailable: (error: unknown) => void = () => undefined,
): KeyRepository {
  return {
    async findByHash(keyHash) {
      const stored = await keys.findByHash(keyHash);
      if (stored) return stored;
      let key: string;
      try {
        key = (await bootstrapKey()).trim();
      } catch (error) {
        // No bootstrap key to compare with: the key is unknown, as it would be without one.
        onUnavailable(error);
        return null;
      }
      const expected = Buffer.from(hashApiKey(key), 'hex');
      const presented = Buffer.from(keyHash, 'hex');
      if (key.length < 32 || expected.length !== presented.length) return null;
      if (!timingSafeEqual(expected, presented)) return null;
      return {
        id: BOOTSTRAP_KEY_ID,
        role: 'admin',
        principal: BOOTSTRAP_PRINCIPAL,
        key_hash: keyHash,
        prefix: key.slice(0, 6),
        created_at: new Date(0).toISOString(),
        revoked_at: null,
      };
    },
    put: (record) => keys.put(record),
    list: () => keys.list(),
    revoke: (id, at) => keys.revoke(id, at),
  };
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
  limits: Pick<ApiKeyRecord, 'intent_types' | 'quota'> = {},
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
      ...limits,
    },
  };
}

/**
 * A key as the API shows it: never its hash; an agent key says which intent types it may create
 * and its quota (null: none).
 */
export function publicKey(
  record: ApiKeyRecord,
): Omit<ApiKeyRecord, 'key_hash' | 'quota'> & { quota?: ApiKeyRecord['quota'] | null } {
  const { key_hash: _hash, ...rest } = record;
  if (record.role !== 'agent') return rest;
  return { ...rest, intent_types: record.intent_types ?? ['*'], quota: record.quota ?? null };
}
