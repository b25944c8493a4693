import * as path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CountersignClient } from '../../sdk/src/index';
import {
  newDataDir,
  removeDataDir,
  reviewerClients,
  type StackProcess,
  startStack,
} from './harness';

/**
 * The MCP server of the contract, with the real MCP SDK client: over Streamable HTTP at /mcp on
 * the local stack, and over stdio through `countersign mcp` (which carries the same server's
 * messages). An agent asks, a reviewer decides (through the API or the reviewer tools), the
 * agent reads the decision; bad arguments, unknown intents and the wrong role are MCP errors or
 * tool errors, and the server keeps answering.
 */
const ROOT = path.resolve(import.meta.dirname, '../..');
const REVIEWER = 'mcp-cfo@company.com';

let stack: StackProcess;
let dataDir: string;
let reviewerKey: string;
let reviewerApi: CountersignClient;
const open: Client[] = [];

async function httpClient(key: string | undefined): Promise<Client> {
  const client = new Client({ name: 'e2e', version: '1.0.0' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${stack.url}/mcp`), {
      requestInit: { headers: key ? { Authorization: `Bearer ${key}` } : {} },
    }),
  );
  open.push(client);
  return client;
}

async function stdioClient(key: string): Promise<Client> {
  const client = new Client({ name: 'e2e-stdio', version: '1.0.0' });
  await client.connect(
    new StdioClientTransport({
      command: process.execPath,
      args: ['--import', 'tsx', 'sdk/src/cli/main.ts', 'mcp'],
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', COUNTERSIGN_URL: stack.url, COUNTERSIGN_API_KEY: key },
      stderr: 'pipe',
    }),
  );
  open.push(client);
  return client;
}

const call = async (client: Client, name: string, args: Record<string, unknown>) =>
  (await client.callTool({ name, arguments: args })) as CallToolResult;
const text = (result: CallToolResult) =>
  result.content.map((part) => (part.type === 'text' ? part.text : '')).join('');
const structured = (result: CallToolResult) =>
  result.structuredContent as {
    intent_id: string;
    status: string;
    decision?: { outcome: string; by: string; comment: string | null } | null;
  };

beforeAll(async () => {
  dataDir = newDataDir();
  stack = await startStack(dataDir);
  const admin = new CountersignClient({
    baseUrl: stack.url,
    apiKey: stack.settings.api_keys.admin,
  });
  reviewerKey = (await admin.createKey({ role: 'reviewer', principal: REVIEWER })).key;
  reviewerApi = await reviewerClients(() => stack)(REVIEWER);
}, 120_000);

afterAll(async () => {
  await Promise.all(open.map((client) => client.close().catch(() => undefined)));
  await stack?.stop();
  if (dataDir) removeDataDir(dataDir);
});

const ask = (client: Client, extra: Record<string, unknown> = {}) =>
  call(client, 'request_approval', {
    summary: 'Refund $40 to order 1182',
    payload: { order: 1182, amount: 40 },
    reviewers: [REVIEWER],
    wait_seconds: 0,
    ...extra,
  });

describe.each([
  ['Streamable HTTP at /mcp', (key: string) => httpClient(key)],
  ['stdio via countersign mcp', (key: string) => stdioClient(key)],
])('MCP over %s', (_transport, connect) => {
  let agent: Client;
  let reviewer: Client;
  beforeAll(async () => {
    agent = await connect(stack.settings.api_keys.agent);
    reviewer = await connect(reviewerKey);
  }, 60_000);

  it('lists the agent tools for an agent key and the reviewer tools for a reviewer key', async () => {
    const agentTools = (await agent.listTools()).tools;
    expect(agentTools.map((tool) => tool.name).sort()).toEqual([
      'cancel_approval',
      'get_approval',
      'request_approval',
    ]);
    const request = agentTools.find((tool) => tool.name === 'request_approval');
    expect(request?.inputSchema.required).toEqual(['summary']);
    expect(request?.description).toMatch(/get_approval/);
    expect(request?.description).toMatch(/rejected/);
    expect((await reviewer.listTools()).tools.map((tool) => tool.name).sort()).toEqual([
      'decide_approval',
      'list_pending_approvals',
    ]);
  });

  it('requests an approval, a reviewer approves through the API, get_approval returns the decision', async () => {
    const asked = await ask(agent);
    expect(asked.isError).toBeFalsy();
    const { intent_id: id, status } = structured(asked);
    expect(status).toBe('pending');
    expect(structured(asked)).not.toHaveProperty('decision');
    expect(text(asked)).toMatch(/pending.*get_approval/);

    // get_approval holds until the decision, which comes while it waits.
    const waiting = call(agent, 'get_approval', { intent_id: id, wait_seconds: 20 });
    const started = Date.now();
    await reviewerApi.approve(id, 'fine');
    const got = await waiting;
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(structured(got)).toMatchObject({
      intent_id: id,
      status: 'approved',
      decision: { outcome: 'approved', by: REVIEWER, comment: 'fine' },
    });
    expect(text(got)).toMatch(/APPROVED by mcp-cfo@company.com: "fine"/);
  });

  it('the reviewer tools list the pending request and reject it; the agent reads the reason', async () => {
    const { intent_id: id } = structured(await ask(agent));
    const listed = await call(reviewer, 'list_pending_approvals', {});
    const items = (listed.structuredContent as { items: { intent_id: string; summary: string }[] })
      .items;
    expect(items).toContainEqual(
      expect.objectContaining({ intent_id: id, summary: 'Refund $40 to order 1182' }),
    );
    const decided = await call(reviewer, 'decide_approval', {
      intent_id: id,
      outcome: 'reject',
      comment: 'order already refunded',
    });
    expect(structured(decided)).toMatchObject({ status: 'rejected' });
    const got = await call(agent, 'get_approval', { intent_id: id, wait_seconds: 0 });
    expect(structured(got).decision).toMatchObject({
      outcome: 'rejected',
      comment: 'order already refunded',
    });
    expect(text(got)).toMatch(/REJECTED.*order already refunded.*Do not perform/);
  });

  it('decide_approval with edits approves the edited payload; get_approval carries it', async () => {
    const { intent_id: id } = structured(await ask(agent, { editable: ['/amount'] }));
    const listed = await call(reviewer, 'list_pending_approvals', {});
    expect(
      (listed.structuredContent as { items: { intent_id: string; editable?: string[] }[] }).items,
    ).toContainEqual(expect.objectContaining({ intent_id: id, editable: ['/amount'] }));
    const wrongType = await call(reviewer, 'decide_approval', {
      intent_id: id,
      outcome: 'approve',
      edits: { '/amount': 'thirty' },
    });
    expect(wrongType.isError).toBe(true);
    expect(text(wrongType)).toContain('edits./amount');
    const decided = await call(reviewer, 'decide_approval', {
      intent_id: id,
      outcome: 'approve',
      edits: { '/amount': 30 },
    });
    expect(structured(decided)).toMatchObject({ status: 'approved' });
    const got = await call(agent, 'get_approval', { intent_id: id, wait_seconds: 0 });
    expect(got.structuredContent).toMatchObject({
      status: 'approved',
      approved_payload: { order: 1182, amount: 30 },
    });
    expect(text(got)).toContain('using approved_payload exactly');
  });

  it('cancels a pending request, and a second cancel is a tool error, not a crash', async () => {
    const { intent_id: id } = structured(await ask(agent));
    const cancelled = await call(agent, 'cancel_approval', { intent_id: id, reason: 'not needed' });
    expect(structured(cancelled)).toMatchObject({
      status: 'cancelled',
      decision: { outcome: 'cancelled' },
    });
    const again = await call(agent, 'cancel_approval', { intent_id: id });
    expect(again.isError).toBe(true);
    expect(text(again)).toMatch(/^not_pending/);
  });

  it('bad arguments, unknown intents and the wrong role are MCP or tool errors', async () => {
    const outcome = (
      promise: Promise<unknown>,
    ): Promise<{ error?: Error; result?: CallToolResult }> =>
      promise.then(
        (result) => ({ result: result as CallToolResult }),
        (error: Error) => ({ error }),
      );
    const missingSummary = await outcome(call(agent, 'request_approval', { payload: {} }));
    expect(missingSummary.error?.message ?? text(missingSummary.result as CallToolResult)).toMatch(
      /summary/,
    );
    const tooLong = await outcome(
      call(agent, 'get_approval', { intent_id: 'int_x', wait_seconds: 99 }),
    );
    expect(tooLong.error?.message ?? text(tooLong.result as CallToolResult)).toMatch(
      /wait_seconds/,
    );
    const unknown = await call(agent, 'get_approval', { intent_id: 'int_nope', wait_seconds: 0 });
    expect(unknown.isError).toBe(true);
    expect(text(unknown)).toMatch(/^not_found/);
    const noReviewer = await call(agent, 'request_approval', { summary: 'x', wait_seconds: 0 });
    expect(noReviewer.isError).toBe(true);
    expect(text(noReviewer)).toMatch(/reviewer/);
    // A tool of another role is not there for this key: the SDK's "not found" tool error.
    for (const [client, name, args] of [
      [reviewer, 'request_approval', { summary: 'x' }],
      [agent, 'decide_approval', { intent_id: 'int_x', outcome: 'approve' }],
    ] as const) {
      const wrongRole = await outcome(call(client, name, args));
      expect(wrongRole.error?.message ?? text(wrongRole.result as CallToolResult)).toMatch(
        new RegExp(`${name} not found`),
      );
    }
    // Still serving.
    expect((await agent.listTools()).tools).toHaveLength(3);
  });
});

describe('/mcp over HTTP', () => {
  it('refuses a missing key with 401, and GET (no stream to open) with 405', async () => {
    await expect(httpClient(undefined)).rejects.toThrow(/unauthenticated/);
    const get = await fetch(`${stack.url}/mcp`, {
      headers: {
        Authorization: `Bearer ${stack.settings.api_keys.agent}`,
        Accept: 'text/event-stream',
      },
    });
    expect(get.status).toBe(405);
  });

  it('answers malformed JSON-RPC with a JSON-RPC error, never a 5xx', async () => {
    const post = (body: string) =>
      fetch(`${stack.url}/mcp`, {
        method: 'POST',
        headers: {
          Authorization: `Bearer ${stack.settings.api_keys.agent}`,
          'Content-Type': 'application/json',
          Accept: 'application/json, text/event-stream',
        },
        body,
      });
    for (const body of ['{not json', '{"jsonrpc":"2.0","id":1,"method":"nope"}', '{}', '"x"']) {
      const response = await post(body);
      const answer = await response.text();
      expect(response.status, `${body} -> ${answer}`).toBeLessThan(500);
      expect((JSON.parse(answer) as { error?: { code: number } }).error?.code, body).toBeLessThan(
        0,
      );
    }
    // An empty batch holds no request, so there is nothing to answer: 202, as for notifications.
    expect((await post('[]')).status).toBe(202);
  });
});
