/**
 * The numbers behind docs/cost.md: the synthesized state machine (the same definition `cdk
 * deploy` ships) runs on the local engine with scripted functions, and each scenario's billed
 * state transitions (every state entered) and Lambda invocations are counted. If the machine
 * changes, these change, and so must the cost page. `npm run cost` prints the page's figures from
 * the same runs (bench/cost-model.ts); its line is on the page, and checked here.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { finish, hold, pause, runMachine } from '../../bench/cost-model';
import { loadLocalDefinition } from '../../local/cdk-definition';
import { synthesizeTemplate } from '../../local/synthesize';

let machine: ReturnType<typeof loadLocalDefinition>;
beforeAll(() => {
  machine = loadLocalDefinition(synthesizeTemplate());
});
const run = (plans: Parameters<typeof runMachine>[1], decideAfter: number | null) =>
  runMachine(machine, plans, decideAfter);

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

describe('npm run cost', () => {
  const ROOT = path.resolve(import.meta.dirname, '../..');
  let printed: string;
  let report: {
    approval_usd: Record<string, number>;
    transitions: Record<string, number>;
    waiting_agent_hour_usd: number;
    waiting_long_poll_agent_hour_usd: number;
  };
  beforeAll(() => {
    printed = execFileSync(process.execPath, ['--import', 'tsx', 'bench/cost.ts'], {
      cwd: ROOT,
      encoding: 'utf8',
    }).trim();
    report = JSON.parse(printed);
  }, 120_000);

  it('prints one JSON line whose transitions are the ones counted above', () => {
    expect(printed.split('\n')).toHaveLength(1);
    expect(report.transitions).toEqual({
      happy_path: 8,
      happy_path_callback: 9,
      one_reminder: 11,
      reminder_and_escalation: 14,
      default_policy_timeout_8h: 14,
    });
  });

  it("prices approvals and waiting as docs/cost.md's arithmetic does", () => {
    // The happy path, line by line as on the page: 8 transitions, 1 email, 4 API requests,
    // 8 invocations of 0.1 GB-s, 52 WRU, 11 RRU.
    const happy =
      8 * 0.000025 +
      0.0001 +
      4 * 0.0000035 +
      8 * 0.0000002 +
      0.8 * 0.0000133334 +
      52 * 0.000000625 +
      11 * 0.000000125;
    expect(report.approval_usd.happy_path).toBeCloseTo(happy, 7);
    expect(report.approval_usd.one_reminder).toBeCloseTo(0.00055, 6);
    expect(report.approval_usd.reminder_and_escalation).toBeCloseTo(0.00085, 5);
    expect(report.approval_usd.default_policy_timeout_8h).toBeCloseTo(0.00083, 5);
    // An hour on the wait channel: 60 connection minutes, 12.5 subscribes and their answers,
    // 12.5 invocations of 0.1 GB-s, 12.5 × (1 WRU + 1.5 RRU).
    const waiting =
      60 * 0.00000025 +
      25 * 0.000001 +
      12.5 * (0.0000002 + 0.1 * 0.0000133334) +
      12.5 * (0.000000625 + 1.5 * 0.000000125);
    expect(report.waiting_agent_hour_usd).toBeCloseTo(waiting, 7);
    expect(report.waiting_agent_hour_usd).toBeLessThanOrEqual(0.001);
    expect(report.waiting_long_poll_agent_hour_usd).toBeCloseTo(0.0265, 4);
  });

  it('is the line docs/cost.md shows', () => {
    expect(readFileSync(path.join(ROOT, 'docs/cost.md'), 'utf8')).toContain(printed);
  });
});
