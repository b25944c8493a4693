import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CountersignClient, CountersignError } from '../../sdk/src/index';
import {
  dynamoDbLocalPid,
  newDataDir,
  removeDataDir,
  type StackProcess,
  startStack,
  until,
} from './harness';

/**
 * `npm start` supervises DynamoDB Local (issue #21): kill -9 of its JVM while intents wait and
 * creates are in flight, and the stack brings it back by itself on the same data. Meanwhile the
 * API answers 503 `unavailable` with Retry-After, never a 500; afterwards nothing acknowledged is
 * lost, the waiting agents resume, and every intent reaches its final state. A JVM that cannot
 * be brought back stops `npm start` with the reason and a non-zero exit.
 */
let stack: StackProcess | undefined;
let dataDir: string | undefined;
let binDir: string | undefined;

afterEach(async () => {
  await stack?.stop();
  stack = undefined;
  if (dataDir) removeDataDir(dataDir);
  if (binDir) rmSync(binDir, { recursive: true, force: true });
});

const body = (n: number, policy: Record<string, unknown>) => ({
  intent_type: 'intent.supervised.v1',
  to_agent: 'agent://myorg/supervised',
  payload: { n, reviewer: 'cfo@company.com' },
  policy,
});

/**
 * Raw answers during an outage (the API and the console's outbox; readiness apart): every
 * status seen, and the first 503 of the API as sent.
 */
