import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CountersignClient, type Intent } from '../../sdk/src/index';
import {
  freePort,
  newDataDir,
  removeDataDir,
  reviewerClients,
  type StackProcess,
  startStack,
  until,
} from './harness';

/**
 * `countersign mcp-gateway` in front of a small upstream MCP server (test/fixtures/mcp-upstream.ts,
 * which logs every call it receives): a call no rule matches passes straight through; a held
 * call waits for a person and reaches the upstream once approved, exactly once, with the
 * arguments as approved; a rejected or timed-out call never reaches it; the gateway outlives the
 * upstream crashing and the Countersign API restarting while a call waits.
 */
const ROOT = path.resolve(import.meta.dirname, '../..');
const REVIEWER = 'gateway-reviewer@company.com';
const GATEWAY_AGENT = 'agent://tests/mcp-gateway';

let stack: StackProcess;
let dataDir: string;
let port: number;
let logFile: string;
let configFile: string;
let gateway: Client;
const reviewerFor = reviewerClients(() => stack);
const reviewer = () => reviewerFor(REVIEWER);

interface LogEntry {
  pid: number;
  started?: boolean;
  environment?: string[];
  tool?: string;
  arguments?: Record<string, unknown>;
}
const upstreamLog = (): LogEntry[] =>
  existsSync(logFile)
    ? readFileSync(logFile, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as LogEntry)
    : [];
const callsOf = (tool: string) => upstreamLog().filter((entry) => entry.tool === tool);

const gatewayArgs = () => [
  '--import',
  'tsx',
  'sdk/src/cli/main.ts',
  'mcp-gateway',
  '--config',
  configFile,
];
const gatewayEnv = () => ({
  PATH: process.env.PATH ?? '',
  COUNTERSIGN_URL: stack.url,
  COUNTERSIGN_API_KEY: stack.settings.api_keys.agent,
});

const call = async (name: string, args: Record<string, unknown>, client = gateway) =>
  (await client.callTool({ name, arguments: args }, undefined, {
    timeout: 120_000,
  })) as CallToolResult;
const text = (result: CallToolResult) =>
  result.content.map((part) => (part.type === 'text' ? part.text : '')).join('');

/** The pending intent the gateway created for this subject, once it exists. */
async function heldIntent(subject: string): Promise<Intent> {
  const client = await reviewer();
  return until(
    async () =>
      (await client.listIntents({ status: 'pending', reviewer: 'me' })).items.find((intent) =>
        intent.summary.includes(subject),
      ),
    20_000,
    `the intent for "${subject}"`,
  );
}

beforeAll(async () => {
  dataDir = newDataDir();
  port = await freePort();
  stack = await startStack(dataDir, port);
  logFile = path.join(dataDir, 'upstream.jsonl');
  configFile = path.join(dataDir, 'gateway.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      upstream: {
        command: process.execPath,
        args: ['--import', 'tsx', 'test/fixtures/mcp-upstream.ts'],
        cwd: ROOT,
        env: { FIXTURE_LOG: logFile },
      },
      agent: GATEWAY_AGENT,
      rules: [
        {
          tools: ['send_*'],
          when: [{ pointer: '/to', op: 'matches', value: '*@slow.example' }],
          reviewers: [REVIEWER],
          wait_timeout_seconds: 2,
        },
        {
          tools: ['send_*'],
          when: [{ pointer: '/to', op: 'matches', value: '*@edit.example' }],
          reviewers: [REVIEWER],
          summary: 'Email {to}: {subject}',
          editable: ['/subject'],
        },
        {
          tools: ['send_*'],
          reviewers: [REVIEWER],
          summary: 'Email {to}: {subject}',
        },
      ],
    }),
  );
  gateway = new Client({ name: 'e2e-gateway', version: '1.0.0' });
  await gateway.connect(
    new StdioClientTransport({
      command: process.execPath,
      args: gatewayArgs(),
      cwd: ROOT,
      env: gatewayEnv(),
      stderr: 'pipe',
    }),
  );
}, 120_000);

afterAll(async () => {
  await gateway?.close().catch(() => undefined);
  await stack?.stop();
  if (dataDir) removeDataDir(dataDir);
});

