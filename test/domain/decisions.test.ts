import { describe, expect, it } from 'vitest';
import { applyCancel, applyTimeout, applyVote, type Vote } from '../../lambdas/domain/decisions';
import type { DomainError } from '../../lambdas/domain/errors';
import type { IntentState } from '../../lambdas/domain/intent';
import { canonicalPrincipal, samePrincipal } from '../../lambdas/domain/principals';
import { pendingIntent, T0 } from './fixtures';

const vote = (
  by: string,
  outcome: 'approve' | 'reject' = 'approve',
  comment: string | null = null,
): Vote => ({
  by,
  outcome,
  comment,
  channel: 'api',
  at: T0.toISOString(),
});

function codeOf(action: () => unknown): string | undefined {
  try {
    action();
  } catch (error) {
    return (error as DomainError).code;
  }
  return undefined;
}

describe('applyVote', () => {
  it('approves with one approval by a recipient, and asks to wake the machine', () => {
    const { intent, events, signal } = applyVote(
      pendingIntent(),
      vote('cfo@company.com', 'approve', 'ok'),
    );
    expect(intent.status).toBe('approved');
    expect(intent.decision).toMatchObject({
      outcome: 'approved',
      by: 'cfo@company.com',
      channel: 'api',
    });
    expect(events.map((e) => e.type)).toEqual(['approval', 'approved']);
    expect(signal).toBe(true);
  });

  it('rejects only with a comment', () => {
    expect(codeOf(() => applyVote(pendingIntent(), vote('cfo@company.com', 'reject')))).toBe(
      'validation_failed',
    );
    const { intent } = applyVote(pendingIntent(), vote('cfo@company.com', 'reject', 'not now'));
    expect(intent.status).toBe('rejected');
    expect(intent.decision?.comment).toBe('not now');
  });

  it('refuses non-recipients, the creator, second votes and decided intents with the contract codes', () => {
    const intent = pendingIntent({
      reviewers: ['a@x.com', 'b@x.com'],
      policy: { required_approvals: 2 },
    });
    expect(codeOf(() => applyVote(intent, vote('mallory@x.com')))).toBe('not_a_reviewer');
    expect(codeOf(() => applyVote(intent, vote(intent.from_agent)))).toBe('forbidden');
    const once = applyVote(intent, vote('a@x.com')).intent;
    expect(codeOf(() => applyVote(once, vote('a@x.com')))).toBe('already_voted');
    const decided = applyVote(once, vote('b@x.com')).intent;
    expect(decided.status).toBe('approved');
    expect(codeOf(() => applyVote(decided, vote('b@x.com')))).toBe('already_decided');
  });

  it('keeps a quorum pending until enough distinct reviewers approved; one rejection rejects', () => {
    const intent = pendingIntent({
      reviewers: ['a@x.com', 'b@x.com', 'c@x.com'],
      policy: { required_approvals: 2 },
    });
    const first = applyVote(intent, vote('a@x.com'));
    expect(first.intent.status).toBe('pending');
    expect(first.signal).toBe(false);
    expect(first.intent.approvals.map((a) => a.by)).toEqual(['a@x.com']);
    const rejected = applyVote(first.intent, vote('b@x.com', 'reject', 'no'));
    expect(rejected.intent.status).toBe('rejected');
  });

  it('moves a chain to its next step, whose reviewers alone may then decide', () => {
    const intent = pendingIntent({
      policy: { steps: [{ reviewers: ['lead@x.com'] }, { reviewers: ['cfo@x.com'] }] },
    });
    expect(codeOf(() => applyVote(intent, vote('cfo@x.com')))).toBe('not_a_reviewer');
    const stepped = applyVote(intent, vote('lead@x.com'));
    expect(stepped.intent).toMatchObject({
      status: 'pending',
      step: 1,
      recipients: ['cfo@x.com'],
      stage_index: -1,
    });
    expect(stepped.signal).toBe(true);
    expect(stepped.events.map((e) => e.type)).toEqual(['approval', 'step_completed']);
    const done = applyVote(stepped.intent, vote('cfo@x.com'));
    expect(done.intent.status).toBe('approved');
    expect(done.intent.approvals.map((a) => [a.by, a.step])).toEqual([
      ['lead@x.com', 0],
      ['cfo@x.com', 1],
    ]);
  });
});

