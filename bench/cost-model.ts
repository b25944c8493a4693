import { finish as finishPlan, type PlanResult } from '../lambdas/core/stage-runner';
import { FUNCTION_METADATA_KEY } from '../lambdas/functions';
import { loadLocalDefinition, type SynthesizedTemplate } from '../local/cdk-definition';
import { WAIT_REFRESH_MS } from '../sdk/src/wait-channel';
import { historyOf, lastToken, openHarness } from '../test/local-sfn/helpers';

/**
 * The cost model of docs/cost.md, computed: each approval scenario runs on the local engine with
 * the synthesized state machine (the definition `cdk deploy` ships) and scripted functions, which
 * counts its billed state transitions and the Lambda invocations the machine makes; function
 * memory comes from the synthesized template; the rest (emails, API requests, DynamoDB units per
 * scenario, how the SDK waits) is the accounting the page explains. `npm run cost` prints it.
 */

/** us-east-1 list prices (docs/cost.md, "Prices used"). */
export const PRICES = {
  transition: 0.000025,
  lambdaRequest: 0.0000002,
  lambdaGbSecond: 0.0000133334,
  restRequest: 0.0000035,
  webSocketMessage: 0.000001,
  webSocketConnectionMinute: 0.00000025,
  writeUnit: 0.000000625,
  readUnit: 0.000000125,
  email: 0.0001,
} as const;

/** Seconds an ordinary invocation (not a long poll) is billed for. */
export const INVOCATION_SECONDS = 0.2;
/** API Gateway closes a WebSocket after two hours; the SDK then connects and subscribes again. */
const MAX_CONNECTION_HOURS = 2;
/** The SDK's long poll (docs/cost.md, "What a waiting agent costs"). */
const LONG_POLL_SECONDS = 20;
const LONG_POLL_READ_MS = 250;

const PLAN = 'countersign-plan-stage';
const STAGE = 'countersign-stage-task';
const NOTIFY = 'countersign-notify-decided';
const CALLBACK = 'countersign-deliver-callback';

/** A stage that waits `seconds` for its task token (`await`), or is held for working hours (`hold`). */
const waiting =
  (action: 'await' | 'hold') =>
  (stage: number, seconds: number): PlanResult => ({
    action,
    status: 'pending',
    step: 0,
    stage,
    timeout_seconds: seconds,
    hold_until: null,
    callback: false,
  });
export const pause = waiting('await');
/** A reminder stage held `seconds` for working hours (HoldReminders), from when it is planned. */
export const hold = waiting('hold');
export const finish = (status: string, callback = false): PlanResult =>
  finishPlan(status, callback);

export interface MachineRun {
  status: string | undefined;
  transitions: number;
  invocations: number;
  planCalls: number;
  stageCalls: number;
  noticeCalls: number;
}

/**
 * Runs one intent: PlanStage answers `plans` in order; each pause ends by its timeout, except
 * that the reviewer decides `decideAfter` seconds into the last pause when it is given.
 */
export async function runMachine(
  machine: ReturnType<typeof loadLocalDefinition>,
  plans: PlanResult[],
  decideAfter: number | null,
): Promise<MachineRun> {
  const { stateMachineName, definition } = machine;
  const h = await openHarness({ [stateMachineName]: definition }, { fakeClock: true });
  try {
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
  } finally {
    await h.close();
  }
}

/**
 * The scenarios of docs/cost.md. Besides the machine: the emails sent, the API requests (create,
 * the review page's GET and POST, the agent's one read; no review page when it times out) and
 * the DynamoDB units, as the page accounts for them.
 */
export const SCENARIOS = {
  happy_path: {
    plans: [pause(0, 300), finish('approved')],
    decideAfter: 120,
    emails: 1,
    apiRequests: 4,
    writeUnits: 52,
    readUnits: 11,
  },
  happy_path_callback: {
    plans: [pause(0, 300), finish('approved', true)],
    decideAfter: 120,
    emails: 1,
    apiRequests: 4,
    writeUnits: 54,
    readUnits: 12,
  },
  one_reminder: {
    plans: [pause(0, 300), pause(1, 3600), finish('approved')],
    decideAfter: 600,
    emails: 2,
    apiRequests: 4,
    writeUnits: 70,
    readUnits: 15,
  },
  reminder_and_escalation: {
    plans: [pause(0, 300), pause(1, 1500), pause(2, 7200), finish('approved')],
    decideAfter: 600,
    emails: 4,
    apiRequests: 4,
    writeUnits: 98,
    readUnits: 19,
  },
  default_policy_timeout_8h: {
    plans: [pause(0, 300), pause(1, 1500), pause(2, 27_000), finish('timed_out')],
    decideAfter: null,
    emails: 4,
    apiRequests: 2,
    writeUnits: 86,
    readUnits: 17,
  },
} satisfies Record<
  string,
  {
    plans: PlanResult[];
    decideAfter: number | null;
    emails: number;
    apiRequests: number;
    writeUnits: number;
    readUnits: number;
  }
