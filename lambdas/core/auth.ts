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

function generateApiKey(): string {
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
const BOOTSTRAP_PRINCIPAL = 'bootstrap-admin';

/**
 * The bootstrap admin key: a secret generated at deploy time (Secrets Manager), accepted as an
 * admin key by the repository it wraps, so that the first operator can create real keys. It is
 * looked up only when a presented key is not in the table, and compared by hash.
 *
 * It is good for one thing, the first real admin key: storing any admin key revokes it, as
 * does `DELETE /v1/keys/key_bootstrap`, and a bootstrap key presented while an admin key is
 * already stored (one made before this rule) revokes itself. Revoked, it is a stored record
 * with `revoked_at` like any key (and listed as one), found by its hash before the secret is
 * ever read, so it stays revoked whatever the deployment's settings.
 */
export function withBootstrapAdminKey(
  keys: KeyRepository,
  bootstrapKey: () => Promise<string>,
  onUnavailable: (error: unknown) => void = () => undefined,
): KeyRepository {
  const bootstrapRecord = (key: string, revokedAt: string | null): ApiKeyRecord => ({
    id: BOOTSTRAP_KEY_ID,
    role: 'admin',
    principal: BOOTSTRAP_PRINCIPAL,
    key_hash: hashApiKey(key),
    prefix: key.slice(0, 6),
    created_at: new Date(0).toISOString(),
    revoked_at: revokedAt,
  });
  const readKey = async (): Promise<string | null> => {
    try {
      const key = (await bootstrapKey()).trim();
      return key.length >= 32 ? key : null;
    } catch (error) {
      // No bootstrap key to compare with: the key is unknown, as it would be without one.
      onUnavailable(error);
      return null;
    }
  };
  /** Stores the bootstrap key as revoked; a revocation stored before stands. */
  const revokeBootstrap = async (at: string): Promise<ApiKeyRecord | null> => {
    const key = await readKey();
    if (key === null) return null;
    const revoked = bootstrapRecord(key, at);
    const stored = await keys.findByHash(revoked.key_hash);
    if (stored) return stored;
    try {
      await keys.put(revoked);
    } catch (error) {
      // Stored meanwhile by another request (the put is conditional): that revocation stands.
      const raced = await keys.findByHash(revoked.key_hash);
      if (raced) return raced;
      throw error;
    }
    return revoked;
  };
  return {
    async findByHash(keyHash) {
      const stored = await keys.findByHash(keyHash);
      if (stored) return stored;
      const key = await readKey();
      if (key === null) return null;
      const expected = Buffer.from(hashApiKey(key), 'hex');
      const presented = Buffer.from(keyHash, 'hex');
      if (expected.length !== presented.length) return null;
      if (!timingSafeEqual(expected, presented)) return null;
      const admins = (await keys.list()).filter((k) => k.role === 'admin' && !k.revoked_at);
      if (admins.length > 0) {
        // Only the admin function may write key items (lib/countersign.ts): elsewhere the
        // revocation is not stored, and the key is refused all the same.
        const at = new Date().toISOString();
        const stored = await revokeBootstrap(at).catch((error: unknown) => {
          onUnavailable(error);
          return null;
        });
        return stored ?? bootstrapRecord(key, at);
      }
      return bootstrapRecord(key, null);
    },
    async put(record) {
      await keys.put(record);
      if (record.role !== 'admin') return;
      // The key is stored whatever happens next; if this revocation fails, the bootstrap key
      // revokes itself at its next use, finding this admin key (`findByHash`).
      await revokeBootstrap(record.created_at).catch(onUnavailable);
    },
    list: () => keys.list(),
    revoke: (id, at) => (id === BOOTSTRAP_KEY_ID ? revokeBootstrap(at) : keys.revoke(id, at)),
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
