/**
 * Receipts and signed callbacks, verified with the deployment's public keys only.
 *
 * A deployment signs with one private key (in AWS it never leaves KMS; locally it is a file in
 * the data directory) and publishes the public half as a JWK Set at
 * `GET /.well-known/jwks.json`, without authentication. Signatures are compact JWS (RFC 7515),
 * `EdDSA` (Ed25519) or `ES256`, with `kid` naming the key in the set. Since nobody else holds the
 * private key, no agent can sign a callback or a receipt for another agent's intent.
 *
 * - A **receipt** (`intent.receipt`, once the intent left `pending`) is a JWS of type
 *   `countersign-receipt` whose payload is {@link ReceiptClaims}: who decided what, when, about
 *   which payload (its RFC 8785 SHA-256), and where the trail stood (`event_count`,
 *   `last_event_hash`).
 * - A **callback** carries the header {@link CALLBACK_JWS_HEADER}: a JWS of type
 *   `countersign-callback` whose payload is {@link CallbackClaims}: the time, the callback URL
 *   it was sent to, and the SHA-256 of the raw body. A body replayed to another URL, altered, or
 *   older than the tolerance does not verify.
 *
 * The server signs with {@link encodeJws} from this module, so the two cannot disagree. Only
 * `node:crypto` is used: no runtime dependencies.
 *
 * @packageDocumentation
 */
import { createHash, createPublicKey, type KeyObject, verify } from 'node:crypto';
import { payloadSha256 } from './audit.js';
import type { FetchFunction } from './http.js';

/** The callback header that carries the asymmetric signature (a compact JWS). */
export const CALLBACK_JWS_HEADER = 'Countersign-JWS';

/** The JWS `typ` of receipts and of callback signatures: one can never pass for the other. */
export const JWS_TYPES = {
  receipt: 'countersign-receipt',
  callback: 'countersign-callback',
} as const;

/** Where a deployment publishes its public keys, relative to its base URL. */
export const JWKS_PATH = '/.well-known/jwks.json';

/** A public key as the JWK Set serves it (RFC 7517): Ed25519 (`OKP`) or P-256 (`EC`). */
export interface PublicJwk {
  kty: 'OKP' | 'EC' | string;
  kid: string;
  alg?: 'EdDSA' | 'ES256' | string;
  use?: string;
  crv?: string;
  x?: string;
  y?: string;
}

/** `GET /.well-known/jwks.json`. */
export interface JsonWebKeySet {
  keys: PublicJwk[];
}

/** The payload of a receipt. */
export interface ReceiptClaims {
  intent_id: string;
  /** `approved`, `rejected`, `timed_out` or `cancelled`. */
  status: string;
  /** `decision.outcome`: `approved`, `rejected` or `cancelled`. */
  outcome: string;
  /** `decision.by`: a reviewer's email, `timeout`, or the agent (or admin) that cancelled. */
  by: string;
  /** `decision.at`. */
  at: string;
  from_agent: string;
  to_agent: string;
  intent_type: string;
  /** Lowercase hex SHA-256 of the RFC 8785 canonical payload, as asked. */
  payload_sha256: string;
  /** The hash of the payload that was approved; null unless the outcome is `approved`. */
  approved_payload_sha256: string | null;
  /** The trail up to and including the final event: its length and last hash. */
  event_count: number;
  last_event_hash: string;
}

/** The payload of a callback's {@link CALLBACK_JWS_HEADER}. */
export interface CallbackClaims {
  intent_id: string;
  /** When it was signed, in unix seconds. */
  iat: number;
  /** The callback URL the request was sent to. */
  url: string;
  /** Lowercase hex SHA-256 of the raw request body. */
  body_sha256: string;
}

/**
 * Builds a compact JWS: `sign` receives the signing input (`<header>.<payload>` in base64url,
 * as bytes) and returns the raw signature (64 bytes for EdDSA; `r || s` for ES256).
 */
