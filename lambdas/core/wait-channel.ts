import { z } from 'zod';
import { DomainError } from '../domain/errors';
import { type IntentState, type IntentView, toView } from '../domain/intent';
import { authenticate, hashApiKey, type Principal } from './auth';
import { canSee, loadVisible } from './intents';
import type { IntentRepository, KeyRepository, Role } from './ports';

/**
 * The wait channel: a WebSocket on which `waitFor`/`wait_for` subscribe to intents and are told
 * when one leaves `pending`, so that a waiting agent costs a socket instead of a function held
 * open (docs/api.md, "Waiting over a WebSocket"). The protocol is the same in AWS (API Gateway
 * WebSocket API: each message is one invocation, decisions are pushed from the table's stream)
 * and locally (the local stack's server, pushed from the in-process announcement of commits).
 *
 * Every `subscribe` carries the API key and is authorized like `GET /v1/intents/{id}`: an intent
 * the key may not read is `not_found`, whether it exists or not. The subscription is recorded
 * before the intent is read, so a decision is either in that read or pushed after it; the reply
 * is the intent as read, so a client that (re)connects finds a decision it missed. A push goes
 * only to subscriptions whose key still exists unrevoked and may still read the intent.
 */

/** The response header of `GET /v1/intents/{id}` that names the wait channel's URL. */
export const WAIT_CHANNEL_HEADER = 'Countersign-Wait-Url';
/** How long a subscription is kept: API Gateway closes a WebSocket after 2 hours at most. */
export const SUBSCRIPTION_TTL_SECONDS = 3 * 3600;
/** Subscriptions one local connection may hold (in AWS each is an item with a TTL). */
export const MAX_SUBSCRIPTIONS_PER_CONNECTION = 100;
/** The largest message a client may send; a subscribe is a few hundred bytes. */
export const MAX_MESSAGE_BYTES = 4096;

const messageSchema = z.discriminatedUnion('action', [
  z
    .object({
      action: z.literal('subscribe'),
      intent_id: z.string().min(1).max(200),
      key: z.string().min(1).max(300),
    })
    .strict(),
  z.object({ action: z.literal('ping') }).strict(),
]);

export type WaitMessage = z.infer<typeof messageSchema>;

export type WaitReply =
  | { type: 'intent'; intent: IntentView }
  | { type: 'pong' }
  | {
      type: 'error';
      intent_id?: string;
      /** The HTTP status the same error has on the REST API (a client treats it alike). */
      status: number;
      error: { code: string; message: string; details: unknown[] };
      retry_after?: number;
    };

/** Who subscribed: enough to authorize a push later, never the key itself. */
export interface WaitSubscriber {
  role: Role;
  name: string;
  keyHash: string;
  /** When the key was last authenticated (epoch ms): at the subscribe. */
  keyCheckedAt: number;
}

/**
 * A push within this long of the subscribe trusts the key as then authenticated, as a long poll
 * held for its 25 s does; an older subscription's key is looked up again before the push.
 */
export const KEY_TRUSTED_MS = 25_000;

/** Where a connection's subscriptions live: in-process locally, the table in AWS. */
export interface WaitSubscriptions {
  add(intentId: string, subscriber: WaitSubscriber): Promise<void>;
  remove(intentId: string): Promise<void>;
}

export interface WaitChannelDeps {
  keys: KeyRepository;
  intents: Pick<IntentRepository, 'get'>;
}

/** Parses one client message: invalid JSON or shape is `invalid_request`. */
export function parseWaitMessage(raw: string): WaitMessage {
  if (Buffer.byteLength(raw, 'utf8') > MAX_MESSAGE_BYTES) {
    throw new DomainError(
      'payload_too_large',
      `A message may be at most ${MAX_MESSAGE_BYTES} bytes.`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new DomainError('invalid_request', 'A message must be a JSON object.');
  }
  const message = messageSchema.safeParse(parsed);
  if (!message.success) {
    throw new DomainError(
      'invalid_request',
      'Send {"action":"subscribe","intent_id":"…","key":"…"} or {"action":"ping"}.',
    );
  }
  return message.data;
}

/**
 * Subscribes, then reads: the reply is the intent as it is now (final, or pending with pushes to
 * follow). A key that may not read the intent leaves no subscription behind.
 */
export async function subscribe(
  deps: WaitChannelDeps,
  subscriptions: WaitSubscriptions,
  message: Extract<WaitMessage, { action: 'subscribe' }>,
): Promise<IntentView> {
  const principal = await authenticate(`Bearer ${message.key}`, deps.keys);
  await subscriptions.add(message.intent_id, {
    role: principal.role,
    name: principal.name,
    keyHash: hashApiKey(message.key),
    keyCheckedAt: Date.now(),
  });
  try {
    return toView(await loadVisible(deps, principal, message.intent_id));
  } catch (error) {
    await subscriptions.remove(message.intent_id);
    throw error;
  }
}

/**
 * Whether a final intent may be pushed to a subscriber: it left `pending`, the subscriber's key
 * may read it (as `GET` would decide now), and the key is still there and unrevoked (looked up
 * again once the subscription is older than KEY_TRUSTED_MS).
 */
export async function mayPush(
  deps: Pick<WaitChannelDeps, 'keys'>,
  subscriber: WaitSubscriber,
  intent: IntentState,
  now = Date.now(),
): Promise<boolean> {
  if (intent.status === 'pending') return false;
  const principal: Principal = { role: subscriber.role, name: subscriber.name, keyId: '' };
  if (!canSee(principal, intent)) return false;
  if (now - subscriber.keyCheckedAt <= KEY_TRUSTED_MS) return true;
  const key = await deps.keys.findByHash(subscriber.keyHash);
  return key !== null && !key.revoked_at && key.role === subscriber.role;
}

/** Subscriptions as the push reads them (AWS: the table; one per intent and connection). */
export interface StoredSubscriptions {
  list(intentId: string): Promise<(WaitSubscriber & { connectionId: string })[]>;
  remove(intentId: string, connectionId: string): Promise<void>;
}

/** Sends one message to a connection; `gone` when the client has disconnected. */
export type SendToConnection = (connectionId: string, reply: WaitReply) => Promise<'sent' | 'gone'>;

export interface WaitPushDeps extends WaitChannelDeps {
  subscriptions: StoredSubscriptions;
  send: SendToConnection;
}

/**
 * Tells every subscriber that may see it that the intent left `pending`, then drops their
 * subscriptions (an intent never returns to pending). A send that failed otherwise than by the
 * client having gone keeps its subscription and throws at the end, so the push is retried; a
 * subscriber told twice resumes once.
 */
export async function pushFinal(
  deps: WaitPushDeps,
  intentId: string,
): Promise<{ sent: number; skipped: number }> {
  const intent = await deps.intents.get(intentId);
  if (!intent || intent.status === 'pending') return { sent: 0, skipped: 0 };
  const subscribers = await deps.subscriptions.list(intentId);
  const reply: WaitReply = { type: 'intent', intent: toView(intent) };
  let sent = 0;
  let skipped = 0;
  const failures: unknown[] = [];
  await Promise.all(
    subscribers.map(async (subscriber) => {
      try {
        if (await mayPush(deps, subscriber, intent)) {
          if ((await deps.send(subscriber.connectionId, reply)) === 'sent') sent += 1;
        } else {
          skipped += 1;
        }
        await deps.subscriptions.remove(intentId, subscriber.connectionId);
      } catch (error) {
        failures.push(error);
      }
    }),
  );
  if (failures.length > 0) {
    throw new AggregateError(failures, `${failures.length} pushes of ${intentId} failed`);
  }
  return { sent, skipped };
}
