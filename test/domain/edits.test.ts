import { describe, expect, it } from 'vitest';
import { applyTimeout, applyVote, type Vote } from '../../lambdas/domain/decisions';
import { applyEdits, parsePointer, valueAt } from '../../lambdas/domain/edits';
import { DomainError } from '../../lambdas/domain/errors';
import { type IntentState, toView } from '../../lambdas/domain/intent';
import { receiptClaims } from '../../lambdas/domain/receipts';
import { payloadSha256 } from '../../sdk/src/audit';
import { pendingIntent, T0 } from './fixtures';

/**
 * Edit before approve in the domain: which pointers a request may declare, which edits a
 * reviewer may make, what the intent, its trail and its receipt show, and how an edit combines
 * with quorums and chains (a new version: approvals of an earlier one no longer count, and a
 * chain goes back to its first step).
 */
const payment = {
  amount: 50000,
  currency: 'EUR',
  message: { subject: 'Invoice 7', urgent: false },
  lines: [{ sku: 'A-1', qty: 2 }],
  reviewer: 'cfo@company.com',
};

const vote = (by: string, extra: Partial<Vote> = {}): Vote => ({
  by,
  outcome: 'approve',
  comment: null,
  channel: 'api',
  at: T0.toISOString(),
  ...extra,
});

