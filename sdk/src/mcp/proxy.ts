/**
 * An MCP server that fronts another one: it lists the upstream's tools unchanged and forwards
 * their calls, through an optional interceptor (the approval gateway's rules). It is served over
 * stdio, for clients that launch servers as commands, or over stateless Streamable HTTP on
 * 127.0.0.1, for clients that connect to a URL.
 */
import { createServer, type Server as HttpServer } from 'node:http';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import {
  type CallToolRequest,
  CallToolRequestSchema,
  type CallToolResult,
  ListToolsRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { SDK_VERSION } from '../version.js';
import type { Upstream } from './upstream.js';

type ToolCall = CallToolRequest['params'];

/** Decides what happens to one call; `forward` sends it (or changed arguments) upstream. */
export type CallInterceptor = (
  call: ToolCall,
  signal: AbortSignal,
  forward: (call: ToolCall) => Promise<CallToolResult>,
) => Promise<CallToolResult>;

export function proxyServer(
  upstream: Upstream,
  options: { name: string; intercept?: CallInterceptor },
): Server {
  const instructions = upstream.instructions;
  const server = new Server(
    { name: options.name, version: SDK_VERSION },
    { capabilities: { tools: {} }, ...(instructions ? { instructions } : {}) },
  );
  const inFlight = new Set<Promise<unknown>>();
  const tracked = <T>(work: Promise<T>): Promise<T> => {
    inFlight.add(work);
    const forget = () => inFlight.delete(work);
    work.then(forget, forget);
    return work;
  };
  answeredAll.set(server, async () => {
    while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
    // The SDK sends an answer in a reaction to the handler's promise: let it run first.
    await new Promise((resolve) => setImmediate(resolve));
  });
  server.setRequestHandler(ListToolsRequestSchema, (request) =>
    tracked(upstream.listTools(request.params?.cursor)),
  );
  server.setRequestHandler(CallToolRequestSchema, (request, extra) => {
    const forward = (call: ToolCall) => upstream.callTool(call, extra.signal);
    return tracked(
      options.intercept
        ? options.intercept(request.params, extra.signal, forward)
        : forward(request.params),
    );
  });
  return server;
}

/** Resolves once every request a proxy server took has been answered. */
const answeredAll = new WeakMap<Server, () => Promise<void>>();

/**
 * Serves on this process's stdin and stdout until the client closes them. A client may write
 * its requests and close stdin at once (a pipe): the answers still go out before the server
 * closes.
 */
export async function serveStdio(server: Server): Promise<void> {
  const transport = new StdioServerTransport();
  const closed = new Promise<void>((resolve) => {
    server.onclose = resolve;
    process.stdin.once('end', () => {
      void (answeredAll.get(server)?.() ?? Promise.resolve()).then(resolve);
    });
  });
  await server.connect(transport);
  await closed;
  await server.close();
}

/**
 * Stateless Streamable HTTP at `http://127.0.0.1:<port>/mcp`: each POST is one JSON-RPC message,
 * answered by a server made for it. Only this machine can connect, and the Host header must
 * name the loopback address (DNS rebinding protection), since the gateway holds an API key.
 */
export async function serveHttp(makeServer: () => Server, port: number): Promise<HttpServer> {
  const http = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname !== '/mcp') {
      res
        .writeHead(404, { 'content-type': 'application/json' })
        .end(JSON.stringify({ error: 'The MCP endpoint is /mcp.' }));
      return;
    }
    if (req.method !== 'POST') {
      res.writeHead(405, { 'content-type': 'application/json', allow: 'POST' }).end(
        JSON.stringify({
          jsonrpc: '2.0',
          error: { code: -32000, message: 'Method not allowed: this server is stateless.' },
          id: null,
        }),
      );
      return;
    }
    const address = http.address();
    const actualPort = typeof address === 'object' && address ? address.port : port;
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableDnsRebindingProtection: true,
      allowedHosts: [`127.0.0.1:${actualPort}`, `localhost:${actualPort}`],
    });
    const server = makeServer();
    res.on('close', () => {
      void transport.close();
      void server.close();
    });
    server
      .connect(transport)
      .then(() => transport.handleRequest(req, res))
      .catch((error: unknown) => {
        if (!res.headersSent) {
          res.writeHead(500, { 'content-type': 'application/json' }).end(
            JSON.stringify({
              jsonrpc: '2.0',
              error: { code: -32603, message: (error as Error).message },
              id: null,
            }),
          );
        }
      });
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(port, '127.0.0.1', () => resolve());
  });
  return http;
}
