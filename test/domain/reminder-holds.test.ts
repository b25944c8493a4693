import { describe, expect, it } from 'vitest';
import type { ReviewerProfile } from '../../lambdas/domain/availability';
import { applyVote } from '../../lambdas/domain/decisions';
import type { IntentState } from '../../lambdas/domain/intent';
import {
  holdReminders,
  isSuperseded,
  type Profiles,
  releaseHold,
} from '../../lambdas/domain/reminder-holds';
import { enterStage, nextAction, planStages, type Stage } from '../../lambdas/domain/stages';
import { pendingIntent } from './fixtures';

// Friday 2026-11-27 16:00Z = 17:00 in Berlin: the first notice goes out within hours.
const FRIDAY_1700_BERLIN = Date.parse('2026-11-27T16:00:00Z');
const MONDAY_0900_BERLIN = Date.parse('2026-11-30T08:00:00Z');
const at = (ms: number) => new Date(ms).toISOString();

function profile(email: string, fields: Partial<ReviewerProfile> = {}): ReviewerProfile {
  return {
    email,
    time_zone: 'Europe/Berlin',
    working_hours: Object.fromEntries(
      ['mon', 'tue', 'wed', 'thu', 'fri'].map((day) => [day, ['09:00-17:30']]),
    ),
    out_of_office: null,
    updated_at: at(0),
    updated_by: email,
    ...fields,
  };
}

const profilesOf = (...list: ReviewerProfile[]): Profiles =>
  new Map(list.map((entry) => [entry.email, entry]));

function stageOf(intent: IntentState, index: number): Stage {
  const stages = planStages(
    intent.policy,
    intent.stage_index < 0 ? FRIDAY_1700_BERLIN : Date.parse(intent.step_started_at),
    Date.parse(intent.deadline_at),
  );
  const stage = stages[index];
  if (!stage) throw new Error(`no stage ${index}`);
  return stage;
}

/** Created and first notified on Friday at 17:00 Berlin; a reminder after 1 h (18:00, after hours). */
function notifiedIntent(body: Record<string, unknown>, profiles: Profiles): IntentState {
  const created = pendingIntent(
    { policy: { remind_after: ['1h'], timeout: { after: '7d' } }, ...body },
    new Date(FRIDAY_1700_BERLIN),
  );
  return enterStage(created, {
    step: 0,
    stage: stageOf(created, 0),
    recipients: created.recipients.length > 0 ? created.recipients : created.asked,
    token: 'tok-0',
    at: at(FRIDAY_1700_BERLIN),
    nextAt: FRIDAY_1700_BERLIN + 3600_000,
    profiles,
  }).intent;
}

