import { sealEvents } from '../domain/audit';
import type { Transition } from '../domain/decisions';
import { DomainError } from '../domain/errors';
import type { IntentState } from '../domain/intent';
import { JWS_TYPES, receiptClaims } from '../domain/receipts';
import { intentChanges } from './intent-changes';
import type { IntentRepository, Signer } from './ports';

const MAX_ATTEMPTS = 25;

/**
 * Applies a pure transition to the stored intent with optimistic concurrency: load, decide,
 * write conditionally on the version read, and on a conflict start again from a fresh read.
 * The transition function sees the winner's state on the retry, so a loser gets the contract's
 * 409 (already decided, already voted) with the current intent.
 *
 * `current` is the intent as the caller just read or wrote it, to save the first read: if
 * anyone wrote since, the conditional write fails and the loop reads afresh, so a stale
 * `current` costs one refused write, never a wrong one.
 *
 * A transition that ends the intent (a decision, a timeout, a cancellation) stores its signed
 * receipt in the same write, made with `signer` over the sealed final event, so that every
 * final intent carries one; such a transition without a signer is a wiring mistake and throws.
 */
export async function transitionIntent(
  repository: IntentRepository,
  intentId: string,
  decide: (intent: IntentState) => Transition,
  current?: IntentState,
  signer?: Signer,
): Promise<{ before: IntentState; after: IntentState; transition: Transition }> {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt += 1) {
    const before = attempt === 0 && current ? current : await repository.get(intentId);
    if (!before) throw new DomainError('not_found', 'No such intent.');
    const transition = decide(before);
    // Nothing to change (a page viewed again, nothing left to queue): no write, no new version.
    if (transition.intent === before && transition.events.length === 0) {
      return { before, after: before, transition };
    }
    const sealed = sealEvents(before, transition.events);
    const sealedIntent: IntentState = {
      ...transition.intent,
      event_count: sealed.event_count,
      last_event_hash: sealed.last_event_hash,
      version: before.version + 1,
    };
    const after =
      before.status === 'pending' && sealedIntent.status !== 'pending'
        ? await withReceipt(sealedIntent, signer)
        : sealedIntent;
    if (await repository.commit(after, before, sealed.events)) {
      intentChanges.changed(intentId, after);
      return { before, after, transition };
    }
    // Someone else wrote first. Back off a little so that a burst of writers spreads out.
    await new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * (attempt + 1)));
  }
  throw new Error(`intent ${intentId} stayed contended for ${MAX_ATTEMPTS} attempts`);
}

export async function withReceipt(
  final: IntentState,
  signer: Signer | undefined,
): Promise<IntentState> {
  if (!signer) throw new Error(`intent ${final.id} ends without a signer for its receipt`);
  return { ...final, receipt: await signer.sign(JWS_TYPES.receipt, receiptClaims(final)) };
}