describe('applyVote from a button or form shown for one step', () => {
  // The same reviewer in both steps: nothing forbids it, and it is where an echo does harm.
  const chain = () =>
    pendingIntent({
      policy: {
        steps: [{ reviewers: ['cfo@x.com'] }, { reviewers: ['cfo@x.com', 'ceo@x.com'] }],
      },
    });
  const shownFor = (by: string, step: number | null): Vote => ({
    ...vote(by),
    channel: 'slack',
    shownFor: { step },
  });

  it('counts in the step it was shown for; the same click again is refused in the next step', () => {
    const stepped = applyVote(chain(), shownFor('cfo@x.com', 0)).intent;
    expect(stepped).toMatchObject({ step: 1, status: 'pending' });

    expect(codeOf(() => applyVote(stepped, shownFor('cfo@x.com', 0)))).toBe('step_over');
    // A rejection from the old step's form is refused too.
    expect(
      codeOf(() =>
        applyVote(stepped, { ...shownFor('cfo@x.com', 0), outcome: 'reject', comment: 'no' }),
      ),
    ).toBe('step_over');
    // Shown for step 1, the same reviewer's vote counts there.
    const done = applyVote(stepped, shownFor('cfo@x.com', 1)).intent;
    expect(done.status).toBe('approved');
    expect(done.approvals.map((a) => [a.by, a.step])).toEqual([
      ['cfo@x.com', 0],
      ['cfo@x.com', 1],
    ]);
  });

  it('a decided intent is still reported as decided, whatever step the click was for', () => {
    const stepped = applyVote(chain(), shownFor('cfo@x.com', 0)).intent;
    const done = applyVote(stepped, shownFor('ceo@x.com', 1)).intent;
    expect(codeOf(() => applyVote(done, shownFor('cfo@x.com', 0)))).toBe('already_decided');
  });

  it('a vote that does not say its step counts, unless its voter approved an earlier step', () => {
    const stepped = applyVote(chain(), shownFor('cfo@x.com', null)).intent;
    expect(stepped.step).toBe(1);
    // The CFO's old click may be the step-1 approval again: refused.
    expect(codeOf(() => applyVote(stepped, shownFor('cfo@x.com', null)))).toBe('step_over');
    // The CEO approved nothing before: nothing to confuse.
    expect(applyVote(stepped, shownFor('ceo@x.com', null)).intent.status).toBe('approved');
  });

  it('the API, which names no step, votes in the current step as before', () => {
    const stepped = applyVote(chain(), vote('cfo@x.com')).intent;
    expect(applyVote(stepped, vote('cfo@x.com')).intent.status).toBe('approved');
  });
});

describe('applyTimeout', () => {
  it.each([
    ['reject', 'rejected'],
    ['approve', 'approved'],
  ] as const)(
    'with action %s records timed_out with outcome %s by "timeout"',
    (action, outcome) => {
      const intent: IntentState = pendingIntent({ policy: { timeout: { action } } });
      const result = applyTimeout(intent, intent.deadline_at);
      expect(result.intent.status).toBe('timed_out');
      expect(result.intent.decision).toMatchObject({ outcome, by: 'timeout', channel: 'timeout' });
      expect(result.events.map((e) => e.type)).toEqual(['timed_out']);
    },
  );

  it('fails once decided, so a decision and the timeout never both land', () => {
    const decided = applyVote(pendingIntent(), vote('cfo@company.com')).intent;
    expect(codeOf(() => applyTimeout(decided, decided.deadline_at))).toBe('already_decided');
  });
});

describe('applyCancel', () => {
  it('cancels a pending intent and refuses once decided with not_pending', () => {
    const cancelled = applyCancel(
      pendingIntent(),
      'agent://a',
      'user changed their mind',
      T0.toISOString(),
    );
    expect(cancelled.intent.decision).toMatchObject({
      outcome: 'cancelled',
      by: 'agent://a',
      channel: 'api',
    });
    expect(codeOf(() => applyCancel(cancelled.intent, 'agent://a', null, T0.toISOString()))).toBe(
      'not_pending',
    );
  });
});

describe('principals', () => {
  it('lower-cases email addresses and keeps other names as they are', () => {
    expect(canonicalPrincipal('Alice@Example.COM')).toBe('alice@example.com');
    expect(canonicalPrincipal('agent://MyOrg/Reports')).toBe('agent://MyOrg/Reports');
    expect(canonicalPrincipal('Ops-Team')).toBe('Ops-Team');
    expect(samePrincipal('Alice@X.com', 'alice@x.com')).toBe(true);
    expect(samePrincipal('agent://A', 'agent://a')).toBe(false);
  });

  it('never lets the creator decide, whatever the spelling of its email', () => {
    // An intent stored by an agent key whose principal was kept in capitals.
    const intent = {
      ...pendingIntent({ reviewers: ['alice@example.com', 'bob@example.com'] }),
      from_agent: 'Alice@Example.com',
    };
    expect(codeOf(() => applyVote(intent, vote('alice@example.com')))).toBe('forbidden');
    expect(codeOf(() => applyVote(intent, vote('ALICE@example.com')))).toBe('forbidden');
    expect(applyVote(intent, vote('bob@example.com')).intent.status).toBe('approved');
  });

  it('counts a recipient whose vote arrives spelled in capitals as that recipient', () => {
    const intent = pendingIntent({ reviewers: ['bob@example.com'] });
    const { intent: after } = applyVote(intent, vote('Bob@Example.com'));
    expect(after.status).toBe('approved');
    expect(after.decision?.by).toBe('bob@example.com');
  });
});