describe('countersign mcp-gateway', () => {
  it("exposes the upstream's tools unchanged", async () => {
    const tools = (await gateway.listTools()).tools;
    expect(tools.map((tool) => tool.name).sort()).toEqual(['lookup', 'send_email']);
    const send = tools.find((tool) => tool.name === 'send_email');
    expect(send?.description).toBe('Sends an email.');
    expect(send?.inputSchema.required).toEqual(['to', 'subject']);
  });

  it('launches the upstream without the Countersign key, with the env of its config', () => {
    const started = upstreamLog().find((entry) => entry.started);
    expect(started?.environment).toContain('FIXTURE_LOG');
    expect(started?.environment).toContain('PATH');
    expect(started?.environment?.filter((name) => name.startsWith('COUNTERSIGN_'))).toEqual([]);
  });

  it('passes a call no rule matches straight through', async () => {
    const result = await call('lookup', { query: 'llama' });
    expect(text(result)).toBe('found llama');
    expect(callsOf('lookup').map((entry) => entry.arguments)).toContainEqual({ query: 'llama' });
  });

  it('holds a matching call until a person approves, then sends it upstream once', async () => {
    const args = { to: 'bob@company.com', subject: 'Quarterly numbers', body: 'attached' };
    const pending = call('send_email', args);
    const intent = await heldIntent('Quarterly numbers');
    expect(intent.summary).toBe('Email bob@company.com: Quarterly numbers');
    expect(intent.payload).toEqual(args);
    expect(intent.to_agent).toBe(GATEWAY_AGENT);
    expect(callsOf('send_email')).toEqual([]);
    await (await reviewer()).approve(intent.id, 'go');
    const result = await pending;
    expect(result.isError).toBeFalsy();
    expect(text(result)).toBe('sent to bob@company.com: Quarterly numbers');
    expect(callsOf('send_email').map((entry) => entry.arguments)).toEqual([args]);
  });

  it('approved with an edited subject → upstream receives edited args exactly once', async () => {
    const args = { to: 'ann@edit.example', subject: 'Draft: price list', body: 'attached' };
    const pending = call('send_email', args);
    const intent = await heldIntent('Draft: price list');
    expect(intent.editable).toEqual(['/subject']);
    await (await reviewer()).decide(intent.id, {
      outcome: 'approve',
      edits: { '/subject': 'Price list 2027' },
    });
    const result = await pending;
    expect(result.isError).toBeFalsy();
    expect(text(result)).toBe('sent to ann@edit.example: Price list 2027');
    const sent = callsOf('send_email').filter((entry) => entry.arguments?.to === args.to);
    expect(sent.map((entry) => entry.arguments)).toEqual([{ ...args, subject: 'Price list 2027' }]);
  });

  it("never sends a rejected call, and says the reviewer's reason", async () => {
    const pending = call('send_email', { to: 'all@company.com', subject: 'Layoffs draft' });
    const intent = await heldIntent('Layoffs draft');
    await (await reviewer()).reject(intent.id, 'not before the board meets');
    const result = await pending;
    expect(result.isError).toBe(true);
    expect(text(result)).toMatch(
      /REJECTED by gateway-reviewer@company.com: "not before the board meets"/,
    );
    expect(
      callsOf('send_email').filter((entry) => entry.arguments?.subject === 'Layoffs draft'),
    ).toEqual([]);
  });

  it('refuses a call nobody decides in time, withdraws its intent, and sends nothing', async () => {
    const result = await call('send_email', { to: 'x@slow.example', subject: 'Too slow' });
    expect(result.isError).toBe(true);
    expect(text(result)).toMatch(/Nobody decided within 2 s/);
    const id = /(int_[0-9A-Z]+)/.exec(text(result))?.[1] ?? '';
    const admin = new CountersignClient({
      baseUrl: stack.url,
      apiKey: stack.settings.api_keys.admin,
    });
    expect((await admin.getIntent(id)).status).toBe('cancelled');
    expect(
      callsOf('send_email').filter((entry) => entry.arguments?.subject === 'Too slow'),
    ).toEqual([]);
  });

  it('withdraws the intent when the MCP client cancels a held call', async () => {
    const controller = new AbortController();
    const pending = gateway.callTool(
      { name: 'send_email', arguments: { to: 'c@company.com', subject: 'Never mind' } },
      undefined,
      { signal: controller.signal, timeout: 120_000 },
    );
    const intent = await heldIntent('Never mind');
    controller.abort();
    await expect(pending).rejects.toThrow();
    const admin = new CountersignClient({
      baseUrl: stack.url,
      apiKey: stack.settings.api_keys.admin,
    });
    const cancelled = await until(
      async () => {
        const now = await admin.getIntent(intent.id);
        return now.status === 'cancelled' ? now : undefined;
      },
      20_000,
      'the intent to be withdrawn',
    );
    expect(cancelled.decision?.comment).toMatch(/cancelled the call/);
    expect(
      callsOf('send_email').filter((entry) => entry.arguments?.subject === 'Never mind'),
    ).toEqual([]);
  });

  it('survives the upstream crashing: the next calls start it again', async () => {
    const running = upstreamLog()
      .filter((entry) => entry.started)
      .at(-1);
    expect(running).toBeDefined();
    process.kill(running?.pid ?? 0, 'SIGKILL');
    // A call racing the crash may fail (with a tool error or an MCP error); later ones work.
    const answered = await until(
      async () => {
        try {
          const result = await call('lookup', { query: 'after crash' });
          return result.isError ? undefined : result;
        } catch {
          return undefined;
        }
      },
      30_000,
      'a lookup after the upstream crashed',
    );
    expect(text(answered)).toBe('found after crash');
    const restarted = upstreamLog()
      .filter((entry) => entry.started)
      .at(-1);
    expect(restarted?.pid).not.toBe(running?.pid);
  });

  it('keeps waiting through a Countersign API restart, then sends the approved call', async () => {
    const args = { to: 'ops@company.com', subject: 'Restart survivor' };
    const pending = call('send_email', args);
    const intent = await heldIntent('Restart survivor');
    await stack.stop();
    stack = await startStack(dataDir, port);
    await (await reviewer()).approve(intent.id, 'ok after restart');
    const result = await pending;
    expect(text(result)).toBe('sent to ops@company.com: Restart survivor');
    expect(
      callsOf('send_email')
        .filter((entry) => entry.arguments?.subject === 'Restart survivor')
        .map((entry) => entry.arguments),
    ).toEqual([args]);
  }, 180_000);
});

