/**
 * Issue #12's migration promise (docs/api.md): intents created before operator policies keep the
 * policy stored on them and finish as they were, because resolution happens once, at create.
 * Each intent here is put into the repository as the code before 113f782 stored it
 * (`test/fixtures/before-operator-policies.ts`), then an admin installs a strict policy for its
 * type and the core drives it: stages, reminder, decision, timeout. Nobody the new policy names
 * may hear of it. The DynamoDB codec's side is in `test/adapters/dynamo-listing.test.ts`.
 */
import { describe, expect, it } from 'vitest';
import { createIntent, decideIntent, type IntentServiceDeps } from '../../lambdas/core/intents';
import { putPolicy } from '../../lambdas/core/policies';
import type { EmailMessage, Signer } from '../../lambdas/core/ports';
import {
  notifyDecided,
  planNextStage,
  runStage,
  type StageRunnerDeps,
} from '../../lambdas/core/stage-runner';
import type { AuditEvent } from '../../lambdas/domain/audit';
import { type IntentState, toView } from '../../lambdas/domain/intent';
import { deploymentBase } from '../../lambdas/domain/operator-policy';
import { verifyIntentTrail } from '../../sdk/src/audit';
import { T0 } from '../domain/fixtures';
import { intentServiceOver } from '../fakes/intent-service';
import { MemoryIntentRepository } from '../fakes/memory-intents';
import {
  OLD_AGENT,
  OLD_REVIEWER,
  OLD_TYPE,
  oldPolicy,
  STRICT_POLICY,
  STRICT_POLICY_PEOPLE,
  storedBeforeOperatorPolicies,
} from '../fixtures/before-operator-policies';

const HOUR = 3600_000;

async function setup(...old: { intent: IntentState; events: AuditEvent[] }[]) {
  const repository = new MemoryIntentRepository();
  for (const { intent, events } of old) {
    repository.intents.set(intent.id, structuredClone(intent));
    repository.trails.set(intent.id, structuredClone(events));
  }
  let now = T0.getTime() + 60_000;
  const clock = { now: () => new Date(now) };
  const emails: EmailMessage[] = [];
  // One object carries every dependency, the policy store included, so that a stage runner or
  // decision path that came to read policies would read the strict one installed below.
  const deps: IntentServiceDeps & StageRunnerDeps & { signer: Signer } = {
    ...intentServiceOver(repository),
    clock,
    policyBase: deploymentBase(['company.com']),
    teams: {
      get: async () => null,
      put: async () => undefined,
      list: async () => [],
      delete: async () => false,
    },
    email: {
      send: async (message) => {
        emails.push(message);
        return { messageId: `ses-${emails.length}` };
      },
    },
    publicBaseUrl: 'https://approvals.example.com',
    linkSigningSecret: 'test-secret',
  };
  await putPolicy(
    deps.policies,
    { role: 'admin', name: 'admin@company.com', keyId: 'admin-key' },
    OLD_TYPE,
    STRICT_POLICY,
  );
  return {
    deps,
    repository,
    emails,
    at: (ms: number) => {
      now = ms;
    },
  };
}

/** Runs the stage the state machine would await now, as its stage task. */
async function runDueStage(deps: StageRunnerDeps & { signer: Signer }, id: string) {
  const plan = await planNextStage(deps, id, id);
  expect(plan.action).toBe('await');
  await runStage(deps, {
    intent_id: id,
    step: plan.step ?? 0,
    stage: plan.stage ?? 0,
    task_token: `token-${plan.stage}`,
  });
  return plan;
}