>;
export type ScenarioName = keyof typeof SCENARIOS;

/** The memory of a synthesized Countersign function, in GB. */
export function memoryGb(template: SynthesizedTemplate, functionId: string): number {
  const found = Object.values(template.Resources).find(
    (resource) =>
      resource.Type === 'AWS::Lambda::Function' &&
      resource.Metadata?.[FUNCTION_METADATA_KEY] === functionId,
  );
  const megabytes = Number((found?.Properties as { MemorySize?: unknown } | undefined)?.MemorySize);
  if (!Number.isFinite(megabytes)) throw new Error(`no memory size for ${functionId}`);
  return megabytes / 1024;
}

/** Whether the template has the wait channel (an API Gateway WebSocket API). */
export function hasWaitChannel(template: SynthesizedTemplate): boolean {
  return Object.values(template.Resources).some(
    (resource) =>
      resource.Type === 'AWS::ApiGatewayV2::Api' &&
      (resource.Properties as { ProtocolType?: string } | undefined)?.ProtocolType === 'WEBSOCKET',
  );
}

export function approvalUsd(
  scenario: (typeof SCENARIOS)[ScenarioName],
  run: MachineRun,
  gbPerInvocation: number,
): number {
  const invocations = scenario.apiRequests + run.invocations;
  return (
    run.transitions * PRICES.transition +
    scenario.emails * PRICES.email +
    scenario.apiRequests * PRICES.restRequest +
    invocations * PRICES.lambdaRequest +
    invocations * INVOCATION_SECONDS * gbPerInvocation * PRICES.lambdaGbSecond +
    scenario.writeUnits * PRICES.writeUnit +
    scenario.readUnits * PRICES.readUnit
  );
}

/**
 * An hour of `waitFor` over the wait channel: the connection's minutes; a subscribe and its
 * answer every WAIT_REFRESH_MS, plus one more per two-hour connection; each subscribe one
 * invocation of the wait-socket function (a key lookup, a subscription written, the intent read).
 */
export function waitingHourUsd(template: SynthesizedTemplate): number {
  const subscribes = 3_600_000 / WAIT_REFRESH_MS + 1 / MAX_CONNECTION_HOURS;
  const gb = memoryGb(template, 'wait-socket');
  return (
    60 * PRICES.webSocketConnectionMinute +
    2 * subscribes * PRICES.webSocketMessage +
    subscribes * (PRICES.lambdaRequest + INVOCATION_SECONDS * gb * PRICES.lambdaGbSecond) +
    subscribes * (1 * PRICES.writeUnit + 1.5 * PRICES.readUnit)
  );
}

/** An hour of the long poll (the fallback): a function held open the whole hour. */
export function longPollHourUsd(template: SynthesizedTemplate): number {
  const polls = 3600 / LONG_POLL_SECONDS;
  const gb = memoryGb(template, 'intents-read');
  const reads = 3_600_000 / LONG_POLL_READ_MS + polls * 2.5;
  return (
    polls * (PRICES.restRequest + PRICES.lambdaRequest) +
    3600 * gb * PRICES.lambdaGbSecond +
    reads * PRICES.readUnit
  );
}

const usd = (value: number) => Number(value.toFixed(7));

export interface CostReport {
  approval_usd: Record<ScenarioName, number>;
  transitions: Record<ScenarioName, number>;
  waiting_agent_hour_usd: number;
  waiting_long_poll_agent_hour_usd: number;
}

/** Everything `npm run cost` prints, from a synthesized template. */
export async function costReport(template: SynthesizedTemplate): Promise<CostReport> {
  if (!hasWaitChannel(template)) throw new Error('the template has no wait channel');
  const machine = loadLocalDefinition(template);
  const gb = memoryGb(template, 'plan-stage');
  const approval = {} as Record<ScenarioName, number>;
  const transitions = {} as Record<ScenarioName, number>;
  for (const [name, scenario] of Object.entries(SCENARIOS) as [
    ScenarioName,
    (typeof SCENARIOS)[ScenarioName],
  ][]) {
    const run = await runMachine(machine, scenario.plans, scenario.decideAfter);
    if (run.status !== 'SUCCEEDED') throw new Error(`${name} ended ${run.status}`);
    approval[name] = usd(approvalUsd(scenario, run, gb));
    transitions[name] = run.transitions;
  }
  return {
    approval_usd: approval,
    transitions,
    waiting_agent_hour_usd: usd(waitingHourUsd(template)),
    waiting_long_poll_agent_hour_usd: usd(longPollHourUsd(template)),
  };
}
