/**
 * The audit trail's hash chain, as the contract defines it, and its verification. The server
 * seals events with these same functions, so the SDK and the API cannot disagree on a hash.
 *
 * - `canonical` is the event without its `hash` field, serialized by RFC 8785 (JSON
 *   Canonicalization Scheme, JCS);
 * - `hash` is the lowercase hex SHA-256 of the UTF-8 string `prev_hash + canonical`;
 * - the first event's `prev_hash` is {@link GENESIS_HASH} (64 zeros);
 * - the intent carries `event_count` and `last_event_hash`, which catch what a chain alone
 *   cannot: the removal of its last events.
 *
 * @packageDocumentation
 */
import { createHash } from 'node:crypto';

/** The `prev_hash` of the first event of every trail: 64 zeros. */
export const GENESIS_HASH = '0'.repeat(64);

const HASH_PATTERN = /^[0-9a-f]{64}$/;

/**
 * Serializes a JSON value by RFC 8785 (JCS): object keys sorted by their UTF-16 code units, no
 * whitespace, numbers as ECMAScript's Number-to-String, strings with JSON's minimal escaping.
 *
 * As with `JSON.stringify`, object members whose value is `undefined`, a function or a symbol
 * are left out (they do not exist in JSON), the same in arrays become `null`, and `toJSON` is
 * honoured (so a `Date` becomes its ISO string).
 *
 * @throws TypeError for what JSON cannot represent canonically: `NaN`, `Infinity`, a bigint, a
 * string with a lone surrogate (RFC 8785 section 3.2.2.2), a cycle, or `undefined` at the top.
 *
 * @example
 * ```ts
 * canonicalize({ b: [1e21, 'é'], a: null }); // '{"a":null,"b":[1e+21,"é"]}'
 * ```
 */
export function canonicalize(value: unknown): string {
  const result = serialize(value, new Set());
  if (result === undefined) {
    throw new TypeError(`JCS: ${typeof value} is not a JSON value.`);
  }
  return result;
}

function serialize(value: unknown, ancestors: Set<object>): string | undefined {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`JCS: ${value} is not a JSON number.`);
      // ECMAScript Number::toString, which RFC 8785 section 3.2.2.3 adopts; -0 becomes "0".
      return JSON.stringify(value);
    case 'string':
      if (hasLoneSurrogate(value)) {
        throw new TypeError('JCS: a string contains a lone surrogate, which is not Unicode.');
      }
      // JSON.stringify escapes exactly what RFC 8785 section 3.2.2.2 requires: `"`, `\`, and
      // U+0000..U+001F (as \b \t \n \f \r or lowercase \u00hh); everything else stays as is.
      return JSON.stringify(value);
    case 'bigint':
      throw new TypeError('JCS: a bigint is not a JSON number; convert it first.');
    case 'undefined':
    case 'function':
    case 'symbol':
      return undefined;
  }
  const object = value as object;
  if (ancestors.has(object)) throw new TypeError('JCS: the value contains a cycle.');
  const toJSON = (object as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') {
    ancestors.add(object);
    const result = serialize(toJSON.call(object), ancestors);
    ancestors.delete(object);
    return result;
  }
  ancestors.add(object);
  let result: string;
  if (Array.isArray(object)) {
    const items = object.map((item: unknown) => serialize(item, ancestors) ?? 'null');
    result = `[${items.join(',')}]`;
  } else {
    const members: string[] = [];
    // Array.prototype.sort without a comparator orders strings by UTF-16 code units, which is
    // what RFC 8785 section 3.2.3 prescribes (not by code points, not by locale).
    for (const key of Object.keys(object).sort()) {
      const member = serialize((object as Record<string, unknown>)[key], ancestors);
      if (member === undefined) continue;
      if (hasLoneSurrogate(key)) {
        throw new TypeError('JCS: a property name contains a lone surrogate.');
      }
      members.push(`${JSON.stringify(key)}:${member}`);
    }
    result = `{${members.join(',')}}`;
  }
  ancestors.delete(object);
  return result;
}

function hasLoneSurrogate(text: string): boolean {
  for (let i = 0; i < text.length; i += 1) {
    const unit = text.charCodeAt(i);
    if (unit >= 0xd800 && unit <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff)) return true;
      i += 1;
    } else if (unit >= 0xdc00 && unit <= 0xdfff) {
      return true;
    }
  }
  return false;
}

