/**
 * A connection to an upstream MCP server that outlives the server: launched as a command (stdio)
 * or reached at a URL (Streamable HTTP). When the upstream exits or the connection drops, the
 * next request connects again (a fresh process for a command), so a crashed upstream costs the
 * calls in flight, never the proxy in front of it. Requests are never retried here: a tool call
 * that may have reached the upstream is not sent twice.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import {
  getDefaultEnvironment,
  StdioClientTransport,
} from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import {
  type CallToolRequest,
  type CallToolResult,
  ErrorCode,
  type ListToolsResult,
  McpError,
} from '@modelcontextprotocol/sdk/types.js';
import { SDK_VERSION } from '../version.js';

export type UpstreamTarget =
  | { command: string; args?: string[]; env?: Record<string, string>; cwd?: string }
  | { url: string; headers?: Record<string, string> };

/** How long one upstream tool call may take (the approval wait is not part of it). */
const CALL_TIMEOUT_MS = 10 * 60_000;

export class Upstream {
  #client: Promise<Client> | undefined;
  #live: Client | undefined;
  readonly #target: UpstreamTarget;
  readonly #describe: string;
  #instructions: string | undefined;

  constructor(target: UpstreamTarget) {
    this.#target = target;
    this.#describe =
      'url' in target ? target.url : [target.command, ...(target.args ?? [])].join(' ');
  }

  /** What the upstream is, for messages. */
  get description(): string {
    return this.#describe;
  }

  get instructions(): string | undefined {
    return this.#instructions;
  }

  /** Connects now (at start-up), so that an unreachable upstream is a clear error at once. */
  async connect(): Promise<void> {
    await this.#connected();
  }

  async listTools(cursor: string | undefined): Promise<ListToolsResult> {
    const client = await this.#connected();
    return this.#unavailableOnDrop(() => client.listTools(cursor === undefined ? {} : { cursor }));
  }

  async callTool(
    params: CallToolRequest['params'],
    signal: AbortSignal | undefined,
  ): Promise<CallToolResult> {
    const client = await this.#connected();
    return this.#unavailableOnDrop(
      async () =>
        (await client.callTool(params, undefined, {
          signal,
          timeout: CALL_TIMEOUT_MS,
          resetTimeoutOnProgress: true,
        })) as CallToolResult,
    );
  }

  async close(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    this.#live = undefined;
    if (client) await client.then((connected) => connected.close()).catch(() => undefined);
  }

  #connected(): Promise<Client> {
    if (!this.#client) {
      const attempt = this.#open();
      this.#client = attempt;
      attempt.catch(() => {
        if (this.#client === attempt) this.#client = undefined;
      });
    }
    return this.#client;
  }

  async #open(): Promise<Client> {
    const client = new Client({ name: 'countersign-proxy', version: SDK_VERSION });
    const transport = this.#transport();
    client.onclose = () => {
      // The upstream exited or the connection dropped: the next request connects again.
      if (this.#live !== client) return;
      this.#live = undefined;
      this.#client = undefined;
    };
    try {
      await client.connect(transport);
      this.#live = client;
    } catch (error) {
      await client.close().catch(() => undefined);
      throw new McpError(
        ErrorCode.InternalError,
        `The upstream MCP server (${this.#describe}) is unreachable: ${(error as Error).message}`,
      );
    }
    this.#instructions = client.getInstructions();
    return client;
  }

  #transport(): Transport {
    const target = this.#target;
    if ('url' in target) {
      return new StreamableHTTPClientTransport(new URL(target.url), {
        requestInit: { headers: target.headers ?? {} },
      });
    }
    return new StdioClientTransport({
      command: target.command,
      args: target.args ?? [],
      // What MCP clients give the servers they launch (PATH, HOME, USER, SHELL, TERM, LOGNAME)
      // plus the config's own: never this process's COUNTERSIGN_API_KEY, with which the
      // upstream could ask and withdraw approvals in the gateway's name.
      env: { ...getDefaultEnvironment(), ...(target.env ?? {}) },
      ...(target.cwd ? { cwd: target.cwd } : {}),
      stderr: 'inherit',
    });
  }

  /** A request cut short by the upstream's exit is the upstream's failure, said as such. */
  async #unavailableOnDrop<T>(request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (error) {
      if (error instanceof McpError && error.code !== ErrorCode.ConnectionClosed) throw error;
      const message = error instanceof Error ? error.message : String(error);
      throw new McpError(
        ErrorCode.InternalError,
        `The upstream MCP server (${this.#describe}) failed: ${message}`,
      );
    }
  }
}
