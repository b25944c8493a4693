import type { IntentServiceDeps } from '../../lambdas/core/intents';
import type { IntentRepository } from '../../lambdas/core/ports';
import { T0 } from '../domain/fixtures';
import { testSigner } from '../handlers/signing-key';
import { InMemoryPolicyRepository, PERMISSIVE_BASE } from './memory-policies';

/**
 * The intent service over `repository` for core tests: a workflow that starts and wakes
 * nothing, the clock a minute after the fixtures' T0, a permissive policy base, the test signer.
 */
export function intentServiceOver(repository: IntentRepository): IntentServiceDeps {
  return {
    intents: repository,
    workflow: { start: async () => undefined, wake: async () => 'delivered' },
    clock: { now: () => new Date(T0.getTime() + 60_000) },
    configuredChannels: ['email'],
    policies: {
      policies: new InMemoryPolicyRepository(),
      configured: new Map(),
      clock: { now: () => T0 },
    },
    policyBase: PERMISSIVE_BASE,
    allowLoopbackCallbacks: false,
    waitPollMs: 10,
    signer: testSigner(),
  };
}
