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
  type PolicyBase,
  resolveIntentPolicy,
} from '../../lambdas/domain/operator-policy';
import { policyInputSchema, requiredApprovalsFor } from '../../lambdas/domain/policy';
import { PERMISSIVE_BASE } from '../fakes/memory-policies';

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
  const reviewerList = fc.uniqueArray(email, { minLength: 1, maxLength: 2 });
  const seconds = fc.integer({ min: 1, max: 86_400 });
  const channel = fc.constantFrom<'email' | 'slack' | 'webhook'>('email', 'slack', 'webhook');
  const CONFIGURED = ['email', 'slack'] as const;
  const operatorArb = fc.record(
    {
      reviewers: reviewerList,
      allow_request_reviewers: fc.record({
        domains: fc.subarray(['company.com', 'partner.com', '*']),
        principals: fc.subarray(['ext@partner.com']),
        teams: fc.subarray(['finance', '*']),
      }),
      payload_reviewer_fallback: fc.boolean(),
      required_approvals: fc.integer({ min: 1, max: 3 }),
      steps: fc.array(
        fc.record({ reviewers: reviewerList, required_approvals: fc.integer({ min: 1, max: 2 }) }),
        { minLength: 1, maxLength: 2 },
      ),
      remind_after: fc.uniqueArray(seconds, { maxLength: 3 }),
      escalate: fc.array(fc.record({ after: seconds, to: reviewerList }), { maxLength: 2 }),
      timeout: fc.record(
        { after: seconds, action: fc.constantFrom('approve', 'reject') },
        { requiredKeys: [] },
      ),
      allow_timeout_approve: fc.boolean(),
      channels: fc.uniqueArray(channel, { minLength: 1, maxLength: 3 }),
    },
    { requiredKeys: [] },
  );
  const requestArb = fc.record(
    {
      reviewers: fc.uniqueArray(
        fc.oneof(email, fc.constant('team:finance'), fc.constant('team:ops')),
        { minLength: 1, maxLength: 3 },
      ),
      payload: fc.record({ reviewer: email }, { requiredKeys: [] }),
      policy: fc.record(
        {
          required_approvals: fc.integer({ min: 1, max: 3 }),
          remind_after: fc.uniqueArray(seconds, { maxLength: 3 }),
          escalate: fc.array(fc.record({ after: seconds, to: reviewerList }), { maxLength: 2 }),
          timeout: fc.record(
            { after: seconds, action: fc.constantFrom('approve', 'reject') },
            { requiredKeys: [] },
          ),
          steps: fc.array(fc.record({ reviewers: reviewerList }), { minLength: 1, maxLength: 2 }),
          channels: fc.uniqueArray(channel, { minLength: 1, maxLength: 3 }),
        },
        { requiredKeys: [] },
      ),
    },
    { requiredKeys: [] },
  );

  /** Admission computed from the generated lists directly, not by the code under test. */
  function admittedByLists(
    allow: { domains?: string[]; principals?: string[]; teams?: string[] } | undefined,
    base: PolicyBase,
    reviewer: string,
  ): boolean {
    const lists = allow
      ? {
          domains: allow.domains ?? [],
          principals: allow.principals ?? [],
          teams: allow.teams ?? [],
        }
      : base.allow_request_reviewers;
    if (reviewer.startsWith('team:')) {
      return lists.teams.includes('*') || lists.teams.includes(reviewer.slice(5));
    }
    const domain = reviewer.split('@')[1] ?? '';
    return (
      lists.principals.includes(reviewer) ||
      lists.domains.includes('*') ||
      lists.domains.includes(domain)
    );
  }

  it('holds for every generated pair, in a deployment and in local mode', () => {
    let accepted = 0;
    fc.assert(
      fc.property(
        operatorArb,
        requestArb,
        fc.constantFrom(STRICT, PERMISSIVE_BASE),
        (rawOperator, request, base) => {
          const policy = operator(rawOperator);
          let result: ReturnType<typeof resolveIntentPolicy>;
          try {
            result = resolveIntentPolicy(
              policy,
              base,
              {
                reviewers: request.reviewers,
                policy: request.policy ? policyInputSchema.parse(request.policy) : undefined,
                payload: request.payload ?? {},
              },
              CONFIGURED,
            );
          } catch (error) {
            if (!(error instanceof DomainError)) throw error;
            expect(['policy_violation', 'validation_failed']).toContain(error.code);
            return;
          }
          accepted++;
          const effective = result.policy;
          const operatorQuorum = policy.required_approvals ?? 1;
          const isOperators = new Set([
            ...(policy.reviewers ?? []),
            ...(policy.steps ?? []).flatMap((step) => step.reviewers),
            ...(policy.escalate ?? []).flatMap((entry) => entry.to),
          ]);
          const fine = (reviewer: string) =>
            isOperators.has(reviewer) ||
            admittedByLists(rawOperator.allow_request_reviewers, base, reviewer);
          // Nobody is asked, in any step or escalation, that the operator did not name or admit.
          for (const reviewer of [
            ...result.reviewers,
            ...(effective.steps ?? []).flatMap((step) => step.reviewers),
            ...effective.escalate.flatMap((entry) => entry.to),
          ]) {
            expect(fine(reviewer), reviewer).toBe(true);
          }
          if (policy.steps && policy.steps.length > 0) {
            // The operator's chain stands: its steps first, exactly its reviewers, at least its
            // quorum; only the operator's escalations.
            policy.steps.forEach((step, index) => {
              const own = effective.steps?.[index];
              expect(own?.reviewers).toEqual([...new Set(step.reviewers)]);
              expect(own?.required_approvals).toBeGreaterThanOrEqual(step.required_approvals ?? 1);
            });
            expect(effective.escalate).toEqual(
              [...(policy.escalate ?? [])].sort((a, b) => a.after - b.after),
            );
          } else if ((policy.reviewers ?? []).length > 0) {
            // The operator's reviewers decide first, with at least the operator's quorum.
            for (const reviewer of policy.reviewers ?? []) {
              expect(result.reviewers).toContain(reviewer);
            }
            expect(requiredApprovalsFor(effective, 0)).toBeGreaterThanOrEqual(operatorQuorum);
          } else {
            // Whatever the request asks for, its first step needs the operator's quorum.
            expect(requiredApprovalsFor(effective, 0)).toBeGreaterThanOrEqual(operatorQuorum);
          }
          expect(effective.required_approvals).toBeGreaterThanOrEqual(operatorQuorum);
          for (const entry of policy.escalate ?? [])
            expect(effective.escalate).toContainEqual(entry);
          // Approve on timeout only where the operator chose or allowed it.
          if (effective.timeout.action === 'approve') {
            expect(
              policy.timeout?.action === 'approve' ||
                (policy.allow_timeout_approve ?? base.allow_timeout_approve),
            ).toBe(true);
          }
          // The operator's channels stay; where it names none, people are still told.
          for (const kept of (policy.channels ?? []).filter((c) =>
            (CONFIGURED as readonly string[]).includes(c),
          )) {
            expect(effective.channels).toContain(kept);
          }
          if (!policy.channels) {
            expect(effective.channels.some((c) => c === 'email' || c === 'slack')).toBe(true);
          }
          // The operator's reminders stay; a requested one is never closer than the floor.
          const own = policy.remind_after ?? [];
          for (const value of own) expect(effective.remind_after).toContain(value);
          const addedReminders = effective.remind_after.filter((value) => !own.includes(value));
          for (const value of addedReminders) {
            expect(value).toBeGreaterThanOrEqual(base.reminder_floor_seconds);
            for (const other of effective.remind_after) {
              if (other !== value) {
                expect(Math.abs(other - value)).toBeGreaterThanOrEqual(base.reminder_floor_seconds);
              }
            }
          }
        },
      ),
      { numRuns: 3000 },
    );
    // A property that refuses everything proves nothing: most pairs must resolve.
    expect(accepted).toBeGreaterThan(600);
  });
});