describe('reminders held for working hours', () => {
  const cfo = profile('cfo@company.com');

  it('holds a reminder due on Friday evening until Monday 09:00 Berlin; first notices go at once', () => {
    const intent = notifiedIntent({}, profilesOf(cfo));
    expect(intent.pending_notifications.map((n) => [n.to, n.kind])).toEqual([
      ['cfo@company.com', 'notify'],
    ]);
    const due = FRIDAY_1700_BERLIN + 3600_000;
    const next = nextAction(intent, due, profilesOf(cfo));
    expect(next).toEqual({
      action: 'hold',
      step: 0,
      stage: 1,
      until: MONDAY_0900_BERLIN,
      recipients: ['cfo@company.com'],
    });
    // Without profiles (or with remind_in_working_hours off) it pauses as before.
    expect(nextAction(intent, due).action).toBe('await');
    const off = notifiedIntent(
      {
        policy: { remind_after: ['1h'], timeout: { after: '7d' }, remind_in_working_hours: false },
      },
      profilesOf(cfo),
    );
    expect(off.policy.remind_in_working_hours).toBe(false);
    expect(nextAction(off, due, profilesOf(cfo)).action).toBe('await');
    // When the hold ends, the stage is entered and the reminder goes.
    expect(nextAction(intent, MONDAY_0900_BERLIN, profilesOf(cfo))).toMatchObject({
      action: 'await',
      stage: 1,
    });
  });

  it('never holds past the next stage or the deadline', () => {
    const intent = notifiedIntent(
      { policy: { remind_after: ['1h', '3h'], timeout: { after: '7d' } } },
      profilesOf(cfo),
    );
    const next = nextAction(intent, FRIDAY_1700_BERLIN + 3600_000, profilesOf(cfo));
    expect(next).toMatchObject({ action: 'hold', until: FRIDAY_1700_BERLIN + 3 * 3600_000 });
  });

  it('sends to whoever works now and holds the others until their own working moment', () => {
    const tokyo = profile('cto@company.com', {
      time_zone: 'Asia/Tokyo',
      working_hours: { sat: ['08:00-12:00'] },
    });
    // Saturday 08:00 Tokyo is Friday 23:00Z.
    const tokyoSaturday = Date.parse('2026-11-27T23:00:00Z');
    const nobodyHome = profile('cfo@company.com', { working_hours: { mon: ['09:00-17:30'] } });
    const profiles = profilesOf(nobodyHome, tokyo);
    const intent = notifiedIntent({ reviewers: ['cfo@company.com', 'cto@company.com'] }, profiles);
    const due = FRIDAY_1700_BERLIN + 3600_000;
    // Nobody works at 18:00 Berlin: held until the first of them does (Tokyo's Saturday).
    expect(nextAction(intent, due, profiles)).toMatchObject({
      action: 'hold',
      until: tokyoSaturday,
    });
    const entered = enterStage(intent, {
      step: 0,
      stage: stageOf(intent, 1),
      recipients: intent.recipients,
      token: 'tok-1',
      at: at(tokyoSaturday),
      nextAt: Date.parse(intent.deadline_at),
      profiles,
    });
    expect(entered.intent.pending_notifications.map((n) => n.to)).toEqual(['cto@company.com']);
    expect(entered.intent.held_reminders).toEqual([
      { to: 'cfo@company.com', at: at(MONDAY_0900_BERLIN) },
    ]);
    expect(entered.intent.next_action_at).toBe(at(MONDAY_0900_BERLIN));
    // The stage's pause ends at the held reminder; entering it again then sends it.
    const sent = { ...entered.intent, pending_notifications: [] };
    const pause = nextAction(sent, tokyoSaturday, profiles);
    expect(pause).toMatchObject({ action: 'await', stage: 1, next_at: MONDAY_0900_BERLIN });
    const again = enterStage(sent, {
      step: 0,
      stage: stageOf(sent, 1),
      recipients: sent.recipients,
      token: 'tok-2',
      at: at(MONDAY_0900_BERLIN),
      nextAt: Date.parse(sent.deadline_at),
      profiles,
    });
    expect(again.intent.pending_notifications.map((n) => [n.to, n.kind])).toEqual([
      ['cfo@company.com', 'remind'],
    ]);
    expect(again.intent.held_reminders).toEqual([]);
    expect(again.events.map((event) => event.type)).toEqual(['reminded']);
  });

  it('records the hold, and a decision during it supersedes the held execution', () => {
    const intent = notifiedIntent({}, profilesOf(cfo));
    const held = holdReminders(
      intent,
      {
        step: 0,
        stage: 1,
        until: at(MONDAY_0900_BERLIN),
        execution: 'int_TEST',
        recipients: ['cfo@company.com'],
      },
      at(FRIDAY_1700_BERLIN + 3600_000),
    );
    expect(held.events).toMatchObject([
      { type: 'reminder_held', data: { until: at(MONDAY_0900_BERLIN), to: ['cfo@company.com'] } },
    ]);
    expect(held.intent.next_action_at).toBe(at(MONDAY_0900_BERLIN));
    const stored = { ...held.intent, version: 7 };
    const vote = applyVote(stored, {
      by: 'cfo@company.com',
      outcome: 'approve',
      comment: null,
      channel: 'api',
      at: at(FRIDAY_1700_BERLIN + 2 * 3600_000),
    });
    expect(vote.signal).toBe(true);
    const released = releaseHold(vote.intent, FRIDAY_1700_BERLIN + 2 * 3600_000);
    expect(released.held_by).toBeNull();
    expect(released.successor_execution).toBe('int_TEST-h7');
    expect(isSuperseded(released, 'int_TEST')).toBe(true);
    expect(isSuperseded(released, 'int_TEST-h7')).toBe(false);
    // After the held time nothing is released: the execution has woken and moved on.
    expect(releaseHold(vote.intent, MONDAY_0900_BERLIN)).toBe(vote.intent);
  });
});