describe('intents stored before operator policies', () => {
  it('the strict policy is in force for new intents of the type', async () => {
    const { deps } = await setup();
    // The same request the old intents came from is refused today: the policy is not vacuous.
    await expect(
      createIntent(
        deps,
        { role: 'agent', name: OLD_AGENT, keyId: 'agent-key' },
        {
          intent_type: OLD_TYPE,
          to_agent: OLD_AGENT,
          payload: { amount: 120_000, currency: 'EUR', reviewer: OLD_REVIEWER },
          reviewers: [OLD_REVIEWER],
          policy: { timeout: { after: '1h', action: 'approve' } },
        },
        undefined,
      ),
    ).rejects.toMatchObject({
      code: 'policy_violation',
      details: expect.arrayContaining([
        expect.objectContaining({ field: 'reviewers' }),
        expect.objectContaining({ field: 'policy.timeout.action' }),
      ]),
    });
  });

  it('asks, reminds and accepts the decision of the stored reviewer only', async () => {
    const old = storedBeforeOperatorPolicies(
      'int_OLD_DECIDED',
      oldPolicy({ after: 86_400, action: 'reject' }),
    );
    const { deps, repository, emails, at } = await setup(old);
    const id = old.intent.id;

    const first = await runDueStage(deps, id);
    // Past the stored reminder (an hour) and the new policy's escalation (30 minutes).
    at(T0.getTime() + 60_000 + HOUR + 1000);
    const second = await runDueStage(deps, id);
    expect(emails.map((m) => [m.to, m.kind])).toEqual([
      [OLD_REVIEWER, 'notify'],
      [OLD_REVIEWER, 'remind'],
    ]);
    expect([first.stage, second.stage]).toEqual([0, 1]);

    // One approval from the stored reviewer decides, as the stored quorum of 1 says.
    const decided = await decideIntent(
      deps,
      { role: 'reviewer', name: OLD_REVIEWER, keyId: 'reviewer-key' },
      id,
      { outcome: 'approve', comment: 'As agreed' },
    );
    expect(decided).toMatchObject({
      status: 'approved',
      decision: { outcome: 'approved', by: OLD_REVIEWER },
      policy: old.intent.policy,
      recipients: [OLD_REVIEWER],
    });
    // Only the decider was emailed, and they know: nobody is left to tell.
    expect(
      await notifyDecided(deps, { intent_id: id, attempt: 0 }, { totalMs: 0, pollMs: 1 }),
    ).toEqual({ sent: 0, failed: 0 });
    expect(emails).toHaveLength(2);

    const everyone = emails.map((m) => m.to);
    for (const person of STRICT_POLICY_PEOPLE) expect(everyone).not.toContain(person);
    const stored = await repository.get(id);
    expect(stored?.policy).toStrictEqual(old.intent.policy);
    expect(stored?.asked).toEqual([OLD_REVIEWER]);
    const trail = await repository.events(id);
    expect(JSON.stringify(trail)).not.toMatch(/security@|ciso/);
    expect(trail[0]).toStrictEqual(old.events[0]);
    // The old created event has no payload hash: chain and head verify, the payload is not covered.
    expect(verifyIntentTrail(decided, trail)).toMatchObject({ ok: true, payloadCovered: false });
  });

  it('a stored approve-on-timeout approves at its deadline, though the policy now rejects', async () => {
    const old = storedBeforeOperatorPolicies(
      'int_OLD_TIMEOUT',
      oldPolicy({ after: 3 * 3600, action: 'approve' }),
    );
    const { deps, repository, emails, at } = await setup(old);
    const id = old.intent.id;

    await runDueStage(deps, id);
    // Past the new policy's 2 h timeout, before the stored 3 h one: still pending.
    at(T0.getTime() + 2 * HOUR + 60_000);
    expect((await planNextStage(deps, id, id)).action).toBe('await');
    expect((await repository.get(id))?.status).toBe('pending');

    at(Date.parse(old.intent.deadline_at) + 1000);
    expect(await planNextStage(deps, id, id)).toMatchObject({
      action: 'finish',
      status: 'timed_out',
    });
    const stored = await repository.get(id);
    expect(stored).toMatchObject({
      status: 'timed_out',
      decision: { outcome: 'approved', by: 'timeout', channel: 'timeout' },
      policy: old.intent.policy,
    });
    expect(stored?.receipt).toEqual(expect.any(String));
    const trail = await repository.events(id);
    expect(trail.at(-1)).toMatchObject({
      type: 'timed_out',
      data: { outcome: 'approved', action: 'approve' },
    });
    expect(verifyIntentTrail(toView(stored as IntentState), trail)).toMatchObject({ ok: true });
    const everyone = emails.map((m) => m.to);
    for (const person of STRICT_POLICY_PEOPLE) expect(everyone).not.toContain(person);
  });
});