describe('an operator chain and quorum hold whatever the request adds (review findings)', () => {
  const CFO = 'cfo@company.com';
  const CONTROLLER = 'controller@company.com';
  const MANAGER = 'manager@company.com';

  it("a request's own chain keeps the operator's reviewers and quorum as its first step", () => {
    const result = resolveOrError(
      operator({ reviewers: [CFO, CONTROLLER], required_approvals: 2 }),
      STRICT,
      { policy: { steps: [{ reviewers: [CFO] }] } },
    );
    expect(result).toMatchObject({
      reviewers: [CFO, CONTROLLER],
      policy: {
        steps: [
          { reviewers: [CFO, CONTROLLER], required_approvals: 2 },
          { reviewers: [CFO], required_approvals: 1 },
        ],
      },
    });
  });

  it("no request moves an operator's reviewer into another step of the operator's chain", () => {
    const chain = operator({
      steps: [{ reviewers: [MANAGER] }, { reviewers: [CFO] }],
      allow_request_reviewers: {},
    });
    // Escalations reach every step: an agent could add the manager to the CFO's step.
    expect(
      resolveOrError(chain, STRICT, { policy: { escalate: [{ after: '1m', to: [MANAGER] }] } }),
    ).toMatchObject({ code: 'policy_violation', details: [{ field: 'policy.escalate' }] });
    // Naming the CFO does not put the CFO in the manager's step.
    expect(resolveOrError(chain, STRICT, { reviewers: [CFO] })).toMatchObject({
      code: 'policy_violation',
      details: [{ field: 'reviewers' }],
    });
    // Admitted reviewers the request names form a step of their own, after the operator's.
    const admitted = operator({
      steps: [{ reviewers: [MANAGER] }, { reviewers: [CFO] }],
      allow_request_reviewers: { domains: ['company.com'] },
    });
    expect(resolveOrError(admitted, STRICT, { reviewers: [CFO] })).toMatchObject({
      reviewers: [MANAGER],
      policy: {
        steps: [
          { reviewers: [MANAGER], required_approvals: 1 },
          { reviewers: [CFO], required_approvals: 1 },
          { reviewers: [CFO], required_approvals: 1 },
        ],
      },
    });
  });

  it('a request for channels nobody reads still tells people on the configured ones', () => {
    const result = resolveIntentPolicy(
      operator({ reviewers: [CFO] }),
      STRICT,
      { payload: {}, policy: policyInputSchema.parse({ channels: ['webhook'] }) },
      ['email'],
    );
    expect(result.policy.channels).toEqual(['email']);
  });

  it("a stricter request is fine where the operator's policy approves on timeout", () => {
    expect(
      resolveOrError(
        operator({ reviewers: [CFO], timeout: { after: '8h', action: 'approve' } }),
        STRICT,
        {
          policy: { timeout: { after: '1h', action: 'reject' } },
        },
      ),
    ).toMatchObject({ policy: { timeout: { after: 3600, action: 'reject' } } });
  });

  it('admits teams however the operator spelled them', () => {
    for (const spelling of ['Finance', 'team:finance', ' finance ']) {
      const policy = operator({ allow_request_reviewers: { teams: [spelling] } });
      expect(resolveOrError(policy, STRICT, { reviewers: ['team:finance'] })).toMatchObject({
        reviewers: ['team:finance'],
      });
    }
    expect(
      operatorPolicySchema.safeParse({ allow_request_reviewers: { teams: ['no way'] } }).success,
    ).toBe(false);
  });
});