describe('out of office', () => {
  const away = (delegate: string) =>
    profile('cfo@company.com', {
      working_hours: null,
      out_of_office: {
        from: '2026-11-27T00:00:00.000Z',
        until: '2026-12-07T00:00:00.000Z',
        delegate,
      },
    });

  it('sends the notices to the delegate and says so in the trail', () => {
    const intent = notifiedIntent({}, profilesOf(away('deputy@company.com')));
    // The delegate becomes a recipient, so that they may see and decide it.
    expect(intent.recipients).toEqual(['cfo@company.com', 'deputy@company.com']);
    expect(intent.pending_notifications.map((n) => [n.to, n.kind])).toEqual([
      ['deputy@company.com', 'notify'],
    ]);
  });

  it('goes one level only, and never to the creator', () => {
    const deputyAway = profile('deputy@company.com', {
      working_hours: null,
      out_of_office: {
        from: '2026-11-27T00:00:00.000Z',
        until: '2026-12-07T00:00:00.000Z',
        delegate: 'cfo@company.com',
      },
    });
    const loop = notifiedIntent({}, profilesOf(away('deputy@company.com'), deputyAway));
    expect(loop.pending_notifications.map((n) => n.to)).toEqual(['deputy@company.com']);
    const creator = 'agent://myorg/production/report-generator';
    const toCreator = notifiedIntent({}, profilesOf(away(creator)));
    expect(toCreator.pending_notifications.map((n) => n.to)).toEqual(['cfo@company.com']);
  });

  it('moves the next notices of an intent already waiting once the absence starts', () => {
    const intent = notifiedIntent({}, new Map());
    expect(intent.pending_notifications.map((n) => n.to)).toEqual(['cfo@company.com']);
    const reminded = enterStage(
      { ...intent, pending_notifications: [] },
      {
        step: 0,
        stage: stageOf(intent, 1),
        recipients: intent.recipients,
        token: 'tok-1',
        at: at(FRIDAY_1700_BERLIN + 3600_000),
        nextAt: Date.parse(intent.deadline_at),
        profiles: profilesOf(away('deputy@company.com')),
      },
    );
    expect(reminded.intent.pending_notifications.map((n) => [n.to, n.kind])).toEqual([
      ['deputy@company.com', 'remind'],
    ]);
    expect(reminded.events.map((event) => event.type)).toEqual(['reminded', 'delegated']);
    expect(reminded.events[1]?.data).toMatchObject({
      on_behalf_of: 'cfo@company.com',
      to: 'deputy@company.com',
    });
  });

  const vote = (intent: IntentState, by: string) =>
    applyVote(intent, {
      by,
      outcome: 'approve',
      comment: null,
      channel: 'api',
      at: at(FRIDAY_1700_BERLIN + 60_000),
    });

  it("lets the delegate decide in the recipient's place: decision.by, on_behalf_of, a delegated event", () => {
    const intent = notifiedIntent({}, profilesOf(away('deputy@company.com')));
    expect(intent.recipients).toEqual(['cfo@company.com', 'deputy@company.com']);
    const decided = vote(intent, 'deputy@company.com');
    expect(decided.intent.decision).toMatchObject({
      outcome: 'approved',
      by: 'deputy@company.com',
      on_behalf_of: 'cfo@company.com',
    });
    expect(decided.events.map((event) => event.type)).toEqual([
      'delegated',
      'approval',
      'approved',
    ]);
    expect(decided.events[0]?.data).toMatchObject({
      by: 'deputy@company.com',
      on_behalf_of: 'cfo@company.com',
    });
  });

  it('counts each person once in a quorum', () => {
    const intent = notifiedIntent(
      {
        reviewers: ['cfo@company.com', 'ops@company.com'],
        policy: { required_approvals: 2, remind_after: ['1h'], timeout: { after: '7d' } },
      },
      profilesOf(away('deputy@company.com')),
    );
    const first = vote(intent, 'deputy@company.com').intent;
    expect(first.approvals).toMatchObject([
      { by: 'deputy@company.com', on_behalf_of: 'cfo@company.com' },
    ]);
    // The recipient the delegate voted for, and the delegate, are counted.
    expect(() => vote(first, 'cfo@company.com')).toThrow(/already approved/);
    expect(() => vote(first, 'deputy@company.com')).toThrow(/already approved/);
    expect(vote(first, 'ops@company.com').intent.status).toBe('approved');

    // A delegate asked in their own right votes as themselves, once.
    const both = notifiedIntent(
      {
        reviewers: ['cfo@company.com', 'deputy@company.com'],
        policy: { required_approvals: 2, remind_after: ['1h'], timeout: { after: '7d' } },
      },
      profilesOf(away('deputy@company.com')),
    );
    const own = vote(both, 'deputy@company.com');
    expect(own.intent.approvals[0]).not.toHaveProperty('on_behalf_of');
    expect(() => vote(own.intent, 'deputy@company.com')).toThrow(/already approved/);
    expect(own.intent.status).toBe('pending');
  });
});
