import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CountersignClient,
  type CountersignError,
  type Intent,
  payloadSha256,
  verifyIntentTrail,
  verifyReceipt,
} from '../../sdk/src/index';
import {
  newDataDir,
  outboxItems,
  removeDataDir,
  reviewerClients,
  type StackProcess,
  startStack,
  until,
} from './harness';

/**
 * Edit before approve on the local stack, as an agent and its reviewers see it: the API refuses
 * edits it must not take (a pointer not editable, a change of type, edits with a rejection) with
 * 400 naming the pointer and changes nothing; an approval with edits reaches the agent as the
 * same edited payload through the SDK's waitFor, the signed callback and the signed receipt; in
 * a quorum and a chain an edit makes a new version that the others approve again.
 */
let stack: StackProcess;
let dataDir: string;
let agent: CountersignClient;
const reviewer = reviewerClients(() => stack);

let receiver: Server;
let hookUrl: string;
const deliveries: string[] = [];

beforeAll(async () => {
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      deliveries.push(Buffer.concat(chunks).toString('utf8'));
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;
  dataDir = newDataDir();
  stack = await startStack(dataDir);
  agent = new CountersignClient({ baseUrl: stack.url, apiKey: stack.settings.api_keys.agent });
}, 180_000);

afterAll(async () => {
  await stack?.stop();
  if (dataDir) removeDataDir(dataDir);
  await new Promise<void>((resolve) => receiver.close(() => resolve()));
});

const payment = (reviewers: string[], extra: Record<string, unknown> = {}) => ({
  intent_type: 'intent.payment.v1',
  to_agent: 'agent://myorg/payments',
  summary: 'Pay the ACME invoice',
  payload: {
    iban: 'DE89370400440532013000',
    amount: 50000,
    message: { subject: 'Invoice 7', urgent: false },
  },
  reviewers,
  editable: ['/amount', '/message/subject'],
  ...extra,
});

async function refusal(action: Promise<unknown>): Promise<CountersignError> {
  try {
    await action;
  } catch (error) {
    return error as CountersignError;
  }
  throw new Error('expected the API to refuse');
}

describe('edit before approve on the API', () => {
  it('create shows editable, and refuses a pointer the payload does not hold, naming it', async () => {
    const intent = await agent.createIntent(payment(['ed-cfo@company.com']));
    expect(intent).toMatchObject({
      editable: ['/amount', '/message/subject'],
      edits: {},
      payload_version: 0,
      approved_payload: null,
    });
    const error = await refusal(
      agent.createIntent(payment(['ed-cfo@company.com'], { editable: ['/amount', '/nope'] })),
    );
    expect(error).toMatchObject({ status: 400, code: 'validation_failed' });
    expect(error.details).toEqual([
      { field: 'editable.1', message: '/nope is not in the payload' },
    ]);
  });

  it('refuses edits of a pointer not editable, of another type, or with a rejection: 400 naming the pointer, nothing changed', async () => {
    const intent = await agent.createIntent(payment(['ed-cfo@company.com']));
    const cfo = await reviewer('ed-cfo@company.com');
    const notEditable = await refusal(
      cfo.decide(intent.id, { outcome: 'approve', edits: { '/iban': 'GB00' } }),
    );
    expect(notEditable).toMatchObject({ status: 400, code: 'validation_failed' });
    expect(notEditable.details).toEqual([
      { field: 'edits./iban', message: '/iban is not editable on this intent' },
    ]);
    const wrongType = await refusal(
      cfo.decide(intent.id, { outcome: 'approve', edits: { '/amount': '40000' } }),
    );
    expect(wrongType).toMatchObject({ status: 400, code: 'validation_failed' });
    expect(wrongType.details).toEqual([
      { field: 'edits./amount', message: 'must stay a number, not a string' },
    ]);
    const withReject = await refusal(
      cfo.decide(intent.id, { outcome: 'reject', comment: 'no', edits: { '/amount': 1 } }),
    );
    expect(withReject).toMatchObject({ status: 400, code: 'validation_failed' });
    expect(withReject.details).toEqual([
      { field: 'edits./amount', message: 'cannot go with a rejection' },
    ]);
    const notAnObject = await refusal(
      cfo.decide(intent.id, { outcome: 'approve', edits: ['/amount'] as never }),
    );
    expect(notAnObject).toMatchObject({ status: 400, code: 'validation_failed' });

    const after = await agent.getIntent(intent.id);
    expect(after).toMatchObject({
      status: 'pending',
      approvals: [],
      edits: {},
      payload_version: 0,
    });
    const { items } = await agent.events(intent.id);
    expect(items.filter((event) => event.type === 'approval')).toEqual([]);
  });

  it('the edited payload reaches the agent alike through waitFor, the callback and the receipt', async () => {
    const intent = await agent.createIntent(
      payment(['ed-cfo@company.com'], { callback_url: hookUrl }),
    );
    const waiting = agent.waitFor(intent.id, { timeoutMs: 60_000 });
    const cfo = await reviewer('ed-cfo@company.com');
    await cfo.decide(intent.id, {
      outcome: 'approve',
      comment: 'capped',
      edits: { '/amount': 40000, '/message/subject': 'Invoice 7 (part)' },
    });
    const approved = {
      iban: 'DE89370400440532013000',
      amount: 40000,
      message: { subject: 'Invoice 7 (part)', urgent: false },
    };

    const final: Intent = await waiting;
    expect(final.status).toBe('approved');
    expect(final.payload).toEqual(payment([]).payload);
    expect(final.approved_payload).toEqual(approved);
    expect(final.decision?.edits).toEqual({
      '/amount': 40000,
      '/message/subject': 'Invoice 7 (part)',
    });

    const delivered = await until(
      () =>
        deliveries.map((body) => JSON.parse(body) as Intent).find((body) => body.id === intent.id),
      20_000,
      'the callback',
    );
    expect(delivered.approved_payload).toEqual(approved);

    const verdict = await verifyReceipt(final.receipt ?? '', { keys: stack.url, intent: final });
    expect(verdict.ok).toBe(true);
    if (!verdict.ok) return;
    expect(verdict.claims.payload_sha256).toBe(payloadSha256(payment([]).payload));
    expect(verdict.claims.approved_payload_sha256).toBe(payloadSha256(approved));
    // A receipt does not cover other values than those approved.
    const other = await verifyReceipt(final.receipt ?? '', {
      keys: stack.url,
      intent: { ...final, approved_payload: { ...approved, amount: 50000 } },
    });
    expect(other.ok).toBe(false);

    const { items } = await agent.events(intent.id);
    const approvedEvent = items.find((event) => event.type === 'approved');
    expect(approvedEvent?.data).toMatchObject({
      edits: { '/amount': 40000, '/message/subject': 'Invoice 7 (part)' },
      approved_payload_sha256: payloadSha256(approved),
    });
    expect(items.find((event) => event.type === 'approval')?.data).toMatchObject({
      payload_version: 1,
      approved_payload_sha256: payloadSha256(approved),
    });
    const read = await agent.getIntent(intent.id);
    const trail = (await agent.events(intent.id)).items;
    expect(verifyIntentTrail(read, trail)).toMatchObject({ ok: true });
    // Edits changed in the store after the approval no longer match the trail.
    expect(
      verifyIntentTrail({ ...read, approved_payload: { ...approved, amount: 400000 } }, trail),
    ).toMatchObject({ ok: false, problem: 'intent_mismatch', seq: approvedEvent?.seq });
  });
});

