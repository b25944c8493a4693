import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../sdk/src/cli/context';
import { run } from '../../sdk/src/cli/run';
import type { CountersignClient, Intent } from '../../sdk/src/index';
import {
  approvalInterceptor,
  matchingRule,
  parseGatewayConfig,
  summaryOf,
} from '../../sdk/src/mcp/index';

/**
 * The gateway's configuration and rules without processes: what a config file may say (and the
 * errors that name what is wrong), which calls a rule holds, and that an approval forwards the
 * arguments as approved (the reviewer's edits, `approved_payload`) while the original arguments
 * go nowhere. The whole gateway runs against real processes in test/e2e/mcp-gateway.test.ts.
 */
const upstream = { command: 'node', args: ['server.js'] };
const config = (extra: Record<string, unknown>) =>
  JSON.stringify({ upstream, rules: [], ...extra });

describe('parseGatewayConfig', () => {
  it('accepts a command or a URL upstream and fills the defaults', () => {
    const parsed = parseGatewayConfig(config({ rules: [{ tools: ['send_*'] }] }));
    expect(parsed).toMatchObject({ upstream, agent: 'mcp-gateway', waitTimeoutSeconds: 3600 });
    expect(
      parseGatewayConfig(config({ upstream: { url: 'http://127.0.0.1:9/mcp' } })).upstream,
    ).toEqual({
      url: 'http://127.0.0.1:9/mcp',
    });
  });

  it.each([
    ['not json', '{', /not valid JSON/],
    ['an unknown top-level key', config({ rule: [] }), /rule: unknown key/],
    [
      'a typo in a rule',
      config({ rules: [{ tools: ['x'], wen: [] }] }),
      /rules\.0\.wen: unknown key/,
    ],
    [
      'a bad glob',
      config({ rules: [{ tools: ['send_[a-z]'] }] }),
      /rules\.0\.tools\.0: is not a tool name glob/,
    ],
    ['no tools', config({ rules: [{ tools: [] }] }), /rules\.0\.tools/],
    [
      'an unknown operator',
      config({ rules: [{ tools: ['x'], when: [{ pointer: '/a', op: 'like', value: 1 }] }] }),
      /rules\.0\.when\.0\.op/,
    ],
    [
      'a condition without its value',
      config({ rules: [{ tools: ['x'], when: [{ pointer: '/a', op: 'eq' }] }] }),
      /needs a value/,
    ],
    [
      'a pointer without its slash',
      config({ rules: [{ tools: ['x'], editable: ['subject'] }] }),
      /JSON Pointer/,
    ],
    ['an upstream with neither', config({ upstream: { cmd: 'x' } }), /upstream: must be/],
    [
      'a non-http URL',
      config({ upstream: { url: 'file:///etc/passwd' } }),
      /upstream\.url: Invalid URL/,
    ],
  ])('refuses %s, naming the field', (_case, text, message) => {
    expect(() => parseGatewayConfig(text, 'gateway.json')).toThrow(message);
  });
});

describe('matchingRule', () => {
  const { rules } = parseGatewayConfig(
    config({
      rules: [
        { tools: ['refund'], when: [{ pointer: '/amount', op: 'gt', value: 100 }] },
        { tools: ['send_?mail', 'delete_*'] },
        { tools: ['post'], when: [{ pointer: '/channel', op: 'in', value: ['#general'] }] },
      ],
    }),
  );
  it.each([
    ['refund', { amount: 500 }, 0],
    ['refund', { amount: 50 }, undefined],
    ['refund', {}, undefined],
    ['send_email', {}, 1],
    ['send_mail', {}, undefined],
    ['delete_everything', {}, 1],
    ['post', { channel: '#general' }, 2],
    ['post', { channel: '#random' }, undefined],
    ['lookup', {}, undefined],
  ])('%s %j -> rule %s', (tool, args, index) => {
    const rule = matchingRule(rules, tool, args);
    expect(rule === undefined ? undefined : rules.indexOf(rule)).toBe(index);
  });
});

describe('summaryOf', () => {
  it('fills a template, else lists the arguments', () => {
    expect(
      summaryOf({ tools: ['x'], summary: 'Email {to}: {subject} ({missing})' }, 'send', {
        to: 'a@b.c',
        subject: 'Hi',
      }),
    ).toBe('Email a@b.c: Hi ({missing})');
    expect(summaryOf({ tools: ['x'] }, 'send', { to: 'a@b.c', n: 2 })).toBe(
      'Call send: to="a@b.c", n=2',
    );
  });
});