/**
 * The hash of one audit event: lowercase hex SHA-256 of `prev_hash + canonical`, where
 * `canonical` is the event without its `hash` field under RFC 8785. A `hash` field on the
 * argument is ignored, so a sealed event can be passed as it is to recompute its hash.
 *
 * @example
 * ```ts
 * const { items } = await client.events(id);
 * const first = items[0];
 * console.log(first && hashAuditEvent(first) === first.hash);
 * ```
 */
export function hashAuditEvent<T extends { prev_hash: string }>(event: T): string {
  const { hash: _ignored, ...unsealed } = event as T & { hash?: unknown };
  return createHash('sha256')
    .update(event.prev_hash + canonicalize(unsealed), 'utf8')
    .digest('hex');
}

/** What the intent records about its trail (`event_count`, `last_event_hash`). */
export interface TrailHead {
  /** The intent's `event_count`. */
  eventCount: number;
  /** The intent's `last_event_hash`. */
  lastEventHash: string;
}

/**
 * Why a trail failed verification:
 * - `malformed`: an entry is not an audit event (no numeric `seq`, no 64-hex `hash`, ...);
 * - `sequence`: an entry is not the next event (`seq` out of order): something was removed,
 *   inserted, duplicated or moved before it;
 * - `prev_hash`: an entry does not chain onto the one before it;
 * - `hash`: an entry's content does not match its own hash: it was altered;
 * - `event_count`: the trail has fewer (truncated) or more events than the intent records;
 * - `last_event_hash`: the trail's last hash is not the intent's: its tail was rewritten;
 * - `intent_mismatch`: the trail is sound, but its `created` event does not record what the
 *   intent now holds (its payload, `callback_url`, `from_agent`, `to_agent` or `intent_type`
 *   were changed after the fact). Only {@link verifyIntentTrail} checks this.
 */
export type TrailProblem =
  | 'malformed'
  | 'sequence'
  | 'prev_hash'
  | 'hash'
  | 'event_count'
  | 'last_event_hash'
  | 'intent_mismatch';

export interface TrailIntact {
  ok: true;
  /** How many events were verified. */
  eventCount: number;
  /** The hash of the last event (the genesis hash for an empty trail). */
  lastEventHash: string;
  /** Whether `event_count` and `last_event_hash` of the intent were checked too. */
  headChecked: boolean;
  /**
   * Set by {@link verifyIntentTrail}: whether the `created` event records the payload's hash, so
   * that the trail covers what was asked. `false` for intents created before the trail recorded
   * it: their payload, callback URL and creator are not covered by the chain.
   */
  payloadCovered?: boolean;
}

export interface TrailBroken {
  ok: false;
  problem: TrailProblem;
  /**
   * The 0-based position in the given array where the chain breaks, or `null` when every event
   * verified and only the comparison with the intent's head failed.
   */
  index: number | null;
  /** The `seq` the event at `index` carries (or `null` when it has none, or no event is at fault). */
  seq: number | null;
  /** How many events, from the first, verified before the break: events 1 to `intactCount` are sound. */
  intactCount: number;
  /** A sentence saying where and how the trail breaks. */
  message: string;
}

export type TrailVerification = TrailIntact | TrailBroken;

/**
 * Verifies an intent's audit trail: each event's `seq` follows the previous one, chains onto its
 * `prev_hash` (64 zeros for the first), and hashes to its `hash`; with `head` (the intent's
 * `event_count` and `last_event_hash`) it also proves that no event was cut from the end.
 *
 * Pass the events as the API returned them (`client.events(id)`), oldest first. Entries are
 * checked at run time, so JSON read from a file or an export can be passed as it is.
 *
 * @example
 * ```ts
 * const intent = await client.getIntent(id);
 * const { items } = await client.events(id);
 * const result = verifyTrail(items, {
 *   eventCount: intent.event_count,
 *   lastEventHash: intent.last_event_hash,
 * });
 * if (!result.ok) console.error(result.message); // e.g. "event 3 was altered: ..."
 * ```
 */
