import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Intent } from '../../sdk/src/index.js';

/** What the server saw, for the test to assert on. */
export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: string;
}

export type Handler = (request: RecordedRequest, response: ServerResponse) => void | Promise<void>;

/**
 * A real HTTP server on 127.0.0.1 that each test scripts, so the SDK is exercised through Node's
 * real fetch: sockets, dropped connections, refused connections and restarts included.
 */
export class ScriptedServer {
  readonly requests: RecordedRequest[] = [];
  readonly handlerErrors: unknown[] = [];
  #server: Server;
  #handler: Handler;
  #port: number;

  private constructor(server: Server, handler: Handler, port: number) {
    this.#server = server;
    this.#handler = handler;
    this.#port = port;
  }

  /** Starts on `port` (0: any free port). */
  static async start(handler: Handler, port = 0): Promise<ScriptedServer> {
    const scripted = new ScriptedServer(createServer(), handler, port);
    await scripted.#listen();
    return scripted;
  }

  get port(): number {
    return this.#port;
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  /** The requests whose path ends with `suffix`. */
  requestsTo(suffix: string): RecordedRequest[] {
    return this.requests.filter((request) => request.path.endsWith(suffix));
  }

  /** Stops listening and cuts every open connection, in-flight requests included. */
  async stop(): Promise<void> {
    if (!this.#server.listening) return;
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeAllConnections();
    await closed;
  }

  /** Listens again on the same port, optionally with a new script. */
  async restart(handler?: Handler): Promise<void> {
    await this.stop();
    if (handler) this.#handler = handler;
    this.#server = createServer();
    await this.#listen();
  }

  async #listen(): Promise<void> {
    this.#server.on('request', (request, response) => {
      void this.#handle(request, response);
    });
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(this.#port, '127.0.0.1', () => resolve());
    });
    this.#port = (this.#server.address() as AddressInfo).port;
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const recorded: RecordedRequest = {
      method: request.method ?? '',
      path: url.pathname,
      query: url.searchParams,
      headers: request.headers,
      body: Buffer.concat(chunks).toString('utf8'),
    };
    this.requests.push(recorded);
    try {
      await this.#handler(recorded, response);
    } catch (error) {
      this.handlerErrors.push(error);
      if (!response.headersSent) response.writeHead(599).end();
    }
  }
}

export function sendJson(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  // The test may have stopped the server while this request was held.
  if (response.destroyed || response.writableEnded) return;
  response.writeHead(status, { 'Content-Type': 'application/json', ...headers });
  response.end(JSON.stringify(body));
}

export function sendError(
  response: ServerResponse,
  status: number,
  code: string,
  message: string,
  extra: { details?: unknown[]; intent?: Intent; headers?: Record<string, string> } = {},
): void {
  const { headers, ...rest } = extra;
  sendJson(response, status, { error: { code, message, details: [], ...rest } }, headers);
}

/** Cuts the connection without an answer, as a crashing server or a dropped link would. */
export function dropConnection(response: ServerResponse): void {
  response.socket?.destroy();
}

/** Resolves after `ms`, or early when the client goes away (so held requests end with the test). */
export function hold(response: ServerResponse, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    response.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Polls `condition` until it holds, for tests that act on what the server has seen. */
export async function until(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export const AGENT = 'agent://myorg/production/report-generator';

export function makeIntent(overrides: Partial<Intent> = {}): Intent {
  return {
    id: 'int_01JDTEST',
    intent_type: 'intent.report.review_approval.v1',
    to_agent: AGENT,
    from_agent: AGENT,
    summary: 'Review approval for report',
    payload: { report: 'Q1 Financial Summary', pii_detected: false, reviewer: 'cfo@company.com' },
    status: 'pending',
    policy: {
      remind_after: [300, 1800],
      escalate: [],
      timeout: { after: 28_800, action: 'reject' },
      required_approvals: 1,
      steps: null,
      channels: ['email'],
    },
    recipients: ['cfo@company.com'],
    approvals: [],
    decision: null,
    callback_url: null,
    step: 0,
    created_at: '2026-11-24T09:00:00.000Z',
    updated_at: '2026-11-24T09:00:00.000Z',
    deadline_at: '2026-11-24T17:00:00.000Z',
    next_action_at: '2026-11-24T09:05:00.000Z',
    event_count: 2,
    last_event_hash: 'a'.repeat(64),
    ...overrides,
  };
}

export function approvedIntent(overrides: Partial<Intent> = {}): Intent {
  const at = '2026-11-24T09:03:00.000Z';
  return makeIntent({
    status: 'approved',
    approvals: [{ by: 'cfo@company.com', at, comment: 'ok', channel: 'email', step: 0 }],
    decision: { outcome: 'approved', by: 'cfo@company.com', at, comment: 'ok', channel: 'email' },
    updated_at: at,
    next_action_at: null,
    ...overrides,
  });
}

/** An injectable sleep that records each delay and returns at once. */
export function recordingSleep(): { sleep: (ms: number) => Promise<void>; delays: number[] } {
  const delays: number[] = [];
  return {
    delays,
    sleep: async (ms: number) => {
      delays.push(ms);
    },
  };
}