export async function encodeJws(
  header: { alg: string; kid: string; typ: string },
  payload: object,
  sign: (signingInput: Buffer) => Promise<Uint8Array> | Uint8Array,
): Promise<string> {
  const signingInput = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(payload))}`;
  const signature = await sign(Buffer.from(signingInput, 'ascii'));
  return `${signingInput}.${base64url(signature)}`;
}

export type JwsVerification<T> =
  | { ok: true; claims: T; kid: string; alg: string }
  | { ok: false; reason: string };

/**
 * Verifies a compact JWS of type `typ` against a JWK Set: the key named by `kid`, the algorithm
 * that key is for (never the one the token asks for), and the signature. Returns the payload.
 */
export function verifyJws<T>(jws: string, jwks: JsonWebKeySet, typ: string): JwsVerification<T> {
  const parts = typeof jws === 'string' ? jws.split('.') : [];
  if (parts.length !== 3 || parts.some((part) => !/^[A-Za-z0-9_-]*$/.test(part))) {
    return { ok: false, reason: 'not a compact JWS' };
  }
  const [encodedHeader = '', encodedPayload = '', encodedSignature = ''] = parts;
  const header = parseJson(encodedHeader);
  if (!isRecord(header) || typeof header.kid !== 'string' || typeof header.alg !== 'string') {
    return { ok: false, reason: 'the JWS header has no kid or alg' };
  }
  if (header.typ !== typ) {
    return { ok: false, reason: `the JWS is of type ${String(header.typ)}, not ${typ}` };
  }
  const jwk = jwks.keys.find((key) => key.kid === header.kid);
  if (!jwk) return { ok: false, reason: `no key ${header.kid} in the key set` };
  const algorithm = algorithmOf(jwk);
  if (algorithm === undefined)
    return { ok: false, reason: `key ${jwk.kid} is not Ed25519 or P-256` };
  if (header.alg !== algorithm) {
    return { ok: false, reason: `key ${jwk.kid} signs ${algorithm}, not ${header.alg}` };
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: { ...jwk }, format: 'jwk' });
  } catch {
    return { ok: false, reason: `key ${jwk.kid} is not a usable public key` };
  }
  const signingInput = Buffer.from(`${encodedHeader}.${encodedPayload}`, 'ascii');
  const signature = Buffer.from(encodedSignature, 'base64url');
  const valid =
    algorithm === 'EdDSA'
      ? verify(null, signingInput, key, signature)
      : verify('sha256', signingInput, { key, dsaEncoding: 'ieee-p1363' }, signature);
  if (!valid) return { ok: false, reason: 'the signature does not match' };
  const claims = parseJson(encodedPayload);
  if (!isRecord(claims)) return { ok: false, reason: 'the JWS payload is not a JSON object' };
  return { ok: true, claims: claims as T, kid: jwk.kid, alg: algorithm };
}

/** Where to get the public keys: the set itself, or the deployment's base URL (or JWKS URL). */
export type KeySource = JsonWebKeySet | string;

export interface KeySourceOptions {
  /** The `fetch` used for a URL key source. Default: the global `fetch`. */
  fetch?: FetchFunction;
}

/**
 * Fetches a deployment's JWK Set: `source` is its base URL (`https://approvals.example.com`) or
 * the full JWKS URL. Cache it: the keys change only when the deployment rotates them.
 */
export async function fetchJwks(
  source: string,
  options: KeySourceOptions = {},
): Promise<JsonWebKeySet> {
  const url = source.endsWith('.json') ? source : `${source.replace(/\/+$/, '')}${JWKS_PATH}`;
  const fetcher = options.fetch ?? globalThis.fetch;
  const response = await fetcher(url, { headers: { Accept: 'application/json' } });
  if (!response.ok) throw new Error(`GET ${url} answered HTTP ${response.status}`);
  const body = (await response.json()) as unknown;
  if (!isRecord(body) || !Array.isArray(body.keys)) throw new Error(`${url} is not a JWK Set`);
  return body as unknown as JsonWebKeySet;
}

async function keysFrom(source: KeySource, options: KeySourceOptions): Promise<JsonWebKeySet> {
  return typeof source === 'string' ? fetchJwks(source, options) : source;
}

export type CallbackVerification =
  | { ok: true; intentId: string; timestamp: number; kid: string }
  | { ok: false; reason: string };

export interface VerifyCallbackOptions extends KeySourceOptions {
  /** The `Countersign-JWS` header as received. */
  header: string | undefined;
  /** The request body exactly as received, before any JSON parsing. */
  rawBody: string | Uint8Array;
  /** The callback URL you gave when creating the intent (the signature covers it). */
  url: string;
  /** The deployment's JWK Set, or its base URL to fetch `/.well-known/jwks.json` from. */
  keys: KeySource;
  /** The receiver's clock, in milliseconds. Default `Date.now()`. */
  now?: number;
  /** How far the signing time may be from `now` before the request counts as a replay. Default 300 s. */
  toleranceSeconds?: number;
}

/**
 * Verifies a callback: the `Countersign-JWS` header is signed by a key of the deployment, was
 * made for this URL and this exact body, and is recent. Needs no secret, and no agent can
 * produce one for another agent's receiver.
 *
 * @example
 * ```ts
 * const verdict = await verifyCallback({
 *   header: req.headers['countersign-jws'],
 *   rawBody,
 *   url: 'https://agent.example.com/hooks/countersign',
 *   keys: jwks, // from fetchJwks('https://approvals.example.com'), cached
 * });
 * if (!verdict.ok) return res.writeHead(401).end();
 * const intent = JSON.parse(rawBody) as Intent; // final, with its receipt
 * ```
 */