describe('approvalInterceptor', () => {
  const decidedWith = (intent: Partial<Intent> & Record<string, unknown>) => {
    const created: unknown[] = [];
    const client = {
      createIntent: async (request: unknown) => {
        created.push(request);
        return { id: 'int_1', status: 'pending' } as Intent;
      },
      waitFor: async () => ({ id: 'int_1', ...intent }) as Intent,
      cancel: async () => ({}) as Intent,
    } as unknown as CountersignClient;
    return { client, created };
  };
  const gateway = parseGatewayConfig(
    config({ agent: 'agent://x', rules: [{ tools: ['send_email'], editable: ['/subject'] }] }),
  );
  const ok: CallToolResult = { content: [{ type: 'text', text: 'sent' }] };

  it('forwards the approved payload, with the editable pointers asked for', async () => {
    const { client, created } = decidedWith({
      status: 'approved',
      approved_payload: { to: 'a@b.c', subject: 'Edited' },
    });
    const forwarded: unknown[] = [];
    const result = await approvalInterceptor(gateway, client)(
      { name: 'send_email', arguments: { to: 'a@b.c', subject: 'Original' } },
      new AbortController().signal,
      async (call) => {
        forwarded.push(call.arguments);
        return ok;
      },
    );
    expect(result).toBe(ok);
    expect(forwarded).toEqual([{ to: 'a@b.c', subject: 'Edited' }]);
    expect(created).toEqual([
      expect.objectContaining({
        to_agent: 'agent://x',
        payload: { to: 'a@b.c', subject: 'Original' },
        editable: ['/subject'],
      }),
    ]);
  });

  it('refuses a cancelled request without forwarding, with who and why', async () => {
    const { client } = decidedWith({
      status: 'cancelled',
      decision: { outcome: 'cancelled', by: 'admin', at: '', comment: 'duplicate', channel: 'api' },
    } as Partial<Intent>);
    const result = await approvalInterceptor(gateway, client)(
      { name: 'send_email', arguments: {} },
      new AbortController().signal,
      async () => {
        throw new Error('must not be forwarded');
      },
    );
    expect(result.isError).toBe(true);
    expect(JSON.stringify(result.content)).toMatch(/cancelled by admin: \\"duplicate\\"/);
  });
});

describe('countersign mcp-gateway at start-up', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'countersign-gateway-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function gatewayWith(configText: string): Promise<{ code: number; stderr: string }> {
    const file = path.join(dir, `config-${Math.random()}.json`);
    writeFileSync(file, configText);
    let stderr = '';
    const code = await run(['mcp-gateway', '--config', file], {
      stdout: () => undefined,
      stderr: (text) => {
        stderr += text;
      },
      env: { COUNTERSIGN_URL: 'http://127.0.0.1:9', COUNTERSIGN_API_KEY: 'csk_test' },
      signal: new AbortController().signal,
      readStdin: async () => '',
      now: () => new Date(),
    });
    return { code, stderr };
  }

  it('stops with exit 1 and every problem of an invalid config', async () => {
    const { code, stderr } = await gatewayWith(config({ rules: [{ tools: ['a b'], wen: [] }] }));
    expect(code).toBe(EXIT.USAGE);
    expect(stderr).toMatch(/rules\.0\.tools\.0: is not a tool name glob/);
    expect(stderr).toMatch(/rules\.0\.wen: unknown key/);
  });

  it.each([
    ['a command that does not exist', { command: path.join(dir, 'no-such-server') }],
    ['a URL nothing listens on', { url: 'http://127.0.0.1:9/mcp' }],
  ])('stops with exit 6 and says so for %s', async (_case, target) => {
    const { code, stderr } = await gatewayWith(config({ upstream: target }));
    expect(code).toBe(EXIT.UNAVAILABLE);
    expect(stderr).toMatch(/upstream MCP server .* is unreachable/);
  });
});

describe('countersign mcp-gateway over stdio', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'countersign-gateway-pipe-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('answers what a client wrote before closing stdin, then exits', async () => {
    const root = path.resolve(import.meta.dirname, '../..');
    const file = path.join(dir, 'gateway.json');
    writeFileSync(
      file,
      config({
        upstream: {
          command: process.execPath,
          args: ['--import', 'tsx', 'test/fixtures/mcp-upstream.ts'],
          cwd: root,
        },
      }),
    );
    const messages = [
      {
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: {
          protocolVersion: '2025-06-18',
          capabilities: {},
          clientInfo: { name: 't', version: '1' },
        },
      },
      { jsonrpc: '2.0', method: 'notifications/initialized' },
      {
        jsonrpc: '2.0',
        id: 2,
        method: 'tools/call',
        params: { name: 'lookup', arguments: { query: 'q' } },
      },
    ];
    const stdout = await new Promise<string>((resolve, reject) => {
      const child = execFile(
        process.execPath,
        ['--import', 'tsx', 'sdk/src/cli/main.ts', 'mcp-gateway', '--config', file],
        {
          cwd: root,
          timeout: 60_000,
          env: {
            PATH: process.env.PATH ?? '',
            COUNTERSIGN_URL: 'http://127.0.0.1:9',
            COUNTERSIGN_API_KEY: 'csk_x',
          },
        },
        (error, out) => (error ? reject(error) : resolve(out)),
      );
      child.stdin?.end(messages.map((message) => `${JSON.stringify(message)}\n`).join(''));
    });
    const answers = stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { id: number; result: unknown });
    expect(answers.find((answer) => answer.id === 2)?.result).toEqual({
      content: [{ type: 'text', text: 'found q' }],
    });
  }, 90_000);
});
