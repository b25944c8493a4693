import { describe, expect, it } from 'vitest';
import { createKey, putTeam } from '../../lambdas/core/admin';
import { createIntent, type IntentServiceDeps } from '../../lambdas/core/intents';
import type { KeyRepository, TeamRepository } from '../../lambdas/core/ports';
import { deploymentBase } from '../../lambdas/domain/operator-policy';
import {
  intentReviewerFields,
  parseAllowedDomains,
  reviewerDomainIssues,
} from '../../lambdas/domain/reviewer-domains';
import { InMemoryPolicyRepository } from '../fakes/memory-policies';
import { pendingIntent } from './fixtures';

describe('allowed reviewer domains', () => {
  it('parses a comma-separated list, lower-cased, with or without @', () => {
    expect(parseAllowedDomains(' Company.com, @sub.company.com ,')).toEqual([
      'company.com',
      'sub.company.com',
    ]);
    expect(parseAllowedDomains('')).toBeUndefined();
    expect(parseAllowedDomains(undefined)).toBeUndefined();
  });

  it('names every outside address where it appears: reviewers, steps and escalations; teams pass', () => {
    // Prepare
    const intent = pendingIntent({
      reviewers: ['cfo@company.com', 'team:finance', 'friend@gmail.com'],
      policy: {
        escalate: [{ after: '1h', to: ['boss@company.com', 'boss@evil.example'] }],
        timeout: { after: '8h', action: 'reject' },
      },
    });
    // Act
    const issues = reviewerDomainIssues(intentReviewerFields(intent), ['company.com']);
    // Assess
    expect(issues).toEqual([
      { field: 'reviewers', message: 'friend@gmail.com must be an address in company.com' },
      {
        field: 'policy.escalate.0.to',
        message: 'boss@evil.example must be an address in company.com',
      },
    ]);
    expect(reviewerDomainIssues(intentReviewerFields(intent), undefined)).toEqual([]);
  });

  it('matches the whole domain, not a suffix', () => {
    const issues = reviewerDomainIssues(
      [{ field: 'members', reviewers: ['a@notcompany.com', 'b@company.com.evil.example'] }],
      ['company.com'],
    );
    expect(issues).toHaveLength(2);
  });
});

describe('allowed reviewer domains in the core services', () => {
  const admin = { role: 'admin' as const, name: 'ops', keyId: 'key_1' };
  const clock = { now: () => new Date('2026-11-24T09:00:00.000Z') };

  it('refuses an intent for an outside reviewer with 403 policy_violation, before storing anything', async () => {
    // Prepare: a deployment's strict base, admitting request reviewers in company.com only.
    let stored = 0;
    const deps = {
      intents: {
        create: async () => {
          stored += 1;
          return { kind: 'created' as const };
        },
      },
      workflow: { start: async () => undefined },
      clock,
      configuredChannels: ['email' as const],
      policies: { policies: new InMemoryPolicyRepository(), configured: new Map(), clock },
      policyBase: deploymentBase(['company.com']),
      allowLoopbackCallbacks: false,
      waitPollMs: 100,
      allowedReviewerDomains: ['company.com'],
    } as unknown as IntentServiceDeps;
    const agent = { role: 'agent' as const, name: 'agent://a', keyId: 'key_a' };
    const body = (fields: Record<string, unknown>) => ({
      intent_type: 'intent.report.review_approval.v1',
      to_agent: 'agent://a',
      payload: {},
      ...fields,
    });
    // Act / Assess
    await expect(
      createIntent(deps, agent, body({ reviewers: ['someone@gmail.com'] }), undefined),
    ).rejects.toMatchObject({
      code: 'policy_violation',
      details: [
        { field: 'reviewers', message: 'someone@gmail.com is not a reviewer this policy admits' },
      ],
    });
    // A deployment does not read payload.reviewer unless a policy says so.
    await expect(
      createIntent(deps, agent, body({ payload: { reviewer: 'cfo@company.com' } }), undefined),
    ).rejects.toMatchObject({ code: 'validation_failed', details: [{ field: 'reviewers' }] });
    expect(stored).toBe(0);
  });

  it('refuses outside team members and reviewer keys', async () => {
    const teams = {
      get: async () => null,
      put: async () => undefined,
    } as unknown as TeamRepository;
    await expect(
      putTeam(teams, clock, admin, { name: 'finance', members: ['a@company.com', 'b@gmail.com'] }, [
        'company.com',
      ]),
    ).rejects.toMatchObject({ code: 'validation_failed', details: [{ field: 'members' }] });
    const keys = { put: async () => undefined } as unknown as KeyRepository;
    await expect(
      createKey(keys, clock, admin, { role: 'reviewer', principal: 'b@gmail.com' }, [
        'company.com',
      ]),
    ).rejects.toMatchObject({ code: 'validation_failed', details: [{ field: 'principal' }] });
    await expect(
      createKey(keys, clock, admin, { role: 'reviewer', principal: 'B@Company.com' }, [
        'company.com',
      ]),
    ).resolves.toMatchObject({ principal: 'b@company.com' });
  });
});