function observe(url: string, headers: Record<string, string>) {
  const statuses: number[] = [];
  const readiness: number[] = [];
  let first503: { body: unknown; retryAfter: string | null } | undefined;
  let running = true;
  const done = (async () => {
    while (running) {
      const [read, ready, outbox] = await Promise.all([
        fetch(`${url}/v1/intents?limit=1`, { headers }),
        fetch(`${url}/healthz?ready=1`),
        fetch(`${url}/_local/outbox`, { headers }),
      ]);
      statuses.push(read.status, outbox.status);
      await outbox.arrayBuffer();
      readiness.push(ready.status);
      if (read.status === 503 && !first503) {
        first503 = { body: await read.json(), retryAfter: read.headers.get('retry-after') };
      } else await read.arrayBuffer();
      await ready.arrayBuffer();
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  })();
  return {
    statuses,
    readiness,
    first503: () => first503,
    stop: async () => {
      running = false;
      await done;
    },
  };
}

describe('npm start supervises DynamoDB Local', () => {
  it('restarts a killed JVM; 503s meanwhile, nothing acknowledged lost, waiters resume', async () => {
    dataDir = newDataDir();
    stack = await startStack(dataDir);
    const { agent: agentKey, admin: adminKey } = stack.settings.api_keys;
    // A patient client: the outage lasts as long as a JVM start on a busy machine.
    const agent = new CountersignClient({ baseUrl: stack.url, apiKey: agentKey, maxRetries: 30 });
    const admin = new CountersignClient({ baseUrl: stack.url, apiKey: adminKey });
    const { key: reviewerKey } = await admin.createKey({
      role: 'reviewer',
      principal: 'cfo@company.com',
    });
    const reviewer = new CountersignClient({ baseUrl: stack.url, apiKey: reviewerKey });
    const ready = await fetch(`${stack.url}/healthz?ready=1`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ ok: true, ready: true });

    const waiting = await Promise.all(
      Array.from({ length: 6 }, (_, n) => agent.sendIntent(body(n, { timeout: { after: '1h' } }))),
    );
    const waiters = waiting.map((id) => agent.waitFor(id, { timeoutMs: 180_000 }));
    const observer = observe(stack.url, { Authorization: `Bearer ${adminKey}` });

    // Creates in flight at the kill: four agents create one after another, and the JVM is killed
    // once the first few are acknowledged; each intent ends on its own (timeout), so each must
    // reach a final state without anyone deciding it.
    type Outcome = { id: string } | { error: unknown };
    const creates: Promise<Outcome>[] = [];
    let acknowledged = 0;
    let killedAt: number | undefined;
    let stopCreating = false;
    let sentBeforeKillAnsweredAfter = 0;
    const creator = async (worker: number) => {
      for (let n = 0; n < 10 && !stopCreating; n++) {
        const sentAt = Date.now();
        const outcome = agent
          .sendIntent(body(100 + worker * 10 + n, { timeout: { after: '10s' } }))
          .then(
            (id): Outcome => ({ id }),
            (error: unknown): Outcome => ({ error }),
          );
        creates.push(outcome);
        if ('id' in (await outcome)) acknowledged++;
        if (killedAt !== undefined && sentAt < killedAt) sentBeforeKillAnsweredAfter++;
      }
    };
    const creators = [0, 1, 2, 3].map(creator);
    await until(() => (acknowledged >= 4 ? true : undefined), 60_000, 'the first creates');
    killedAt = Date.now();
    process.kill(dynamoDbLocalPid(stack), 'SIGKILL');

    await until(
      () => (stack?.output().includes('DynamoDB Local is back') ? true : undefined),
      120_000,
      'DynamoDB Local to be restarted',
    );
    // Served again: an answer after the restart.
    await until(
      () => (observer.statuses.at(-1) === 200 ? true : undefined),
      30_000,
      'the API to answer again',
    );
    await observer.stop();
    stopCreating = true;
    await Promise.all(creators);
    // At least one create was sent before the kill and answered only after it.
    expect(sentBeforeKillAnsweredAfter).toBeGreaterThan(0);
    expect(stack.output()).toMatch(
      /DynamoDB Local exited with SIGKILL; .*Restarting it on the same data/,
    );

    // During the outage: 503 `unavailable` with Retry-After, never another 5xx.
    expect(observer.statuses).toContain(503);
    expect(observer.statuses.filter((status) => status >= 500 && status !== 503)).toEqual([]);
    expect(observer.first503()).toMatchObject({
      body: { error: { code: 'unavailable', details: [] } },
      retryAfter: expect.stringMatching(/^\d+$/),
    });
    expect(observer.readiness).toContain(503);
    expect(observer.readiness.filter((status) => status !== 200 && status !== 503)).toEqual([]);
    expect(observer.readiness.at(-1)).toBe(200);

    // Every create was acknowledged (the SDK retried the 503s), or failed with a 503 only.
    const results = await Promise.all(creates);
    for (const result of results) {
      if ('error' in result) {
        expect(result.error).toBeInstanceOf(CountersignError);
        expect((result.error as CountersignError).status).toBe(503);
      }
    }
    const created = results.flatMap((result) => ('id' in result ? [result.id] : []));
    expect(created.length).toBeGreaterThan(0);

    // Acknowledged before the kill: still there, still waiting; decided now, the waiters resume.
    for (const id of waiting) expect((await admin.getIntent(id)).status).toBe('pending');
    // A reviewer sees an intent once its first stage asked them: a stage task held by the
    // outage may run only now, and deciding before it is 404 (not asked yet), as designed.
    for (const id of waiting) {
      await until(
        () =>
          reviewer.getIntent(id).then(
            () => true,
            () => undefined,
          ),
        60_000,
        `${id} to be shown to its reviewer`,
      );
    }
    for (const id of waiting) await reviewer.decide(id, { outcome: 'approve' });
    for (const intent of await Promise.all(waiters)) expect(intent.status).toBe('approved');
    // Acknowledged during the outage: each times out on its own.
    const ended = await Promise.all(created.map((id) => agent.waitFor(id, { timeoutMs: 120_000 })));
    for (const intent of ended) expect(intent.status).toBe('timed_out');
  }, 300_000);

  it('stops with the reason and a non-zero exit when the JVM cannot be brought back', async () => {
    // `java` on PATH runs the real one while `allow` exists; then it is gone, as if uninstalled.
    binDir = mkdtempSync(path.join(tmpdir(), 'countersign-java-'));
    const allow = path.join(binDir, 'allow');
    writeFileSync(allow, '');
    const realJava = (process.env.PATH ?? '')
      .split(path.delimiter)
      .map((dir) => path.join(dir, 'java'))
      .find((candidate) => {
        try {
          return statSync(candidate).isFile();
        } catch {
          return false;
        }
      });
    expect(realJava).toBeDefined();
    const wrapper = path.join(binDir, 'java');
    writeFileSync(
      wrapper,
      `#!/bin/sh\nif [ -e '${allow}' ]; then exec '${realJava}' "$@"; fi\necho 'java: not installed' >&2\nexit 127\n`,
    );
    chmodSync(wrapper, 0o755);

    dataDir = newDataDir();
    stack = await startStack(dataDir, undefined, {
      PATH: `${binDir}${path.delimiter}${process.env.PATH ?? ''}`,
    });
    rmSync(allow);
    process.kill(dynamoDbLocalPid(stack), 'SIGKILL');

    const code = await stack.exited;
    expect(code).not.toBe(0);
    expect(code).not.toBeNull();
    const output = stack.output();
    expect(output).toContain('DynamoDB Local exited with SIGKILL');
    expect(output).toMatch(
      /Countersign stopped: DynamoDB Local could not be brought back after \d+ attempts/,
    );
    expect(output).toContain('java: not installed');
  }, 180_000);
});