function refusal(action: () => unknown): DomainError {
  try {
    action();
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

const editable = (body: Record<string, unknown> = {}) =>
  pendingIntent({
    payload: payment,
    editable: ['/amount', '/message/subject', '/message/urgent', '/lines/0/qty'],
    ...body,
  });

describe('JSON Pointers', () => {
  it('parses RFC 6901 escapes and finds values in objects and arrays', () => {
    expect(parsePointer('/a~1b/c~0d')).toEqual(['a/b', 'c~d']);
    expect(parsePointer('amount')).toBeNull();
    expect(parsePointer('/bad~2')).toBeNull();
    expect(valueAt(payment, '/message/subject')).toBe('Invoice 7');
    expect(valueAt(payment, '/lines/0/qty')).toBe(2);
    expect(valueAt(payment, '/lines/01/qty')).toBeUndefined();
    expect(valueAt(payment, '/nope')).toBeUndefined();
  });

  it('applies edits to a copy, leaving the payload as asked', () => {
    const edited = applyEdits(payment, { '/amount': 40000, '/lines/0/qty': 1 });
    expect(edited).toMatchObject({ amount: 40000, lines: [{ sku: 'A-1', qty: 1 }] });
    expect(payment.amount).toBe(50000);
    expect(payment.lines[0]?.qty).toBe(2);
  });
});

describe('editable at create', () => {
  it('shows editable on the intent, none by default', () => {
    expect(toView(editable()).editable).toEqual([
      '/amount',
      '/message/subject',
      '/message/urgent',
      '/lines/0/qty',
    ]);
    expect(toView(pendingIntent()).editable).toEqual([]);
  });

  it.each([
    ['/missing', 'is not in the payload'],
    ['amount', 'is not a JSON Pointer'],
    ['/message', 'must name a string, number or boolean'],
    ['/lines', 'must name a string, number or boolean'],
  ])('refuses %s, naming it', (pointer, message) => {
    const error = refusal(() => pendingIntent({ payload: payment, editable: [pointer] }));
    expect(error.code).toBe('validation_failed');
    expect(error.details[0]?.field).toBe('editable.0');
    expect(error.details[0]?.message).toContain(message);
  });
});

describe('a decision with edits', () => {
  it('approves the edited payload: approved_payload, decision.edits, events and receipt', () => {
    const { intent, events } = applyVote(
      editable(),
      vote('cfo@company.com', { edits: { '/amount': 40000, '/message/subject': 'Invoice 7b' } }),
    );
    const view = toView(intent);
    const approved = {
      ...payment,
      amount: 40000,
      message: { subject: 'Invoice 7b', urgent: false },
    };
    expect(view.status).toBe('approved');
    expect(view.payload).toEqual(payment);
    expect(view.approved_payload).toEqual(approved);
    expect(view.decision?.edits).toEqual({ '/amount': 40000, '/message/subject': 'Invoice 7b' });
    const hash = payloadSha256(approved);
    expect(events.map((e) => [e.type, e.data.approved_payload_sha256])).toEqual([
      ['approval', hash],
      ['approved', hash],
    ]);
    expect(events[1]?.data.edits).toEqual({ '/amount': 40000, '/message/subject': 'Invoice 7b' });
    const claims = receiptClaims({ ...intent, event_count: 3, last_event_hash: 'x' });
    expect(claims.payload_sha256).toBe(payloadSha256(payment));
    expect(claims.approved_payload_sha256).toBe(hash);
  });

  it('without edits, approved_payload is the payload itself; null until approved', () => {
    expect(toView(editable()).approved_payload).toBeNull();
    const { intent } = applyVote(editable(), vote('cfo@company.com'));
    expect(toView(intent).approved_payload).toEqual(payment);
    expect(toView(intent).decision?.edits).toEqual({});
  });

  it('refuses a pointer that is not editable, naming it', () => {
    const error = refusal(() =>
      applyVote(editable(), vote('cfo@company.com', { edits: { '/currency': 'USD' } })),
    );
    expect(error.code).toBe('validation_failed');
    expect(error.details).toEqual([
      { field: 'edits./currency', message: '/currency is not editable on this intent' },
    ]);
  });

  it.each([
    ['/amount', '40000', 'must stay a number, not a string'],
    ['/message/subject', 7, 'must stay a string, not a number'],
    ['/message/urgent', 'yes', 'must stay a boolean, not a string'],
    ['/amount', null, 'must stay a number, not null'],
    ['/amount', { n: 1 }, 'must stay a number, not an object'],
    ['/amount', 1e200, 'magnitude'],
  ])('refuses %s set to %j (its type), naming it', (pointer, value, message) => {
    const error = refusal(() =>
      applyVote(editable(), vote('cfo@company.com', { edits: { [pointer]: value } })),
    );
    expect(error.code).toBe('validation_failed');
    expect(error.details[0]?.field).toBe(`edits.${pointer}`);
    expect(error.details[0]?.message).toContain(message);
  });

  it('refuses edits with a rejection, naming each pointer', () => {
    const error = refusal(() =>
      applyVote(
        editable(),
        vote('cfo@company.com', { outcome: 'reject', comment: 'no', edits: { '/amount': 1 } }),
      ),
    );
    expect(error.code).toBe('validation_failed');
    expect(error.details).toEqual([
      { field: 'edits./amount', message: 'cannot go with a rejection' },
    ]);
  });

  it('refuses edits too large to keep', () => {
    const error = refusal(() =>
      applyVote(
        editable(),
        vote('cfo@company.com', { edits: { '/message/subject': 'x'.repeat(20_000) } }),
      ),
    );
    expect(error.details[0]?.field).toBe('edits');
  });

  it('a timeout whose action is approve approves the version reviewers last saw', () => {
    const pending = {
      ...editable({ policy: { timeout: { after: '1h', action: 'approve' } } }),
      edits: { '/amount': 45000 },
      payload_version: 1,
    };
    const { intent, events } = applyTimeout(pending, T0.toISOString());
    expect(toView(intent).approved_payload).toMatchObject({ amount: 45000 });
    expect(events[0]?.data.approved_payload_sha256).toBe(
      payloadSha256({ ...payment, amount: 45000 }),
    );
  });
});

describe('edits with quorums and chains', () => {
  const quorum = () =>
    editable({
      reviewers: ['a@x.com', 'b@x.com', 'c@x.com'],
      policy: { required_approvals: 2 },
    });

  it('an edit makes a new version: an approval of the earlier one no longer counts', () => {
    const first = applyVote(quorum(), vote('a@x.com')).intent;
    expect(first.approvals).toHaveLength(1);
    const edited = applyVote(first, vote('b@x.com', { edits: { '/amount': 40000 } }));
    // One approval of version 1 (b's); a's approval was of version 0: still pending.
    expect(edited.intent.status).toBe('pending');
    expect(edited.intent.payload_version).toBe(1);
    expect(toView(edited.intent).edits).toEqual({ '/amount': 40000 });
    expect(edited.events.map((e) => e.type)).toEqual(['approval', 'step_restarted']);
    expect(edited.events[0]?.data).toMatchObject({ approvals: 1, required: 2, payload_version: 1 });
    // The step starts again, so everyone asked is notified of the edited version.
    expect(edited.intent.stage_index).toBe(-1);
    expect(edited.signal).toBe(true);
    // a approves again, the edited version this time: that makes the quorum.
    const done = applyVote(edited.intent, vote('a@x.com'));
    expect(done.intent.status).toBe('approved');
    expect(toView(done.intent).approved_payload).toMatchObject({ amount: 40000 });
  });

  it('a vote from a button or form shown for an earlier version does not count', () => {
    const edited = applyVote(quorum(), vote('b@x.com', { edits: { '/amount': 40000 } })).intent;
    const error = refusal(() =>
      applyVote(edited, vote('a@x.com', { shownFor: { step: 0, version: 0 } })),
    );
    expect(error.code).toBe('step_over');
    expect(
      applyVote(edited, vote('a@x.com', { shownFor: { step: 0, version: 1 } })).intent.status,
    ).toBe('approved');
  });

  it('an edit that changes nothing makes no new version', () => {
    const first = applyVote(quorum(), vote('a@x.com')).intent;
    const same = applyVote(first, vote('b@x.com', { edits: { '/amount': 50000 } }));
    expect(same.intent.status).toBe('approved');
    expect(same.intent.payload_version).toBe(0);
    expect(toView(same.intent).decision?.edits).toEqual({});
  });

  it('an edit in a later chain step sends the chain back to its first step', () => {
    const chain = editable({
      reviewers: undefined,
      policy: {
        steps: [
          { reviewers: ['lead@x.com'], required_approvals: 1 },
          { reviewers: ['cfo@x.com'], required_approvals: 1 },
        ],
      },
    });
    const atStep2 = applyVote(chain, vote('lead@x.com')).intent;
    expect(atStep2.step).toBe(1);
    const edited = applyVote(atStep2, vote('cfo@x.com', { edits: { '/amount': 40000 } }));
    expect(edited.intent.status).toBe('pending');
    expect(edited.intent.step).toBe(0);
    expect(edited.intent.recipients).toEqual(['lead@x.com']);
    expect(edited.events.map((e) => e.type)).toEqual(['approval', 'step_restarted']);
    expect(edited.events[1]?.data).toMatchObject({ from_step: 1, step: 0, payload_version: 1 });
    // The lead approves the edited version; the CFO already approved exactly it: done.
    const done = applyVote(edited.intent, vote('lead@x.com'));
    expect(done.intent.status).toBe('approved');
    expect(toView(done.intent).approved_payload).toMatchObject({ amount: 40000 });
    expect(done.events.map((e) => e.type)).toEqual(['approval', 'step_completed', 'approved']);
  });

  it('an edit in the first chain step moves on to the next step, which sees the edit', () => {
    const chain: IntentState = editable({
      reviewers: undefined,
      policy: {
        steps: [
          { reviewers: ['lead@x.com'], required_approvals: 1 },
          { reviewers: ['cfo@x.com'], required_approvals: 1 },
        ],
      },
    });
    const next = applyVote(chain, vote('lead@x.com', { edits: { '/amount': 40000 } })).intent;
    expect(next.step).toBe(1);
    expect(next.payload_version).toBe(1);
    const done = applyVote(next, vote('cfo@x.com')).intent;
    expect(toView(done).approved_payload).toMatchObject({ amount: 40000 });
  });
});
