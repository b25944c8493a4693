/**
 * The synthesized approval state machine's finish path, run on the local engine with fake
 * functions and an injected clock: a final intent tells its reviewers (NotifyDecided, retried a
 * few times, never blocking what follows), then, with a callback, goes through DeliverCallback,
 * whose Retry is the delivery backoff and whose Catch ends the execution even when every attempt
 * fails. This proves the local engine runs every field that path uses.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { PlanResult } from '../../lambdas/core/stage-runner';
import { DECIDED_NOTICE_RETRY } from '../../lambdas/domain/stages';
import { CALLBACK_RETRY } from '../../lambdas/domain/webhook';
import { loadLocalDefinition } from '../../local/cdk-definition';
import { synthesizeTemplate } from '../../local/synthesize';
import { type Harness, openHarness } from './helpers';

let definition: Record<string, unknown>;
beforeAll(() => {
  definition = loadLocalDefinition(synthesizeTemplate()).definition;
}, 60_000);

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

const finish = (callback: boolean): PlanResult => ({
  action: 'finish',
  status: 'approved',
  step: null,
  stage: null,
  timeout_seconds: null,
  hold_until: null,
  callback,
});

const NOTIFY = 'countersign-notify-decided';

function noticesPending(): never {
  const error = new Error('1 of 1 decided notices failed for now; queued for the next attempt');
  error.name = 'DecidedNoticesPendingError';
  throw error;
}

function retryable(): never {
  const error = new Error('callback attempt failed: HTTP 503');
  error.name = 'CallbackRetryableError';
  throw error;
}

async function advance(h: Harness, seconds: number) {
  h.clock?.advance(seconds * 1000);
  await h.sfn.runDueTimers();
  await h.sfn.settle();
}

describe('DeliverCallback on the synthesized definition', () => {
  it('retries a failing delivery with the backoff, passing the retry count, until it succeeds', async () => {
    const h = await openHarness({ approval: definition }, { fakeClock: true });
    harness = h;
    h.lambdas.on('countersign-plan-stage', () => finish(true));
    h.lambdas.on(NOTIFY, () => ({ sent: 1, failed: 0 }));
    let attempts = 0;
    h.lambdas.on('countersign-deliver-callback', () => {
      attempts += 1;
      return attempts < 3 ? retryable() : { outcome: 'delivered', attempt: 3, status: 200 };
    });

    const arn = await h.start({ intent_id: 'int_1' }, 'int_1');
    await h.sfn.settle();
    expect(attempts).toBe(1);
    await advance(h, CALLBACK_RETRY.intervalSeconds - 1);
    expect(attempts).toBe(1);
    await advance(h, 1);
    expect(attempts).toBe(2);
    await advance(h, CALLBACK_RETRY.intervalSeconds * CALLBACK_RETRY.backoffRate);
    expect(attempts).toBe(3);

    expect(h.lambdas.callsTo('countersign-deliver-callback')).toEqual([
      { intent_id: 'int_1', retry_count: 0 },
      { intent_id: 'int_1', retry_count: 1 },
      { intent_id: 'int_1', retry_count: 2 },
    ]);
    expect((await h.sfn.describeExecution({ executionArn: arn })).status).toBe('SUCCEEDED');
  });

  it('a callback failing every time still ends the execution after the last scheduled attempt', async () => {
    const h = await openHarness({ approval: definition }, { fakeClock: true });
    harness = h;
    h.lambdas.on('countersign-plan-stage', () => finish(true));
    h.lambdas.on(NOTIFY, () => ({ sent: 1, failed: 0 }));
    h.lambdas.on('countersign-deliver-callback', retryable);

    const arn = await h.start({ intent_id: 'int_2' }, 'int_2');
    await h.sfn.settle();
    for (let retry = 1; retry <= CALLBACK_RETRY.maxRetries; retry += 1) {
      const delay = Math.min(
        CALLBACK_RETRY.intervalSeconds * CALLBACK_RETRY.backoffRate ** (retry - 1),
        CALLBACK_RETRY.maxDelaySeconds,
      );
      await advance(h, delay);
    }
    expect(h.lambdas.callsTo('countersign-deliver-callback')).toHaveLength(
      CALLBACK_RETRY.maxRetries + 1,
    );
    const described = await h.sfn.describeExecution({ executionArn: arn });
    expect(described.status).toBe('SUCCEEDED');
  });

  it('an intent without a callback finishes without calling the deliver function', async () => {
    const h = await openHarness({ approval: definition }, { fakeClock: true });
    harness = h;
    h.lambdas.on('countersign-plan-stage', () => finish(false));
    h.lambdas.on(NOTIFY, () => ({ sent: 1, failed: 0 }));
    const arn = await h.start({ intent_id: 'int_3' }, 'int_3');
    await h.sfn.settle();
    expect((await h.sfn.describeExecution({ executionArn: arn })).status).toBe('SUCCEEDED');
    expect(h.lambdas.callsTo('countersign-deliver-callback')).toEqual([]);
  });

  it('retries the decided notices on their schedule, passing the attempt, then goes on to the callback', async () => {
    const h = await openHarness({ approval: definition }, { fakeClock: true });
    harness = h;
    h.lambdas.on('countersign-plan-stage', () => finish(true));
    h.lambdas.on(NOTIFY, noticesPending);
    h.lambdas.on('countersign-deliver-callback', () => ({ outcome: 'delivered' }));

    const arn = await h.start({ intent_id: 'int_4' }, 'int_4');
    await h.sfn.settle();
    expect(h.lambdas.callsTo('countersign-deliver-callback')).toEqual([]);
    await advance(h, DECIDED_NOTICE_RETRY.intervalSeconds);
    await advance(h, DECIDED_NOTICE_RETRY.intervalSeconds * DECIDED_NOTICE_RETRY.backoffRate);
    // Every attempt failed: the execution still calls back and ends.
    expect(h.lambdas.callsTo(NOTIFY)).toEqual(
      Array.from({ length: DECIDED_NOTICE_RETRY.attempts }, (_, attempt) => ({
        intent_id: 'int_4',
        attempt,
      })),
    );
    expect(h.lambdas.callsTo('countersign-deliver-callback')).toHaveLength(1);
    expect((await h.sfn.describeExecution({ executionArn: arn })).status).toBe('SUCCEEDED');
  });
});