describe('edits with quorums and chains', () => {
  it('in a quorum, an edit asks the others again: an approval of the earlier version does not count', async () => {
    const intent = await agent.createIntent(
      payment(['q-a@company.com', 'q-b@company.com', 'q-c@company.com'], {
        policy: { required_approvals: 2 },
      }),
    );
    const [a, b] = await Promise.all([reviewer('q-a@company.com'), reviewer('q-b@company.com')]);
    await a.decide(intent.id, { outcome: 'approve' });
    const edited = await b.decide(intent.id, { outcome: 'approve', edits: { '/amount': 45000 } });
    expect(edited).toMatchObject({ status: 'pending', payload_version: 1 });
    // Everyone asked hears of the edited version: a second notice to a.
    await until(
      async () => {
        const notices = (await outboxItems(stack)).filter(
          (item) =>
            item.intent_id === intent.id && item.to === 'q-a@company.com' && item.kind === 'notify',
        );
        return notices.length >= 2 ? notices : undefined;
      },
      20_000,
      'a second notice to q-a',
    );
    const approved = await a.decide(intent.id, { outcome: 'approve' });
    expect(approved.status).toBe('approved');
    expect(approved.approved_payload).toMatchObject({ amount: 45000 });
    expect(approved.approvals.map((x) => [x.by, x.payload_version])).toEqual([
      ['q-a@company.com', 0],
      ['q-b@company.com', 1],
      ['q-a@company.com', 1],
    ]);
  });

  it('in a chain, an edit in the second step sends it back to the first, which approves the edit', async () => {
    const intent = await agent.createIntent(
      payment([], {
        reviewers: undefined,
        policy: {
          steps: [
            { reviewers: ['c-lead@company.com'], required_approvals: 1 },
            { reviewers: ['c-cfo@company.com'], required_approvals: 1 },
          ],
        },
      }),
    );
    const [lead, cfo] = await Promise.all([
      reviewer('c-lead@company.com'),
      reviewer('c-cfo@company.com'),
    ]);
    expect(await lead.decide(intent.id, { outcome: 'approve' })).toMatchObject({ step: 1 });
    const back = await cfo.decide(intent.id, {
      outcome: 'approve',
      edits: { '/amount': 30000 },
    });
    expect(back).toMatchObject({ status: 'pending', step: 0, recipients: ['c-lead@company.com'] });
    const done = await lead.decide(intent.id, { outcome: 'approve' });
    expect(done.status).toBe('approved');
    expect(done.approved_payload).toMatchObject({ amount: 30000 });
    const types = (await agent.events(intent.id)).items.map((event) => event.type);
    expect(types).toContain('step_restarted');
  });
});
