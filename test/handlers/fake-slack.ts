import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A scripted Slack Web API on loopback for handler tests: records every call (method, arguments
 * with JSON-encoded fields decoded, the Authorization header) and answers from per-method
 * scripts, `{ ok: true }` by default, after `delayMs` when a script sets it (a slow Slack). The real `@slack/web-api` client talks to it through
 * `SLACK_API_URL`, so the tests cover the adapter too.
 */
export interface SlackCall {
  method: string;
  args: Record<string, unknown>;
  authorization: string | undefined;
}

type Script = (args: Record<string, unknown>) => {
  status?: number;
  headers?: Record<string, string>;
  body: unknown;
  delayMs?: number;
};

export interface FakeSlack {
  apiUrl: string;
  calls: SlackCall[];
  callsTo(method: string): SlackCall[];
  on(method: string, script: Script): void;
  reset(): void;
  close(): Promise<void>;
}

export async function startFakeSlack(): Promise<FakeSlack> {
  const calls: SlackCall[] = [];
  let scripts = new Map<string, Script>();
  const delayed = new Set<NodeJS.Timeout>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const method = (req.url ?? '').replace(/^\/api\//, '');
      const args: Record<string, unknown> = {};
      for (const [key, value] of new URLSearchParams(Buffer.concat(chunks).toString('utf8'))) {
        args[key] = /^[[{]/.test(value) ? JSON.parse(value) : value;
      }
      calls.push({ method, args, authorization: req.headers.authorization });
      const answer = scripts.get(method)?.(args) ?? { body: { ok: true } };
      const respond = () => {
        if (res.destroyed) return;
        res.writeHead(answer.status ?? 200, {
          'content-type': 'application/json',
          ...answer.headers,
        });
        res.end(JSON.stringify(answer.body));
      };
      if (!answer.delayMs) {
        respond();
        return;
      }
      const timer = setTimeout(() => {
        delayed.delete(timer);
        respond();
      }, answer.delayMs);
      delayed.add(timer);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    apiUrl: `http://127.0.0.1:${port}/api/`,
    calls,
    callsTo: (method) => calls.filter((call) => call.method === method),
    on: (method, script) => {
      scripts.set(method, script);
    },
    reset: () => {
      calls.length = 0;
      scripts = new Map();
      for (const timer of delayed) clearTimeout(timer);
      delayed.clear();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const timer of delayed) clearTimeout(timer);
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
