import { DEFAULT_RECONCILE_OPTIONS, reconcilePending } from '../core/reconciler';
import { getNumberFromEnv } from '../shared/config';
import { reconcilerDeps } from '../shared/deps';
import { type InvocationContext, invocationLogger } from '../shared/logger';

/**
 * Scheduled (EventBridge): finds pending intents whose execution ended abnormally or never
 * started, and restarts them or applies their timeout. One log line per repair, one summary.
 * The run fails when an intent could not be repaired or is stuck, so that the function's
 * error alarm tells an operator.
 */
export const handler = async (_event: unknown, context?: InvocationContext) => {
  const log = invocationLogger(context, { task: 'Reconcile' });
  const summary = await reconcilePending(
    reconcilerDeps(),
    {
      ...DEFAULT_RECONCILE_OPTIONS,
      maxRestarts: getNumberFromEnv(
        'RECONCILER_MAX_RESTARTS',
        DEFAULT_RECONCILE_OPTIONS.maxRestarts,
      ),
    },
    {
      repaired: (intentId, outcome) => {
        const level =
          outcome.kind === 'stuck' ? 'error' : outcome.kind === 'settled' ? 'info' : 'warn';
        log[level]('reconciled', { intent_id: intentId, ...outcome });
      },
      failed: (intentId, error) => log.error('reconcile failed', { intent_id: intentId, error }),
    },
  );
  log.info('reconcile summary', { ...summary });
  if (summary.failed > 0 || summary.stuck > 0) {
    throw new Error(
      `reconciler: ${summary.failed} intent(s) could not be repaired, ${summary.stuck} stuck; see the log lines above`,
    );
  }
  return summary;
};
