import { toView } from '../domain/intent';
import { CALLBACK_JWS_HEADER, callbackClaims, JWS_TYPES } from '../domain/receipts';
import {
  CALLBACK_RETRY,
  callbackAttempts,
  callbackDelivered,
  classifyDelivery,
  recordCallbackAttempt,
  SIGNATURE_HEADER,
  signWebhook,
} from '../domain/webhook';
import type { CallbackLog, CallbackSender, Clock, IntentRepository, Signer } from './ports';
import { transitionIntent } from './transitions';

export interface CallbackDeps {
  intents: IntentRepository;
  clock: Clock;
  sender: CallbackSender;
  /** Signs each request (`Countersign-JWS`): the deployment's key, which no agent holds. */
  signer: Signer;
  /**
   * Deprecated, for one release: the deployment-wide HMAC secret of the old
   * `Countersign-Signature` header. Every agent's receiver holds it, so it proves nothing about
   * who sent a callback; receivers move to `Countersign-JWS`.
   */
  signingSecret: string;
  log?: CallbackLog;
}

export interface DeliverCallbackInput {
  intent_id: string;
  /** `$$.State.RetryCount` of the DeliverCallback task: how many retries came before this one. */
  retry_count: number;
}

export interface DeliverCallbackResult {
  outcome: 'delivered' | 'gave_up' | 'skipped';
  attempt: number | null;
  status: number | null;
}

/**
 * Thrown when an attempt failed in a way worth retrying (network error, 408, 429, 5xx) and the
 * schedule has attempts left: the state machine's Retry on the DeliverCallback task waits and
 * calls again, so the backoff survives any crash. The attempt is already in the trail.
 */
export class CallbackRetryableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CallbackRetryableError';
  }
}

/**
 * One delivery attempt of the final intent to its `callback_url`, signed with the deployment's
 * key over the time, the URL and the raw body (`Countersign-JWS`), and recorded in the trail
 * whatever it came to. It never changes the intent's status or decision. A task retried
 * after a delivered attempt sends nothing more.
 */
export async function deliverCallback(
  deps: CallbackDeps,
  input: DeliverCallbackInput,
): Promise<DeliverCallbackResult> {
  const skipped: DeliverCallbackResult = { outcome: 'skipped', attempt: null, status: null };
  const intent = await deps.intents.get(input.intent_id);
  if (!intent || intent.status === 'pending' || intent.callback_url === null) return skipped;
  const events = await deps.intents.events(intent.id);
  if (callbackDelivered(events)) return skipped;

  const attempt = callbackAttempts(events) + 1;
  const body = JSON.stringify(toView(intent));
  const url = intent.callback_url;
  const timestamp = Math.floor(deps.clock.now().getTime() / 1000);
  const signature = signWebhook(body, deps.signingSecret, timestamp);
  const jws = await deps.signer.sign(
    JWS_TYPES.callback,
    callbackClaims(intent.id, url, body, timestamp),
  );
  const result = await deps.sender.post({
    url,
    body,
    headers: {
      'Content-Type': 'application/json',
      'User-Agent': 'Countersign-Webhook/1',
      [CALLBACK_JWS_HEADER]: jws,
      [SIGNATURE_HEADER]: signature,
      'Countersign-Delivery-Attempt': String(attempt),
    },
  });
  const verdict = classifyDelivery(result);
  const willRetry = verdict === 'retry' && input.retry_count < CALLBACK_RETRY.maxRetries;
  await transitionIntent(deps.intents, intent.id, (current) =>
    recordCallbackAttempt(current, {
      number: attempt,
      result,
      willRetry,
      at: deps.clock.now().toISOString(),
    }),
  );
  const ok = verdict === 'delivered';
  await deps.log
    ?.record({ intentId: intent.id, url, body, signature, jws, attempt, result, ok })
    .catch(() => undefined);

  const status = result.kind === 'response' ? result.status : null;
  if (willRetry) {
    const why = result.kind === 'response' ? `HTTP ${result.status}` : describe(result);
    throw new CallbackRetryableError(`callback attempt ${attempt} for ${intent.id} failed: ${why}`);
  }
  return { outcome: ok ? 'delivered' : 'gave_up', attempt, status };
}

function describe(
  result: { kind: 'refused'; reason: string } | { kind: 'network_error'; error: string },
) {
  return result.kind === 'refused' ? result.reason : result.error;
}
