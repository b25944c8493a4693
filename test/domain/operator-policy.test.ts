import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DomainError } from '../../lambdas/domain/errors';
import {
  admits,
  candidatePatterns,
  deploymentBase,
  matchingRule,
  type OperatorPolicy,
  operatorPolicySchema,
  PERMISSIVE_BASE,
  type PolicyBase,
  resolveIntentPolicy,
} from '../../lambdas/domain/operator-policy';
import { policyInputSchema } from '../../lambdas/domain/policy';

const STRICT = deploymentBase(['company.com']);
const operator = (raw: Record<string, unknown>) => operatorPolicySchema.parse(raw);

function resolveOrError(
  policy: OperatorPolicy,
  base: PolicyBase,
  request: { reviewers?: string[]; policy?: Record<string, unknown>; payload?: object },
) {
  try {
    return resolveIntentPolicy(
      policy,
      base,
      {
        reviewers: request.reviewers,
        policy: request.policy ? policyInputSchema.parse(request.policy) : undefined,
        payload: (request.payload ?? {}) as Record<string, unknown>,
      },
      ['email', 'slack'],
    );
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
}

describe('the attacks of an agent that holds only its own key', () => {
  it('names its own mailbox, or a look-alike domain: 403 policy_violation naming the field', () => {
    for (const reviewer of ['approvals@attacker.example', 'cfo@cornpany.com']) {
      const result = resolveOrError({}, STRICT, { reviewers: [reviewer] });
      expect(result).toMatchObject({
        code: 'policy_violation',
        details: [
          { field: 'reviewers', message: `${reviewer} is not a reviewer this policy admits` },
        ],
      });
    }
  });

  it('smuggles a reviewer through the payload, an escalation or a chain step: refused or unused', () => {
    // The payload is not read unless the operator allows the fallback...
    expect(
      resolveOrError(operator({ reviewers: ['cfo@company.com'] }), STRICT, {
        payload: { reviewer: 'approvals@attacker.example' },
      }),
    ).toMatchObject({ reviewers: ['cfo@company.com'] });
    // ...and where it is allowed, what it names must still be admitted.
    expect(
      resolveOrError(operator({ payload_reviewer_fallback: true }), STRICT, {
        payload: { reviewer: 'approvals@attacker.example' },
      }),
    ).toMatchObject({ code: 'policy_violation', details: [{ field: 'payload.reviewer' }] });
    expect(
      resolveOrError({}, STRICT, {
        reviewers: ['cfo@company.com'],
        policy: { escalate: [{ after: '1h', to: ['me@attacker.example'] }] },
      }),
    ).toMatchObject({ code: 'policy_violation', details: [{ field: 'policy.escalate.0.to' }] });
    expect(
      resolveOrError({}, STRICT, {
        policy: { steps: [{ reviewers: ['me@attacker.example'] }] },
      }),
    ).toMatchObject({ code: 'policy_violation', details: [{ field: 'policy.steps.0.reviewers' }] });
  });

  it('asks to be approved by the clock: 403 unless the operator allows approve-on-timeout', () => {
    const asked = {
      reviewers: ['cfo@company.com'],
      policy: { timeout: { after: '1s', action: 'approve' } },
    };
    expect(resolveOrError({}, STRICT, asked)).toMatchObject({
      code: 'policy_violation',
      details: [{ field: 'policy.timeout.action' }],
    });
    expect(resolveOrError(operator({ allow_timeout_approve: true }), STRICT, asked)).toMatchObject({
      policy: { timeout: { after: 1, action: 'approve' } },
    });
    // Where the operator itself approves on timeout, a request may wait longer, never shorter.
    const approving = operator({ timeout: { after: '8h', action: 'approve' } });
    expect(resolveOrError(approving, STRICT, asked)).toMatchObject({
      code: 'policy_violation',
      details: [{ field: 'policy.timeout.after' }],
    });
    expect(
      resolveOrError(approving, STRICT, { ...asked, policy: { timeout: { after: '9h' } } }),
    ).toMatchObject({ policy: { timeout: { after: 9 * 3600, action: 'approve' } } });
  });

  it("cannot lower the operator's quorum, drop its reviewers, reminders or escalations", () => {
    const policy = operator({
      reviewers: ['cfo@company.com', 'controller@company.com'],
      required_approvals: 2,
      remind_after: ['10m'],
      escalate: [{ after: '1h', to: ['ceo@company.com'] }],
    });
    const result = resolveOrError(policy, STRICT, {
      reviewers: ['lead@company.com'],
      policy: { required_approvals: 1, remind_after: ['2h'], escalate: [] },
    });
    expect(result).toMatchObject({
      reviewers: ['cfo@company.com', 'controller@company.com', 'lead@company.com'],
      addedByRequest: ['lead@company.com'],
      policy: {
        required_approvals: 2,
        remind_after: [600, 7200],
        escalate: [{ after: 3600, to: ['ceo@company.com'] }],
      },
    });
  });

  it('spaces reminders no closer than the floor (60 s in a deployment, 1 s locally)', () => {
    const asked = { reviewers: ['cfo@company.com'], policy: { remind_after: ['10s', '20s'] } };
    expect(resolveOrError({}, STRICT, asked)).toMatchObject({
      code: 'policy_violation',
      details: [{ field: 'policy.remind_after' }],
    });
    expect(resolveOrError({}, PERMISSIVE_BASE, asked)).toMatchObject({
      policy: { remind_after: [10, 20] },
    });
  });
});

describe('policy names and rules', () => {
  it('tries the intent type, then each shorter prefix with .*, then *', () => {
    expect(candidatePatterns('intent.payment.refund.v1')).toEqual([
      'intent.payment.refund.v1',
      'intent.payment.refund.*',
      'intent.payment.*',
      'intent.*',
      '*',
    ]);
  });

  it('admits by domain, principal or team; * admits any', () => {
    const admission = {
      domains: ['company.com'],
      principals: ['ext@partner.com'],
      teams: ['finance'],
    };
    expect(admits(admission, 'a@company.com')).toBe(true);
    expect(admits(admission, 'a@sub.company.com')).toBe(false);
    expect(admits(admission, 'ext@partner.com')).toBe(true);
    expect(admits(admission, 'other@partner.com')).toBe(false);
    expect(admits(admission, 'team:finance')).toBe(true);
    expect(admits(admission, 'team:ops')).toBe(false);
    expect(admits({ domains: ['*'], principals: [], teams: [] }, 'x@anything.example')).toBe(true);
  });

  it('decides by the first rule whose every condition holds; an absent pointer never matches', () => {
    const { rules } = operator({
      rules: [
        {
          name: 'no-crypto',
          effect: 'reject',
          when: [{ pointer: '/currency', op: 'in', value: ['BTC', 'ETH'] }],
        },
        {
          name: 'small-refunds',
          effect: 'approve',
          when: [
            { pointer: '/amount', op: 'lt', value: 100 },
            { pointer: '/customer/vip', op: 'ne', value: true },
          ],
        },
        {
          name: 'no-note',
          effect: 'reject',
          when: [{ pointer: '/note', op: 'exists', value: false }],
        },
      ],
    });
    const named = (payload: Record<string, unknown>) => matchingRule(rules, payload)?.name;
    expect(named({ amount: 50, currency: 'BTC', note: 'x' })).toBe('no-crypto');
    expect(named({ amount: 50, currency: 'USD', customer: { vip: false }, note: 'x' })).toBe(
      'small-refunds',
    );
    // /customer/vip is absent: `ne` does not match an absent value.
    expect(named({ amount: 50, currency: 'USD', note: 'x' })).toBeUndefined();
    expect(named({ amount: '50', customer: { vip: false }, note: 'x' })).toBeUndefined();
    expect(named({ amount: 500 })).toBe('no-note');
  });

  it('refuses malformed rules with the field at fault', () => {
    const bad = (rule: Record<string, unknown>) =>
      operatorPolicySchema.safeParse({ rules: [rule] }).error?.issues[0]?.path.join('.');
    expect(
      bad({ name: 'r', effect: 'approve', when: [{ pointer: 'amount', op: 'lt', value: 1 }] }),
    ).toBe('rules.0.when.0.pointer');
    expect(
      bad({ name: 'r', effect: 'approve', when: [{ pointer: '/a', op: 'in', value: 1 }] }),
    ).toBe('rules.0.when.0.value');
    expect(bad({ name: 'r', effect: 'maybe', when: [{ pointer: '/a', op: 'exists' }] })).toBe(
      'rules.0.effect',
    );
  });
});

describe('for any operator policy and any request, the effective policy is never easier', () => {
  const emails = ['cfo@company.com', 'lead@company.com', 'ext@partner.com', 'me@attacker.example'];
  const email = fc.constantFrom(...emails);
  const seconds = fc.integer({ min: 1, max: 86_400 });
  const operatorArb = fc.record(
    {
      reviewers: fc.uniqueArray(email, { minLength: 1, maxLength: 2 }),
      allow_request_reviewers: fc.record({
        domains: fc.subarray(['company.com', 'partner.com', '*']),
        principals: fc.subarray(['ext@partner.com']),
        teams: fc.subarray(['finance', '*']),
      }),
      payload_reviewer_fallback: fc.boolean(),
      required_approvals: fc.integer({ min: 1, max: 3 }),
      remind_after: fc.uniqueArray(seconds, { maxLength: 3 }),
      escalate: fc.array(
        fc.record({ after: seconds, to: fc.uniqueArray(email, { minLength: 1, maxLength: 2 }) }),
        {
          maxLength: 2,
        },
      ),
      timeout: fc.record(
        { after: seconds, action: fc.constantFrom('approve', 'reject') },
        { requiredKeys: [] },
      ),
      allow_timeout_approve: fc.boolean(),
    },
    { requiredKeys: [] },
  );
  const requestArb = fc.record(
    {
      reviewers: fc.uniqueArray(
        fc.oneof(email, fc.constant('team:finance'), fc.constant('team:ops')),
        {
          minLength: 1,
          maxLength: 3,
        },
      ),
      payload: fc.record({ reviewer: email }, { requiredKeys: [] }),
      policy: fc.record(
        {
          required_approvals: fc.integer({ min: 1, max: 3 }),
          remind_after: fc.uniqueArray(seconds, { maxLength: 3 }),
          escalate: fc.array(
            fc.record({
              after: seconds,
              to: fc.uniqueArray(email, { minLength: 1, maxLength: 2 }),
            }),
            {
              maxLength: 2,
            },
          ),
          timeout: fc.record(
            { after: seconds, action: fc.constantFrom('approve', 'reject') },
            { requiredKeys: [] },
          ),
          steps: fc.array(
            fc.record({ reviewers: fc.uniqueArray(email, { minLength: 1, maxLength: 2 }) }),
            {
              minLength: 1,
              maxLength: 2,
            },
          ),
        },
        { requiredKeys: [] },
      ),
    },
    { requiredKeys: [] },
  );

  it('holds for every generated pair, in a deployment and in local mode', () => {
    fc.assert(
      fc.property(
        operatorArb,
        requestArb,
        fc.constantFrom(STRICT, PERMISSIVE_BASE),
        (rawOperator, request, base) => {
          const policy = operator(rawOperator);
          const result = resolveOrError(policy, base, request);
          if (result instanceof DomainError) {
            expect(['policy_violation', 'validation_failed']).toContain(result.code);
            return;
          }
          const effective = result.policy;
          const admission = policy.allow_request_reviewers ?? base.allow_request_reviewers;
          const operatorNamed = new Set([
            ...(policy.reviewers ?? []),
            ...(policy.escalate ?? []).flatMap((entry) => entry.to),
          ]);
          // No fewer approvals than the operator requires.
          expect(effective.required_approvals).toBeGreaterThanOrEqual(
            policy.required_approvals ?? 1,
          );
          // Nobody asked, in any step or escalation, that the operator did not name or admit.
          const everyone = [
            ...result.reviewers,
            ...(effective.steps ?? []).flatMap((step) => step.reviewers),
            ...effective.escalate.flatMap((entry) => entry.to),
          ];
          for (const reviewer of everyone) {
            expect(operatorNamed.has(reviewer) || admits(admission, reviewer)).toBe(true);
          }
          // The operator's own reviewers and escalations are all still there.
          for (const reviewer of policy.reviewers ?? [])
            expect(result.reviewers).toContain(reviewer);
          for (const entry of policy.escalate ?? [])
            expect(effective.escalate).toContainEqual(entry);
          // Approve on timeout only where the operator chose or allowed it.
          if (effective.timeout.action === 'approve') {
            expect(
              policy.timeout?.action === 'approve' ||
                (policy.allow_timeout_approve ?? base.allow_timeout_approve),
            ).toBe(true);
          }
          // The operator's reminders stay; a requested one is never closer than the floor.
          const own = policy.remind_after ?? [];
          for (const value of own) expect(effective.remind_after).toContain(value);
          const added = effective.remind_after.filter((value) => !own.includes(value));
          for (const value of added) {
            expect(value).toBeGreaterThanOrEqual(base.reminder_floor_seconds);
            for (const other of effective.remind_after) {
              if (other !== value) {
                expect(Math.abs(other - value)).toBeGreaterThanOrEqual(base.reminder_floor_seconds);
              }
            }
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});
