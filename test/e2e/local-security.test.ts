import {
  chmodSync,
  existsSync,
  lstatSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CountersignClient } from '../../sdk/src/index';
import {
  isLoopbackAddress,
  listeningSockets,
  newDataDir,
  outboxItems,
  processGroupMembers,
  rawRequest,
  removeDataDir,
  type StackProcess,
  startStack,
  until,
} from './harness';

/**
 * What `npm start` exposes (security issue #13): every socket it listens on is on loopback, every
 * server answers only requests addressed to its own loopback address (a page reached through DNS
 * rebinding sends its own host name), the data dir holding keys and review links is the user's
 * alone, and `local.json` appears once, complete, when the stack serves.
 */
let stack: StackProcess | undefined;
let dataDir: string | undefined;

afterAll(async () => {
  await stack?.stop();
  if (dataDir) removeDataDir(dataDir);
});

describe('npm start exposes nothing beyond the user', () => {
  it('listens on loopback only, checks Host everywhere, keeps its data private', async () => {
    dataDir = newDataDir();
    // A data dir left readable by others (as earlier versions made it), with a file in it.
    chmodSync(dataDir, 0o755);
    const earlier = path.join(dataDir, 'outbox.jsonl');
    writeFileSync(earlier, '', { mode: 0o644 });
    chmodSync(earlier, 0o644);

    // Every state of local.json seen while the stack starts.
    const settingsFile = path.join(dataDir, 'local.json');
    const seen: unknown[] = [];
    let starting = true;
    const watching = (async () => {
      while (starting) {
        if (existsSync(settingsFile)) {
          try {
            seen.push(JSON.parse(readFileSync(settingsFile, 'utf8')));
          } catch (error) {
            seen.push(`unreadable: ${String(error)}`);
          }
        }
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();
    stack = await startStack(dataDir).finally(() => {
      starting = false;
    });
    await watching;
    expect(seen.length).toBeGreaterThan(0);
    for (const state of seen) expect(state).toMatchObject({ url: stack.url });
    expect(lstatSync(settingsFile).mode & 0o777).toBe(0o600);

    // The API, DynamoDB Local, the engine and the SES, Slack and webhook stand-ins.
    const sockets = listeningSockets(processGroupMembers(stack.pid));
    expect(sockets.length).toBeGreaterThanOrEqual(6);
    for (const socket of sockets) {
      expect(isLoopbackAddress(socket.address), `${socket.address}:${socket.port}`).toBe(true);
    }

    for (const { port } of sockets) {
      const rebound = await rawRequest(`http://127.0.0.1:${port}/`, {
        method: 'POST',
        headers: { host: `attacker.example:${port}`, 'content-type': 'application/json' },
        body: '{}',
      });
      expect(rebound.status, `port ${port}`).toBe(403);
    }
    const apiPort = new URL(stack.url).port;
    for (const route of ['/healthz', '/_local/', '/_local/outbox', '/v1/intents']) {
      const rebound = await rawRequest(`${stack.url}${route}`, {
        headers: {
          host: `attacker.example:${apiPort}`,
          authorization: `Bearer ${stack.settings.api_keys.admin}`,
        },
      });
      expect(rebound.status, route).toBe(403);
      expect(JSON.parse(rebound.body)).toMatchObject({ error: { code: 'forbidden' } });
      const own = await rawRequest(`${stack.url}${route}`, {
        headers: {
          host: `localhost:${apiPort}`,
          authorization: `Bearer ${stack.settings.api_keys.admin}`,
        },
      });
      expect(own.status, route).not.toBe(403);
    }

    // A notice with its review link is written: to files no one else can read.
    const agent = new CountersignClient({
      baseUrl: stack.url,
      apiKey: stack.settings.api_keys.agent,
    });
    const id = await agent.sendIntent({
      intent_type: 'intent.private.v1',
      to_agent: 'agent://myorg/private',
      payload: { reviewer: 'cfo@company.com' },
      policy: { timeout: { after: '1h' } },
    });
    await until(
      async () =>
        (await outboxItems(stack as StackProcess)).some((item) => item.intent_id === id)
          ? true
          : undefined,
      30_000,
      'the notice',
    );
    const exposed = filesOpenToOthers(dataDir);
    expect(exposed).toEqual([]);
  }, 180_000);
});

/** Paths under `dir` that anyone but the owner may read, write or enter. */
function filesOpenToOthers(dir: string): string[] {
  const found: string[] = [];
  const visit = (current: string) => {
    if ((lstatSync(current).mode & 0o077) !== 0) found.push(current);
    for (const entry of readdirSync(current, { withFileTypes: true })) {
      const entryPath = path.join(current, entry.name);
      if (entry.isDirectory()) visit(entryPath);
      else if (entry.isFile() && (lstatSync(entryPath).mode & 0o077) !== 0) found.push(entryPath);
    }
  };
  visit(dir);
  return found;
}
