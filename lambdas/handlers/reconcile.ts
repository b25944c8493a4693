import { DEFAULT_RECONCILE_OPTIONS, reconcilePending } from '../core/reconciler';
import { ENV, getNumberFromEnv } from '../shared/config';
import { intentRepository, reconcilerDeps } from '../shared/deps';
import { type InvocationContext, invocationLogger } from '../shared/logger';

/** Legacy intents migrated per run: about 4 writes each, a few seconds of the 15 minutes. */
const BACKFILL_PER_RUN = 5000;

/**
 * Scheduled (EventBridge): finds pending intents whose execution ended abnormally or never
 * started, and restarts them or applies their timeout. One log line per repair, one summary.
 * The run fails when an intent could not be repaired or is stuck, so that the function's
 * error alarm tells an operator.
 */
export const handler = async (_event: unknown, context?: InvocationContext) => {
  const log = invocationLogger(context, { task: 'Reconcile' });
  // Intents stored before listing items existed get theirs, a bounded number per run, first:
  // the overdue list below only finds intents that have them (docs/deploy.md, Upgrading).
  const migrated = await intentRepository().backfillListings(
    getNumberFromEnv(ENV.reconcilerBackfillPerRun, BACKFILL_PER_RUN),
  );
  if (migrated > 0) log.info('listing items backfilled', { migrated });
  const summary = await reconcilePending(
    reconcilerDeps(),
    {
      ...DEFAULT_RECONCILE_OPTIONS,
      maxRestarts: getNumberFromEnv(
        ENV.reconcilerMaxRestarts,
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
