import { createIntentSchema, newIntent } from '../../lambdas/domain/create';
import type { IntentState } from '../../lambdas/domain/intent';
import { PERMISSIVE_BASE } from '../fakes/memory-policies';

export const T0 = new Date('2026-11-24T09:00:00.000Z');

/** A freshly created pending intent, built through the real creation path. */
export function pendingIntent(body: Record<string, unknown> = {}, now = T0): IntentState {
  const input = createIntentSchema.parse({
    intent_type: 'intent.report.review_approval.v1',
    to_agent: 'agent://myorg/production/report-generator',
    payload: { report: 'Q1 Financial Summary', reviewer: 'cfo@company.com' },
    ...body,
  });
  return newIntent(input, {
    id: 'int_TEST',
    from_agent: 'agent://myorg/production/report-generator',
    now,
    configuredChannels: ['email'],
    operatorPolicy: {},
    policySource: { name: 'built-in', version: 0, source: 'built-in' },
    base: PERMISSIVE_BASE,
    allowLoopbackCallbacks: false,
  }).intent;
}
