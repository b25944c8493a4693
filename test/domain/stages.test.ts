import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyTimeout, applyVote } from '../../lambdas/domain/decisions';
import type { IntentState, ResolvedPolicy } from '../../lambdas/domain/intent';
import {
  enterStage,
  nextAction,
  planStages,
  queueDecidedNotices,
  type Stage,
  settleNotifications,
} from '../../lambdas/domain/stages';
import { pendingIntent, T0 } from './fixtures';

const t = (seconds: number) => T0.getTime() + seconds * 1000;

function stageAt(stages: Stage[], index: number): Stage {
  const stage = stages[index];
  if (!stage) throw new Error(`no stage ${index}`);
  return stage;
}

describe('planStages', () => {
  it('plans the default reminders at 5 and 30 minutes before an 8 hour deadline', () => {
    const intent = pendingIntent();
    const stages = planStages(intent.policy, T0.getTime(), Date.parse(intent.deadline_at));
    expect(stages.map((s) => [s.kinds, (s.at - T0.getTime()) / 1000])).toEqual([
      [['notify'], 0],
      [['remind'], 300],
      [['remind'], 1800],
    ]);
  });

  it('merges entries due at the same moment and drops those at or after the deadline', () => {
    const intent = pendingIntent({
      policy: {
        remind_after: ['1h', '3h'],
        escalate: [{ after: '1h', to: ['b@x.com'] }],
        timeout: { after: '2h' },
      },
    });
    const stages = planStages(intent.policy, T0.getTime(), Date.parse(intent.deadline_at));
    expect(stages).toEqual([
      { index: 0, at: t(0), kinds: ['notify'], adds: [] },
      { index: 1, at: t(3600), kinds: ['remind', 'escalate'], adds: ['b@x.com'] },
    ]);
  });

  const policyArbitrary = fc.record({
    remind_after: fc.uniqueArray(fc.integer({ min: 1, max: 40_000 }), { maxLength: 5 }),
    escalate: fc.array(
      fc.record({
        after: fc.integer({ min: 1, max: 40_000 }),
        to: fc.constant<string[]>(['e@x.com']),
      }),
      { maxLength: 3 },
    ),
    timeout: fc.record({
      after: fc.integer({ min: 1, max: 50_000 }),
      action: fc.constantFrom('reject' as const, 'approve' as const),
    }),
  });

  it('for any policy: stage times strictly increase and stay before the deadline', () => {
    fc.assert(
      fc.property(policyArbitrary, (partial) => {
        const policy: ResolvedPolicy = {
          ...pendingIntent().policy,
          ...partial,
          remind_after: [...partial.remind_after].sort((a, b) => a - b),
        };
        const deadline = t(partial.timeout.after);
        const stages = planStages(policy, T0.getTime(), deadline);
        expect(stages[0]?.kinds).toContain('notify');
        for (const [i, stage] of stages.entries()) {
          expect(stage.index).toBe(i);
          if (i > 0) {
            expect(stage.at).toBeGreaterThan(stages[i - 1]?.at ?? Number.NaN);
            expect(stage.at).toBeLessThan(deadline);
          }
        }
      }),
    );
  });

  it('for any policy and any moments of decision: every path ends in exactly one final state', () => {
    fc.assert(
      fc.property(
        policyArbitrary,
        fc.option(fc.integer({ min: 0, max: 60_000 })),
        (partial, decideAtSeconds) => {
          let intent: IntentState = pendingIntent({
            policy: {
              remind_after: partial.remind_after,
              timeout: partial.timeout,
            },
          });
          let now = T0.getTime();
          let finals = 0;
          for (let guard = 0; guard < 100; guard += 1) {
            if (
              decideAtSeconds !== null &&
              now >= t(decideAtSeconds) &&
              intent.status === 'pending'
            ) {
              intent = applyVote(intent, {
                by: 'cfo@company.com',
                outcome: 'approve',
                comment: null,
                channel: 'api',
                at: new Date(now).toISOString(),
              }).intent;
              finals += 1;
            }
            const next = nextAction(intent, now);
            if (next.action === 'finish') break;
            if (next.action === 'timeout') {
              intent = applyTimeout(intent, new Date(now).toISOString()).intent;
              finals += 1;
              continue;
            }
            if (next.action === 'hold') throw new Error('nothing is held without profiles');
            expect(next.timeout_seconds).toBeGreaterThanOrEqual(1);
            const stages = planStages(intent.policy, T0.getTime(), Date.parse(intent.deadline_at));
            const stage = stages[next.stage];
            if (!stage) throw new Error('stage missing');
            intent = enterStage(intent, {
              step: next.step,
              stage,
              recipients: intent.recipients,
              token: `token-${guard}`,
              at: new Date(now).toISOString(),
              nextAt: next.next_at,
            }).intent;
            const pauseEnds = now + next.timeout_seconds * 1000;
            now =
              decideAtSeconds !== null && t(decideAtSeconds) > now && t(decideAtSeconds) < pauseEnds
                ? t(decideAtSeconds)
                : pauseEnds;
          }
          expect(intent.status).not.toBe('pending');
          expect(finals).toBe(1);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('nextAction', () => {
  /** An intent whose first notice went out at T0, as the stage task records it. */
  const notifiedIntent = () => ({ ...pendingIntent(), stage_index: 0 });

  it('pauses until the next stage, rounding up to whole seconds', () => {
    const intent = notifiedIntent();
    expect(nextAction(intent, t(0.2))).toMatchObject({
      action: 'await',
      stage: 0,
      timeout_seconds: 300,
    });
    expect(nextAction(intent, t(300))).toMatchObject({
      action: 'await',
      stage: 1,
      timeout_seconds: 1500,
    });
  });

  it('skips stages missed during an outage instead of replaying them', () => {
    expect(nextAction(notifiedIntent(), t(2000))).toMatchObject({ action: 'await', stage: 2 });
  });

  it('counts reminders from a first notice sent late, not from creation', () => {
    const intent = pendingIntent();
    expect(nextAction(intent, t(2000))).toMatchObject({
      action: 'await',
      stage: 0,
      timeout_seconds: 300,
    });
    const stages = planStages(intent.policy, t(2000), Date.parse(intent.deadline_at));
    const first = stages[0] as Stage;
    const entered = enterStage(intent, {
      step: 0,
      stage: first,
      recipients: ['cfo@company.com'],
      token: 'token-1',
      at: new Date(t(2000)).toISOString(),
      nextAt: stages[1]?.at ?? 0,
    }).intent;
    expect(entered.step_started_at).toBe(new Date(t(2000)).toISOString());
    expect(nextAction(entered, t(2100))).toMatchObject({ stage: 0, timeout_seconds: 200 });
    expect(nextAction(entered, t(2300))).toMatchObject({ stage: 1 });
  });

  it('times out at the deadline and finishes once decided', () => {
    const intent = pendingIntent();
    expect(nextAction(intent, Date.parse(intent.deadline_at))).toEqual({ action: 'timeout' });
    expect(nextAction({ ...intent, status: 'approved' }, t(1))).toEqual({ action: 'finish' });
  });
});

describe('enterStage', () => {
  it('first contact notifies everyone; a later stage reminds, escalation notifies the new ones', () => {
    const intent = pendingIntent({
      policy: { remind_after: ['5m'], escalate: [{ after: '5m', to: ['backup@x.com'] }] },
    });
    const stages = planStages(intent.policy, T0.getTime(), Date.parse(intent.deadline_at));
    const first = enterStage(intent, {
      step: 0,
      stage: stageAt(stages, 0),
      recipients: ['cfo@company.com'],
      token: 'a',
      at: T0.toISOString(),
      nextAt: t(300),
    });
    expect(first.intent.pending_notifications).toEqual([
      { to: 'cfo@company.com', kind: 'notify', channel: 'email' },
    ]);
    const second = enterStage(
      { ...first.intent, pending_notifications: [] },
      {
        step: 0,
        stage: stageAt(stages, 1),
        recipients: ['cfo@company.com', 'backup@x.com'],
        token: 'b',
        at: new Date(t(300)).toISOString(),
        nextAt: Date.parse(intent.deadline_at),
      },
    );
    expect(second.intent.pending_notifications).toEqual([
      { to: 'cfo@company.com', kind: 'remind', channel: 'email' },
      { to: 'backup@x.com', kind: 'escalate', channel: 'email' },
    ]);
    expect(second.events.map((e) => e.type)).toEqual(['reminded', 'escalated']);
    expect(second.intent.task_token).toBe('b');
  });

  it('entering the same stage again only swaps the token', () => {
    const intent = { ...pendingIntent(), stage_index: 0, task_token: 'old' };
    const stages = planStages(intent.policy, T0.getTime(), Date.parse(intent.deadline_at));
    const again = enterStage(intent, {
      step: 0,
      stage: stageAt(stages, 0),
      recipients: intent.recipients,
      token: 'new',
      at: T0.toISOString(),
      nextAt: t(300),
    });
    expect(again.events).toEqual([]);
    expect(again.intent.pending_notifications).toEqual([]);
    expect(again.intent.task_token).toBe('new');
  });

  it('fails when the intent was decided before the stage began', () => {
    const intent = { ...pendingIntent(), status: 'approved' as const };
    const stages = planStages(intent.policy, T0.getTime(), Date.parse(intent.deadline_at));
    expect(() =>
      enterStage(intent, {
        step: 0,
        stage: stageAt(stages, 1),
        recipients: [],
        token: 'x',
        at: T0.toISOString(),
        nextAt: t(1800),
      }),
    ).toThrowError(/moved on/);
  });
});

describe('settleNotifications', () => {
  it('records every sent or failed notice of a stage in one transition, once', () => {
    const intent = pendingIntent();
    const stages = planStages(intent.policy, T0.getTime(), Date.parse(intent.deadline_at));
    const entered = enterStage(intent, {
      step: 0,
      stage: stages[0] as Stage,
      recipients: ['cfo@company.com'],
      token: 'token-1',
      at: T0.toISOString(),
      nextAt: stages[1]?.at ?? 0,
    }).intent;
    const [first] = entered.pending_notifications;
    if (!first) throw new Error('the first stage notifies the reviewer');
    const outcomes = entered.pending_notifications.map((notification, index) => ({
      notification,
      outcome:
        index === 0
          ? { ok: true as const, messageId: 'm-1' }
          : { ok: false as const, error: 'refused' },
    }));
    const settled = settleNotifications(entered, outcomes, T0.toISOString());
    expect(settled.intent.pending_notifications).toEqual([]);
    expect(settled.events.map((event) => event.type)).toEqual(
      outcomes.map((_, index) => (index === 0 ? 'notified' : 'notification_failed')),
    );
    // A retried task settling the same notices again records nothing more.
    expect(settleNotifications(settled.intent, outcomes, T0.toISOString()).events).toEqual([]);
  });
});

describe('queueDecidedNotices', () => {
  type Sent = { channel: 'email' | 'slack'; to: string; messageId: string; ok?: false };
  /** Settles one stage's notices as the stage runner would, so `sent_messages` is real. */
  const deliver = (intent: IntentState, sends: Sent[], kind: 'notify' | 'remind' = 'notify') =>
    settleNotifications(
      {
        ...intent,
        pending_notifications: sends.map((send) => ({ to: send.to, kind, channel: send.channel })),
      },
      sends.map((send) => ({
        notification: { to: send.to, kind, channel: send.channel },
        outcome:
          send.ok === false
            ? { ok: false as const, error: 'refused' }
            : { ok: true as const, messageId: send.messageId },
      })),
      T0.toISOString(),
    ).intent;
  const firstStage: Sent[] = [
    { channel: 'email', to: 'a@x.com', messageId: 'ses-1' },
    { channel: 'email', to: 'b@x.com', messageId: 'ses-2' },
    { channel: 'slack', to: 'a@x.com', messageId: 'slack:D_A:1.1' },
    { channel: 'slack', to: 'm1@x.com', messageId: 'slack:C_TEAM:1.2' },
    { channel: 'slack', to: 'm2@x.com', messageId: 'slack:C_TEAM:1.2' },
    { channel: 'email', to: 'c@x.com', messageId: '', ok: false },
  ];
  const reminder: Sent[] = [{ channel: 'email', to: 'b@x.com', messageId: 'ses-3' }];
  const notifiedIntent = () =>
    deliver(
      deliver(pendingIntent({ reviewers: ['a@x.com', 'b@x.com'] }), firstStage),
      reminder,
      'remind',
    );
  const approveAsA = (intent: IntentState) =>
    applyVote(intent, {
      by: 'a@x.com',
      outcome: 'approve',
      comment: null,
      channel: 'email',
      at: T0.toISOString(),
    }).intent;

  it('emails everyone emailed but the decider, once, and updates each Slack message once', () => {
    const queued = queueDecidedNotices(approveAsA(notifiedIntent()));

    expect(queued.events).toEqual([]);
    // c@x.com was never reached (its notice failed), so it has nothing to be told.
    expect(queued.intent.pending_notifications).toEqual([
      { to: 'b@x.com', kind: 'decided', channel: 'email' },
      { to: 'a@x.com', kind: 'decided', channel: 'slack', message_id: 'slack:D_A:1.1' },
      { to: 'm1@x.com', kind: 'decided', channel: 'slack', message_id: 'slack:C_TEAM:1.2' },
    ]);
  });

  it('queues nothing twice, and keeps the notices of a stage still being sent', () => {
    const decided = {
      ...approveAsA(notifiedIntent()),
      pending_notifications: [
        { to: 'b@x.com', kind: 'remind' as const, channel: 'email' as const },
      ],
    };
    const queued = queueDecidedNotices(decided).intent;
    expect(queued.pending_notifications[0]).toEqual({
      to: 'b@x.com',
      kind: 'remind',
      channel: 'email',
    });
    expect(queueDecidedNotices(queued).intent).toBe(queued);
  });

  it('a stage that settles after the decision queues decided notices for its new messages only', () => {
    const queued = queueDecidedNotices(approveAsA(notifiedIntent())).intent;
    const decidedSoFar = queued.pending_notifications.length;
    // The second reminder was in flight when the decision landed: a new Slack DM, and an email
    // to b@x.com, who is already queued for the decided email.
    const late = deliver(
      { ...queued, pending_notifications: [] },
      [
        { channel: 'slack', to: 'b@x.com', messageId: 'slack:D_B:2.1' },
        { channel: 'email', to: 'b@x.com', messageId: 'ses-4' },
      ],
      'remind',
    );
    expect(late.pending_notifications).toEqual([
      { to: 'b@x.com', kind: 'decided', channel: 'slack', message_id: 'slack:D_B:2.1' },
    ]);
    expect(decidedSoFar).toBe(3);
    // Settling the decided notices themselves queues nothing more.
    const told = settleNotifications(
      late,
      late.pending_notifications.map((notification) => ({
        notification,
        outcome: { ok: true as const, messageId: 'slack:D_B:2.1' },
      })),
      T0.toISOString(),
    ).intent;
    expect(told.pending_notifications).toEqual([]);
    expect(queueDecidedNotices(told).intent).toBe(told);
  });

  it('tells every reviewer after a timeout, and refuses an intent still pending', () => {
    const intent = notifiedIntent();
    const timedOut = applyTimeout(intent, intent.deadline_at).intent;
    const emails = queueDecidedNotices(timedOut)
      .intent.pending_notifications.filter((n) => n.channel === 'email')
      .map((n) => n.to);
    expect(emails).toEqual(['a@x.com', 'b@x.com']);
    expect(() => queueDecidedNotices(intent)).toThrowError(/final outcome/);
  });
});