export async function verifyCallback(
  options: VerifyCallbackOptions,
): Promise<CallbackVerification> {
  if (!options.header) return { ok: false, reason: `missing ${CALLBACK_JWS_HEADER} header` };
  const verdict = verifyJws<CallbackClaims>(
    options.header.trim(),
    await keysFrom(options.keys, options),
    JWS_TYPES.callback,
  );
  if (!verdict.ok) return verdict;
  const { claims } = verdict;
  if (claims.url !== options.url) {
    return { ok: false, reason: `signed for ${JSON.stringify(claims.url)}, not this URL` };
  }
  const bodySha256 = createHash('sha256').update(options.rawBody).digest('hex');
  if (claims.body_sha256 !== bodySha256) {
    return { ok: false, reason: 'the body is not the one that was signed' };
  }
  const now = Math.floor((options.now ?? Date.now()) / 1000);
  if (
    typeof claims.iat !== 'number' ||
    Math.abs(now - claims.iat) > (options.toleranceSeconds ?? 300)
  ) {
    return { ok: false, reason: 'the signing time is outside the tolerance' };
  }
  return { ok: true, intentId: claims.intent_id, timestamp: claims.iat, kid: verdict.kid };
}

/** What {@link verifyReceipt} compares the claims with: an intent as the API returns it. */
export interface IntentForReceipt {
  id: string;
  status: string;
  intent_type: string;
  from_agent: string;
  to_agent: string;
  payload: unknown;
  decision: { outcome: string; by: string; at: string } | null;
  /** The payload as approved (reviewers' edits applied); compared when present. */
  approved_payload?: unknown;
}

export type ReceiptVerification =
  | { ok: true; claims: ReceiptClaims; kid: string }
  | { ok: false; reason: string };

export interface VerifyReceiptOptions extends KeySourceOptions {
  /** The deployment's JWK Set, or its base URL to fetch `/.well-known/jwks.json` from. */
  keys: KeySource;
  /**
   * The intent the receipt should be about: its id, status, decision, agents, type, the
   * SHA-256 of its payload and (where the intent carries it) of its `approved_payload` must be
   * what the receipt says.
   */
  intent?: IntentForReceipt;
}

/**
 * Verifies a receipt (`intent.receipt`): signed by a key of the deployment and, with `intent`,
 * about this intent as it is: same decision, same agents, same payload (its RFC 8785 SHA-256).
 * The claims' `event_count` and `last_event_hash` name the trail's final event, so a trail
 * verified with `verifyIntentTrail` can be tied to the receipt too.
 *
 * @example
 * ```ts
 * const intent = await client.waitFor(id);
 * const verdict = await verifyReceipt(intent.receipt ?? '', { keys: baseUrl, intent });
 * if (!verdict.ok) throw new Error(`not a Countersign decision: ${verdict.reason}`);
 * ```
 */
export async function verifyReceipt(
  receipt: string,
  options: VerifyReceiptOptions,
): Promise<ReceiptVerification> {
  const verdict = verifyJws<ReceiptClaims>(
    receipt,
    await keysFrom(options.keys, options),
    JWS_TYPES.receipt,
  );
  if (!verdict.ok) return verdict;
  const { claims } = verdict;
  const intent = options.intent;
  if (intent) {
    const expected: Partial<Record<keyof ReceiptClaims, unknown>> = {
      intent_id: intent.id,
      status: intent.status,
      outcome: intent.decision?.outcome,
      by: intent.decision?.by,
      at: intent.decision?.at,
      from_agent: intent.from_agent,
      to_agent: intent.to_agent,
      intent_type: intent.intent_type,
      payload_sha256: payloadSha256(intent.payload),
    };
    // What the agent runs with: a receipt for other values than those does not cover it.
    if (intent.approved_payload !== undefined) {
      expected.approved_payload_sha256 =
        intent.approved_payload === null ? null : payloadSha256(intent.approved_payload);
    }
    for (const [field, value] of Object.entries(expected)) {
      const claimed = claims[field as keyof ReceiptClaims];
      if (claimed !== value) {
        return {
          ok: false,
          reason: `the receipt's ${field} is ${JSON.stringify(claimed)}, but the intent's is ${JSON.stringify(value)}`,
        };
      }
    }
  }
  return { ok: true, claims, kid: verdict.kid };
}

/** The JWS algorithm a public key is for. */
function algorithmOf(jwk: PublicJwk): 'EdDSA' | 'ES256' | undefined {
  if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519') return 'EdDSA';
  if (jwk.kty === 'EC' && jwk.crv === 'P-256') return 'ES256';
  return undefined;
}

function base64url(value: string | Uint8Array): string {
  return Buffer.from(value).toString('base64url');
}

function parseJson(encoded: string): unknown {
  try {
    return JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