export function verifyTrail(events: readonly unknown[], head?: TrailHead): TrailVerification {
  let prevHash = GENESIS_HASH;
  for (const [index, entry] of events.entries()) {
    const expectedSeq = index + 1;
    const broken = (problem: TrailProblem, seq: number | null, message: string): TrailBroken => ({
      ok: false,
      problem,
      index,
      seq,
      intactCount: index,
      message,
    });
    if (!isRecord(entry) || typeof entry.seq !== 'number' || !Number.isInteger(entry.seq)) {
      return broken('malformed', null, `entry ${expectedSeq} is not an audit event (no seq).`);
    }
    const seq = entry.seq;
    if (typeof entry.hash !== 'string' || !HASH_PATTERN.test(entry.hash)) {
      return broken('malformed', seq, `event ${seq} has no valid hash (64 lowercase hex digits).`);
    }
    if (typeof entry.prev_hash !== 'string') {
      return broken('malformed', seq, `event ${seq} has no prev_hash.`);
    }
    if (seq !== expectedSeq) {
      const how =
        seq > expectedSeq
          ? seq === expectedSeq + 1
            ? `event ${expectedSeq} is missing`
            : `events ${expectedSeq} to ${seq - 1} are missing`
          : `event ${seq} appears again or out of order`;
      return broken(
        'sequence',
        seq,
        `position ${expectedSeq} holds event ${seq}: ${how} (events were removed, inserted or reordered).`,
      );
    }
    let actual: string;
    try {
      actual = hashAuditEvent(entry as { prev_hash: string });
    } catch (error) {
      return broken(
        'malformed',
        seq,
        `event ${seq} cannot be canonicalized: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    if (actual !== entry.hash) {
      return broken(
        'hash',
        seq,
        `event ${seq} was altered: its content hashes to ${short(actual)}, but it records ${short(entry.hash)}.`,
      );
    }
    if (entry.prev_hash !== prevHash) {
      const previous = index === 0 ? 'the genesis hash (64 zeros)' : `the hash of event ${seq - 1}`;
      return broken(
        'prev_hash',
        seq,
        `event ${seq} does not chain onto the trail: its prev_hash is ${short(entry.prev_hash)}, but ${previous} is ${short(prevHash)}.`,
      );
    }
    prevHash = entry.hash;
  }

  const count = events.length;
  if (head !== undefined) {
    const atHead = (problem: TrailProblem, message: string): TrailBroken => ({
      ok: false,
      problem,
      index: null,
      seq: null,
      intactCount: count,
      message,
    });
    if (head.eventCount !== count) {
      return atHead(
        'event_count',
        head.eventCount > count
          ? `the trail ends at event ${count}, but the intent records ${head.eventCount} events: the last ${head.eventCount - count} ${head.eventCount - count === 1 ? 'is' : 'are'} missing.`
          : `the trail has ${count} events, but the intent records only ${head.eventCount}.`,
      );
    }
    if (head.lastEventHash !== prevHash) {
      return atHead(
        'last_event_hash',
        `the trail's last hash is ${short(prevHash)}, but the intent records ${short(head.lastEventHash)}: the trail was rewritten.`,
      );
    }
  }
  return { ok: true, eventCount: count, lastEventHash: prevHash, headChecked: head !== undefined };
}