describe('countersign mcp-gateway --port', () => {
  let child: ChildProcess | undefined;
  let httpUrl: string;
  afterAll(() => {
    if (child?.exitCode === null) child.kill('SIGTERM');
  });

  it('serves Streamable HTTP on 127.0.0.1 with the same rules', async () => {
    child = spawn(process.execPath, [...gatewayArgs(), '--port', '0'], {
      cwd: ROOT,
      env: gatewayEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    const url = await until(
      () => /serving (http:\/\/127\.0\.0\.1:\d+\/mcp)/.exec(stderr)?.[1],
      60_000,
      'the gateway to listen',
    );
    httpUrl = url;
    const client = new Client({ name: 'e2e-gateway-http', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(url)));
    expect(text(await call('lookup', { query: 'over http' }, client))).toBe('found over http');
    const pending = call('send_email', { to: 'http@company.com', subject: 'Over HTTP' }, client);
    const intent = await heldIntent('Over HTTP');
    await (await reviewer()).reject(intent.id, 'no');
    expect(text(await pending)).toMatch(/REJECTED.*"no"/);
    await client.close();
  }, 120_000);

  it('connects to an upstream by URL (here, the gateway above), with rules on arguments', async () => {
    const chained = path.join(dataDir, 'chained.json');
    writeFileSync(
      chained,
      JSON.stringify({
        upstream: { url: httpUrl },
        rules: [
          {
            tools: ['look*'],
            when: [{ pointer: '/query', op: 'eq', value: 'held' }],
            reviewers: [REVIEWER],
          },
        ],
      }),
    );
    const client = new Client({ name: 'e2e-gateway-chained', version: '1.0.0' });
    await client.connect(
      new StdioClientTransport({
        command: process.execPath,
        args: ['--import', 'tsx', 'sdk/src/cli/main.ts', 'mcp-gateway', '--config', chained],
        cwd: ROOT,
        env: gatewayEnv(),
        stderr: 'pipe',
      }),
    );
    try {
      expect(text(await call('lookup', { query: 'free' }, client))).toBe('found free');
      const pending = call('lookup', { query: 'held' }, client);
      const intent = await heldIntent('Call lookup: query="held"');
      expect(callsOf('lookup').filter((entry) => entry.arguments?.query === 'held')).toEqual([]);
      await (await reviewer()).approve(intent.id);
      expect(text(await pending)).toBe('found held');
    } finally {
      await client.close();
    }
  }, 120_000);
});
