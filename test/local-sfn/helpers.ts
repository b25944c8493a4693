import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type HistoryEvent, SFNClient } from '@aws-sdk/client-sfn';
import {
  type LambdaInvoker,
  LocalStepFunctions,
  type LocalStepFunctionsOptions,
} from '../../local/stepfunctions/index';

export const FUNCTION_ARN_PREFIX = 'arn:aws:lambda:us-east-1:000000000000:function:';
export const EPOCH = Date.parse('2024-03-01T12:00:00.000Z');

export function functionArn(name: string): string {
  return `${FUNCTION_ARN_PREFIX}${name}`;
}

/** A manually advanced clock, for deadlines of seconds to years without waiting. */
export class FakeClock {
  current = EPOCH;
  readonly now = (): number => this.current;
  advance(ms: number): void {
    this.current += ms;
  }
}

/** Lambda functions by short name; records every invocation. */
export class FakeLambdas {
  readonly calls: { name: string; payload: unknown }[] = [];
  private readonly handlers = new Map<string, (payload: unknown) => unknown>();

  on(name: string, handler: (payload: unknown) => unknown): this {
    this.handlers.set(name, handler);
    return this;
  }

  readonly invoke: LambdaInvoker = async (functionName, payload) => {
    const name = functionName.startsWith(FUNCTION_ARN_PREFIX)
      ? functionName.slice(FUNCTION_ARN_PREFIX.length)
      : functionName;
    this.calls.push({ name, payload });
    const handler = this.handlers.get(name);
    if (!handler) throw new Error(`no fake Lambda named ${name}`);
    return handler(payload);
  };

  callsTo(name: string): unknown[] {
    return this.calls.filter((call) => call.name === name).map((call) => call.payload);
  }
}

export function temporaryDirectory(): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), 'local-sfn-test-'));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

export interface Harness {
  sfn: LocalStepFunctions;
  lambdas: FakeLambdas;
  clock: FakeClock | undefined;
  dataDir: string;
  arn: (machine?: string) => string;
  /** Starts an execution and returns its ARN. */
  start: (input?: unknown, name?: string, machine?: string) => Promise<string>;
  close: () => Promise<void>;
}

export async function openHarness(
  definitions: Record<string, object>,
  options: { fakeClock?: boolean; lambdas?: FakeLambdas; dataDir?: string } & Partial<
    Pick<LocalStepFunctionsOptions, 'compactAfterBytes' | 'retentionMs' | 'region' | 'accountId'>
  > = {},
): Promise<Harness> {
  const { fakeClock, lambdas: givenLambdas, dataDir: givenDataDir, ...engineOptions } = options;
  const directory = givenDataDir ? undefined : temporaryDirectory();
  const dataDir = givenDataDir ?? (directory?.path as string);
  const lambdas = givenLambdas ?? new FakeLambdas();
  const clock = fakeClock ? new FakeClock() : undefined;
  const sfn = await LocalStepFunctions.open({
    ...engineOptions,
    dataDir,
    stateMachines: Object.entries(definitions).map(([name, definition]) => ({ name, definition })),
    invokeLambda: lambdas.invoke,
    ...(clock ? { now: clock.now } : {}),
  });
  const firstMachine = Object.keys(definitions)[0] ?? 'machine';
  return {
    sfn,
    lambdas,
    clock,
    dataDir,
    arn: (machine = firstMachine) => sfn.stateMachineArn(machine),
    start: async (input = {}, name, machine = firstMachine) => {
      const started = await sfn.startExecution({
        stateMachineArn: sfn.stateMachineArn(machine),
        name,
        input: JSON.stringify(input),
      });
      return started.executionArn as string;
    },
    close: async () => {
      await sfn.close();
      directory?.remove();
    },
  };
}

export function sdkClient(endpoint: string): SFNClient {
  return new SFNClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    maxAttempts: 1,
  });
}

export async function historyOf(
  sfn: LocalStepFunctions,
  executionArn: string,
): Promise<HistoryEvent[]> {
  const { events } = await sfn.getExecutionHistory({ executionArn, maxResults: 1000 });
  return events ?? [];
}

export async function eventTypes(sfn: LocalStepFunctions, executionArn: string): Promise<string[]> {
  return (await historyOf(sfn, executionArn)).map((event) => event.type ?? '?');
}

/** The token a waitForTaskToken task handed to its Lambda function (field `token` of its payload). */
export function lastToken(lambdas: FakeLambdas, name: string, field = 'token'): string {
  const payload = lambdas.callsTo(name).at(-1) as Record<string, unknown> | undefined;
  const token = payload?.[field];
  if (typeof token !== 'string') throw new Error(`no token in the last call to ${name}`);
  return token;
}

export async function waitUntil(
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 5000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export const callbackTask = (fn: string, extra: object = {}) => ({
  Type: 'Task',
  Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
  Parameters: {
    FunctionName: functionArn(fn),
    Payload: { 'token.$': '$$.Task.Token', 'input.$': '$' },
  },
  ...extra,
});

export const invokeTask = (fn: string, extra: object = {}) => ({
  Type: 'Task',
  Resource: 'arn:aws:states:::lambda:invoke',
  Parameters: { FunctionName: functionArn(fn), 'Payload.$': '$' },
  ...extra,
});
