import { generateKeyPairSync, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { jwkThumbprint } from '../../lambdas/adapters/signers';
import { cancelIntent, type IntentServiceDeps, recordVote } from '../../lambdas/core/intents';
import type { IntentRepository } from '../../lambdas/core/ports';
import { transitionIntent } from '../../lambdas/core/transitions';
import { type AuditEvent, sealEvents } from '../../lambdas/domain/audit';
import { applyTimeout, applyView } from '../../lambdas/domain/decisions';
import type { IntentState } from '../../lambdas/domain/intent';
import { receiptClaims } from '../../lambdas/domain/receipts';
import { payloadSha256 } from '../../sdk/src/audit';
import { encodeJws, JWS_TYPES, verifyIntentTrail, verifyReceipt } from '../../sdk/src/index';
import { pendingIntent } from '../domain/fixtures';
import { intentServiceOver } from '../fakes/intent-service';
import { testSigner } from '../handlers/signing-key';

const signer = testSigner();

/** One intent and its trail in memory, with the version condition of the real store. */
function store(initial: IntentState) {
  const created = sealEvents(initial, [
    {
      type: 'created',
      at: initial.created_at,
      actor: initial.from_agent,
      channel: 'api',
      data: {},
    },
  ]);
  let stored: IntentState = {
    ...initial,
    event_count: created.event_count,
    last_event_hash: created.last_event_hash,
  };
  const trail: AuditEvent[] = [...created.events];
  const repository: Pick<IntentRepository, 'get' | 'commit' | 'events'> = {
    get: async () => structuredClone(stored),
    commit: async (next, before, events) => {
      if (stored.version !== before.version) return false;
      stored = structuredClone(next);
      trail.push(...events);
      return true;
    },
    events: async () => structuredClone(trail),
  };
  return { repository: repository as IntentRepository, stored: () => stored, trail };
}

function deps(repository: IntentRepository): IntentServiceDeps {
  return { ...intentServiceOver(repository), signer };
}

/** The reviewer approves through the API's own vote path. */
const approve = (repository: IntentRepository) =>
  recordVote(deps(repository), 'int_TEST', {
    by: 'cfo@company.com',
    outcome: 'approve',
    comment: null,
    channel: 'api',
    override: false,
  });

const payment = {
  intent_type: 'intent.payment.v1',
  payload: { iban: 'DE89370400440532013000', amount: 40000, reviewer: 'cfo@company.com' },
};

describe('receipts', () => {
  it('an approval stores a receipt that verifies against the JWKS and names the final event', async () => {
    const { repository, stored, trail } = store(pendingIntent(payment));
    const view = await recordVote(deps(repository), 'int_TEST', {
      by: 'cfo@company.com',
      outcome: 'approve',
      comment: 'ok',
      channel: 'api',
      override: false,
    });
    expect(view.status).toBe('approved');
    expect(view.receipt).toBe(stored().receipt);
    const verdict = await verifyReceipt(view.receipt ?? '', {
      keys: await signer.publicKeys(),
      intent: view,
    });
    expect(verdict).toMatchObject({ ok: true });
    if (!verdict.ok) return;
    const finalEvent = trail.find((event) => event.type === 'approved');
    expect(verdict.claims).toEqual({
      intent_id: 'int_TEST',
      status: 'approved',
      outcome: 'approved',
      by: 'cfo@company.com',
      at: view.decision?.at,
      from_agent: view.from_agent,
      to_agent: view.to_agent,
      intent_type: 'intent.payment.v1',
      payload_sha256: payloadSha256(payment.payload),
      approved_payload_sha256: payloadSha256(payment.payload),
      event_count: finalEvent?.seq,
      last_event_hash: finalEvent?.hash,
    });
    // The header names the key: the JWKS's only key, by its RFC 7638 thumbprint.
    const header = JSON.parse(
      Buffer.from(view.receipt?.split('.')[0] ?? '', 'base64url').toString(),
    );
    const [jwk] = (await signer.publicKeys()).keys;
    expect(header).toEqual({ alg: 'EdDSA', kid: jwk?.kid, typ: 'countersign-receipt' });
    expect(jwk?.kid).toBe(jwkThumbprint(jwk ?? { kty: '' }));
  });

  it('a rejection, a cancellation and a timeout carry receipts too; approved_payload_sha256 only when approved', async () => {
    const rejected = store(pendingIntent(payment));
    const rejection = await recordVote(deps(rejected.repository), 'int_TEST', {
      by: 'cfo@company.com',
      outcome: 'reject',
      comment: 'unknown vendor',
      channel: 'api',
      override: false,
    });
    const cancelled = store(pendingIntent(payment));
    const cancellation = await cancelIntent(
      deps(cancelled.repository),
      { role: 'agent', name: 'agent://myorg/production/report-generator', keyId: 'key_1' },
      'int_TEST',
      {},
    );
    const timedOut = store(
      pendingIntent({ ...payment, policy: { timeout: { after: '1h', action: 'approve' } } }),
    );
    const { after: timeout } = await transitionIntent(
      timedOut.repository,
      'int_TEST',
      (intent) => applyTimeout(intent, intent.deadline_at),
      undefined,
      signer,
    );
    const keys = await signer.publicKeys();
    const claims = async (
      intent: { receipt?: string } & Parameters<typeof verifyReceipt>[1]['intent'],
    ) => {
      const verdict = await verifyReceipt(intent?.receipt ?? '', { keys, intent });
      if (!verdict.ok) throw new Error(verdict.reason);
      return verdict.claims;
    };
    expect(await claims(rejection)).toMatchObject({
      status: 'rejected',
      approved_payload_sha256: null,
    });
    expect(await claims(cancellation)).toMatchObject({
      status: 'cancelled',
      outcome: 'cancelled',
      approved_payload_sha256: null,
    });
    expect(await claims(timeout)).toMatchObject({
      status: 'timed_out',
      outcome: 'approved',
      by: 'timeout',
      approved_payload_sha256: payloadSha256(payment.payload),
    });
  });

  it('a change that does not end the intent signs nothing; one that does needs a signer', async () => {
    const { repository } = store(pendingIntent(payment));
    const { after } = await transitionIntent(repository, 'int_TEST', (intent) =>
      applyView(intent, 'cfo@company.com', intent.created_at),
    );
    expect(after.receipt).toBeUndefined();
    await expect(
      transitionIntent(repository, 'int_TEST', (intent) =>
        applyTimeout(intent, intent.deadline_at),
      ),
    ).rejects.toThrow(/without a signer/);
  });

  it('refuses a receipt signed by another key, edited, about another payload, or of another type', async () => {
    const { repository } = store(pendingIntent(payment));
    const view = await approve(repository);
    const keys = await signer.publicKeys();
    const [jwk] = keys.keys;
    const receipt = view.receipt ?? '';

    // An agent with its own key, claiming the deployment's kid.
    const { privateKey: mallory } = generateKeyPairSync('ed25519');
    const claims = receiptClaims(view as IntentState);
    const forged = await encodeJws(
      { alg: 'EdDSA', kid: jwk?.kid ?? '', typ: JWS_TYPES.receipt },
      { ...claims, status: 'approved' },
      (input) => sign(null, input, mallory),
    );
    expect(await verifyReceipt(forged, { keys })).toMatchObject({
      ok: false,
      reason: 'the signature does not match',
    });

    // The deployment's signature over other claims.
    const [header, , signature] = receipt.split('.');
    const edited = Buffer.from(JSON.stringify({ ...claims, by: 'mallory@company.com' })).toString(
      'base64url',
    );
    expect(await verifyReceipt(`${header}.${edited}.${signature}`, { keys })).toMatchObject({
      ok: false,
    });

    // A genuine receipt, shown next to an intent whose payload was swapped.
    const swapped = { ...view, payload: { ...view.payload, iban: 'GB33BUKB20201555555555' } };
    expect(await verifyReceipt(receipt, { keys, intent: swapped })).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/payload_sha256/),
    });

    // A callback signature is not a receipt, even from the deployment's own key.
    const callbackJws = await signer.sign(JWS_TYPES.callback, claims);
    expect(await verifyReceipt(callbackJws, { keys })).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/type countersign-callback/),
    });
  });

  it('the receipt and the trail agree: the trail verifies and holds the final event the receipt names', async () => {
    const { repository, trail } = store(pendingIntent(payment));
    const view = await approve(repository);
    expect(verifyIntentTrail(view, trail)).toMatchObject({ ok: true });
    const verdict = await verifyReceipt(view.receipt ?? '', { keys: await signer.publicKeys() });
    if (!verdict.ok) throw new Error(verdict.reason);
    expect(trail[verdict.claims.event_count - 1]?.hash).toBe(verdict.claims.last_event_hash);
  });
});
