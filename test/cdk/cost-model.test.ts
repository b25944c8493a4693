/**
 * The numbers behind docs/cost.md: the synthesized state machine (the same definition `cdk
 * deploy` ships) runs on the local engine with scripted functions, and each scenario's billed
 * state transitions (every state entered) and Lambda invocations are counted. If the machine
 * changes, these change, and so must the cost page.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { PlanResult } from '../../lambdas/core/stage-runner';
import { loadLocalDefinition } from '../../local/cdk-definition';
import { synthesizeTemplate } from '../../local/synthesize';
import { type Harness, historyOf, lastToken, openHarness } from '../local-sfn/helpers';

const PLAN = 'countersign-plan-stage';
const STAGE = 'countersign-stage-task';
const NOTIFY = 'countersign-notify-decided';
const CALLBACK = 'countersign-deliver-callback';

const pause = (stage: number, seconds: number): PlanResult => ({
  action: 'await',
  status: 'pending',
  step: 0,
  stage,
  timeout_seconds: seconds,
  hold_until: null,
  callback: false,
});
const finish = (status: string, callback = false): PlanResult => ({
  action: 'finish',
  status,
  step: null,
  stage: null,
  timeout_seconds: null,
  hold_until: null,
  callback,
});

/** A reminder stage held `seconds` for working hours (HoldReminders), from when it is planned. */
const hold = (stage: number, seconds: number): PlanResult => ({
  action: 'hold',
  status: 'pending',
  step: 0,
  stage,
  timeout_seconds: seconds,
  hold_until: null,
  callback: false,
});

let harness: Harness | undefined;
let machine: ReturnType<typeof loadLocalDefinition>;
beforeAll(() => {
  machine = loadLocalDefinition(synthesizeTemplate());
});
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

/**
 * Runs one intent: PlanStage answers `plans` in order; each pause ends by its timeout, except
 * that the reviewer decides `decideAfter` seconds into the last pause when it is given.
 */
async function run(plans: PlanResult[], decideAfter: number | null) {
  const { stateMachineName, definition } = machine;
  const h = await openHarness({ [stateMachineName]: definition }, { fakeClock: true });
  harness = h;
  let planned = 0;
  h.lambdas.on(PLAN, () => {
    const plan = plans[planned++];
    // A hold's timestamp counts from the (fake) clock when it is planned.
    return plan?.action === 'hold'
      ? {
          ...plan,
          timeout_seconds: null,
          hold_until: new Date(
            (h.clock?.now() ?? 0) + (plan.timeout_seconds ?? 0) * 1000,
          ).toISOString(),
        }
      : plan;
  });
  h.lambdas.on(STAGE, () => ({ notified: 1 }));
  h.lambdas.on(NOTIFY, () => ({ sent: 1, failed: 0 }));
  h.lambdas.on(CALLBACK, () => ({ delivered: true }));
  const arn = await h.start({ intent_id: 'int_1' }, 'int_1');
  await h.sfn.settle();
  const pauses = plans.filter((plan) => plan.action === 'await' || plan.action === 'hold');
  for (const [index, plan] of pauses.entries()) {
    const last = index === pauses.length - 1;
    if (last && decideAfter !== null && plan.action === 'await') {
      h.clock?.advance(decideAfter * 1000);
      await h.sfn.sendTaskSuccess({
        taskToken: lastToken(h.lambdas, STAGE, 'task_token'),
        output: '{}',
      });
    } else {
      h.clock?.advance((plan.timeout_seconds ?? 0) * 1000);
      await h.sfn.runDueTimers();
    }
    await h.sfn.settle();
  }
  const described = await h.sfn.describeExecution({ executionArn: arn });
  const history = await historyOf(h.sfn, arn);
  return {
    status: described.status,
    transitions: history.filter((event) => event.type?.endsWith('StateEntered')).length,
    invocations: h.lambdas.calls.length,
    planCalls: h.lambdas.callsTo(PLAN).length,
    stageCalls: h.lambdas.callsTo(STAGE).length,
    noticeCalls: h.lambdas.callsTo(NOTIFY).length,
  };
}

describe('state transitions and invocations per approval (docs/cost.md)', () => {
  it('happy path: notified, approved within the first stage', async () => {
    const result = await run([pause(0, 300), finish('approved')], 120);
    expect(result).toEqual({
      status: 'SUCCEEDED',
      transitions: 8,
      invocations: 4,
      planCalls: 2,
      stageCalls: 1,
      noticeCalls: 1,
    });
  });

  it('happy path with a callback_url: one more state and invocation', async () => {
    const result = await run([pause(0, 300), finish('approved', true)], 120);
    expect(result).toMatchObject({ status: 'SUCCEEDED', transitions: 9, invocations: 5 });
  });

  it('one reminder, then approved', async () => {
    const result = await run([pause(0, 300), pause(1, 3600), finish('approved')], 600);
    expect(result).toEqual({
      status: 'SUCCEEDED',
      transitions: 11,
      invocations: 6,
      planCalls: 3,
      stageCalls: 2,
      noticeCalls: 1,
    });
  });

  it('one reminder and an escalation, then approved', async () => {
    const result = await run(
      [pause(0, 300), pause(1, 1500), pause(2, 7200), finish('approved')],
      600,
    );
    expect(result).toEqual({
      status: 'SUCCEEDED',
      transitions: 14,
      invocations: 8,
      planCalls: 4,
      stageCalls: 3,
      noticeCalls: 1,
    });
  });

  it('one reminder held overnight for working hours, then approved: a hold adds 3 transitions (Route, HoldReminders, PlanStage) and one invocation', async () => {
    const result = await run(
      [pause(0, 300), hold(1, 14 * 3600), pause(1, 3600), finish('approved')],
      600,
    );
    expect(result).toEqual({
      status: 'SUCCEEDED',
      transitions: 14,
      invocations: 7,
      planCalls: 4,
      stageCalls: 2,
      noticeCalls: 1,
    });
  });

  it('the default policy timing out: reminders at 5 and 30 minutes, nobody answers for 8 hours', async () => {
    const result = await run(
      [pause(0, 300), pause(1, 1500), pause(2, 27_000), finish('timed_out')],
      null,
    );
    expect(result).toEqual({
      status: 'SUCCEEDED',
      transitions: 14,
      invocations: 8,
      planCalls: 4,
      stageCalls: 3,
      noticeCalls: 1,
    });
  });
});