/** Enough of a hash to tell two apart in a message. */
function short(hash: string): string {
  return hash.length > 12 ? `${hash.slice(0, 12)}…` : JSON.stringify(hash);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The lowercase hex SHA-256 of the RFC 8785 canonical form of `payload`: what the `created`
 * event and the receipt record as `payload_sha256`.
 *
 * @example
 * ```ts
 * payloadSha256({ amount: 40000, iban: 'DE89…' }) === receipt.payload_sha256;
 * ```
 */
export function payloadSha256(payload: unknown): string {
  return createHash('sha256').update(canonicalize(payload), 'utf8').digest('hex');
}

/** What {@link verifyIntentTrail} compares with the trail: an intent as the API returns it. */
export interface IntentForTrail {
  payload: unknown;
  callback_url: string | null;
  from_agent: string;
  to_agent: string;
  intent_type: string;
  event_count: number;
  last_event_hash: string;
  /** The payload as approved (reviewers' edits applied); compared with the final event when present. */
  approved_payload?: unknown;
}

/** The fields of the `created` event that must equal the intent's, and what each is computed from. */
const CREATED_FIELDS: readonly [string, (intent: IntentForTrail) => unknown][] = [
  ['payload_sha256', (intent) => payloadSha256(intent.payload)],
  ['callback_url', (intent) => intent.callback_url ?? null],
  ['from_agent', (intent) => intent.from_agent],
  ['to_agent', (intent) => intent.to_agent],
  ['intent_type', (intent) => intent.intent_type],
];

/**
 * Verifies an intent's trail ({@link verifyTrail} with the intent's head) and that the trail
 * covers what was asked: the `created` event's `payload_sha256` is the hash of the intent's
 * payload as it is now, and its `callback_url`, `from_agent`, `to_agent` and `intent_type` are
 * the intent's. So a payload (an IBAN, an amount) or a callback URL changed in the store after
 * the fact is caught, even though no event was touched. Where the intent carries an
 * `approved_payload` and the final event records `approved_payload_sha256`, they must match too:
 * reviewers' edits changed in the store after the approval are caught the same way.
 *
 * Intents created before the `created` event recorded `payload_sha256` still verify (their
 * chain and head are checked); the result says `payloadCovered: false` instead of failing.
 *
 * @example
 * ```ts
 * const intent = await client.getIntent(id);
 * const result = verifyIntentTrail(intent, (await client.events(id)).items);
 * if (!result.ok) console.error(result.message);
 * else if (!result.payloadCovered) console.warn('created before payload hashing');
 * ```
 */
export function verifyIntentTrail(
  intent: IntentForTrail,
  events: readonly unknown[],
): TrailVerification {
  const chain = verifyTrail(events, {
    eventCount: intent.event_count,
    lastEventHash: intent.last_event_hash,
  });
  if (!chain.ok) return chain;
  const created = events[0];
  const data = isRecord(created) && isRecord(created.data) ? created.data : undefined;
  const mismatch = (message: string): TrailBroken => ({
    ok: false,
    problem: 'intent_mismatch',
    index: 0,
    seq: 1,
    intactCount: chain.eventCount,
    message,
  });
  if (!isRecord(created) || created.type !== 'created' || data === undefined) {
    return mismatch('the trail does not start with a created event.');
  }
  if (!('payload_sha256' in data)) return { ...chain, payloadCovered: false };
  for (const [field, expected] of CREATED_FIELDS) {
    let actual: unknown;
    try {
      actual = expected(intent);
    } catch (error) {
      return mismatch(
        `the intent's ${field} cannot be computed: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    if (data[field] !== actual) {
      const what =
        field === 'payload_sha256'
          ? `the intent's payload hashes to ${short(String(actual))}, but the created event records ${short(String(data[field]))}: the payload was changed after it was asked for`
          : `the intent's ${field} is ${JSON.stringify(actual)}, but the created event records ${JSON.stringify(data[field])}`;
      return mismatch(`${what}.`);
    }
  }
  const approved = approvedPayloadMismatch(intent, events);
  if (approved)
    return { ...mismatch(approved.message), index: approved.index, seq: approved.index + 1 };
  return { ...chain, payloadCovered: true };
}

/** Where the final event's `approved_payload_sha256` is not the hash of the intent's `approved_payload`. */
function approvedPayloadMismatch(
  intent: IntentForTrail,
  events: readonly unknown[],
): { index: number; seq: number | null; message: string } | null {
  if (intent.approved_payload === undefined || intent.approved_payload === null) return null;
  const index = events.findIndex(
    (event) =>
      isRecord(event) &&
      (event.type === 'approved' || event.type === 'timed_out') &&
      isRecord(event.data) &&
      typeof event.data.approved_payload_sha256 === 'string',
  );
  const final = events[index];
  if (!isRecord(final) || !isRecord(final.data)) return null;
  const recorded = String(final.data.approved_payload_sha256);
  const actual = payloadSha256(intent.approved_payload);
  return recorded === actual
    ? null
    : {
        index,
        seq: typeof final.seq === 'number' ? final.seq : null,
        message: `the intent's approved_payload hashes to ${short(actual)}, but the ${String(final.type)} event records ${short(recorded)}: what was approved was changed after the approval.`,
      };
}
