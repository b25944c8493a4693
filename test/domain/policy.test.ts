import { describe, expect, it } from 'vitest';
import { DomainError } from '../../lambdas/domain/errors';
import {
  operatorPolicySchema,
  parsePolicyDefaults,
  resolveIntentPolicy,
} from '../../lambdas/domain/operator-policy';
import { BUILT_IN_POLICY, policyInputSchema } from '../../lambdas/domain/policy';
import { PERMISSIVE_BASE } from '../fakes/memory-policies';
import { pendingIntent } from './fixtures';

const resolve = (
  operator: Record<string, unknown>,
  request: Record<string, unknown>,
  channels: ('email' | 'slack')[] = ['email'],
) =>
  resolveIntentPolicy(
    operatorPolicySchema.parse(operator),
    PERMISSIVE_BASE,
    {
      reviewers: ['a@x.com'],
      payload: {},
      policy: policyInputSchema.parse(request),
    },
    channels,
  ).policy;

describe('resolveIntentPolicy (the fields; who may be asked is in operator-policy.test.ts)', () => {
  it('fills the contract defaults when neither the operator nor the request sets anything', () => {
    expect(resolve({}, {})).toEqual({ ...BUILT_IN_POLICY, channels: ['email'] });
  });

  it("keeps the operator's reminders and timeout action; the request may wait longer", () => {
    const policy = resolve(
      { remind_after: ['10m'], timeout: { after: '1h', action: 'approve' } },
      { timeout: { after: '2h' } },
      ['email', 'slack'],
    );
    expect(policy.remind_after).toEqual([600]);
    expect(policy.timeout).toEqual({ after: 7200, action: 'approve' });
    expect(policy.channels).toEqual(['email', 'slack']);
  });

  it('drops channels the deployment has not configured', () => {
    expect(resolve({}, { channels: ['slack', 'email'] }).channels).toEqual(['email']);
  });

  it('sorts reminders and escalations by time', () => {
    const policy = resolve(
      {},
      {
        remind_after: ['30m', '5m'],
        escalate: [
          { after: '2h', to: ['team:finance'] },
          { after: '1h', to: ['Backup@Company.com'] },
        ],
      },
    );
    expect(policy.remind_after).toEqual([300, 1800]);
    expect(policy.escalate).toEqual([
      { after: 3600, to: ['backup@company.com'] },
      { after: 7200, to: ['team:finance'] },
    ]);
  });
});

describe('intent creation', () => {
  it('uses payload.reviewer when reviewers is absent (the four-line flow)', () => {
    const intent = pendingIntent();
    expect(intent.recipients).toEqual(['cfo@company.com']);
    expect(intent.summary).toBe('Report review approval');
    expect(intent.deadline_at).toBe('2026-11-24T17:00:00.000Z');
  });

  it('lets policy.steps replace reviewers', () => {
    const intent = pendingIntent({
      reviewers: ['someone@x.com'],
      policy: { steps: [{ reviewers: ['lead@x.com'] }, { reviewers: ['cfo@x.com'] }] },
    });
    expect(intent.recipients).toEqual(['lead@x.com']);
  });

  it('fails when nobody is asked', () => {
    expect(() => pendingIntent({ payload: { report: 'x' } })).toThrow(DomainError);
  });

  it('fails when a quorum cannot be reached', () => {
    expect(() => pendingIntent({ policy: { required_approvals: 2 } })).toThrowError(
      /quorum cannot be reached/,
    );
  });

  it('fails when a chain step needs more approvals than it has reviewers (it could never be approved)', () => {
    const steps = [
      { reviewers: ['lead@x.com'] },
      { reviewers: ['cfo@x.com'], required_approvals: 2 },
    ];
    try {
      pendingIntent({ policy: { steps } });
      expect.unreachable();
    } catch (error) {
      expect((error as DomainError).code).toBe('validation_failed');
      expect((error as DomainError).details).toEqual([
        { field: 'policy.steps.1.required_approvals', message: expect.stringMatching(/needs 2/) },
      ]);
    }
    // An escalation adds someone to every step; a team can have any number of members.
    const escalate = [{ after: '1h', to: ['backup@x.com'] }];
    expect(pendingIntent({ policy: { steps, escalate } }).policy.steps).toHaveLength(2);
    const withTeam = [steps[0], { reviewers: ['team:finance'], required_approvals: 2 }];
    expect(pendingIntent({ policy: { steps: withTeam } }).policy.steps).toHaveLength(2);
  });

  it('counts a reviewer escalated to twice once', () => {
    expect(() =>
      pendingIntent({
        reviewers: ['a@x.com'],
        policy: { required_approvals: 2, escalate: [{ after: '1h', to: ['a@x.com'] }] },
      }),
    ).toThrowError(/quorum cannot be reached/);
  });

  it('parses configured policies by pattern, and names the entry and field of a bad one', () => {
    const defaults = parsePolicyDefaults(
      { 'intent.expense.v1': { timeout: { after: '2h', action: 'approve' } }, '*': {} },
      'policies.json',
    );
    expect(defaults.get('intent.expense.v1')).toEqual({
      timeout: { after: 7200, action: 'approve' },
    });
    expect(defaults.get('*')).toEqual({});
    expect(() => parsePolicyDefaults({ '*': { remind_after: ['soon'] } }, 'policies.json')).toThrow(
      /policies\.json has an invalid policy: \*\.remind_after\.0/,
    );
    expect(() => parsePolicyDefaults({ '*': { reminders: [] } }, 'policies.json')).toThrow(
      /reminders/,
    );
    expect(() => parsePolicyDefaults({ 'bad type!': {} }, 'policies.json')).toThrow(/pattern/);
    expect(() => parsePolicyDefaults([], 'policies.json')).toThrow(/JSON object/);
  });

  it('fails with payload_too_large above 128 KiB', () => {
    const big = 'x'.repeat(128 * 1024);
    try {
      pendingIntent({ payload: { reviewer: 'a@b.co', big } });
      expect.unreachable();
    } catch (error) {
      expect((error as DomainError).code).toBe('payload_too_large');
    }
  });

  it('refuses plain-http callbacks outside local mode', () => {
    expect(() => pendingIntent({ callback_url: 'http://127.0.0.1:9/hook' })).toThrowError(
      /invalid fields/,
    );
    expect(pendingIntent({ callback_url: 'https://agent.example.com/hook' }).callback_url).toBe(
      'https://agent.example.com/hook',
    );
  });
});
