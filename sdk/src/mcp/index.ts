/**
 * `@countersign/sdk/mcp`: the MCP side of the SDK, a separate entry point so that the core
 * client keeps no runtime dependencies. It needs `@modelcontextprotocol/sdk` (and `zod`, which
 * that package requires). `countersign mcp` and `countersign mcp-gateway` are built from it.
 */
import type { Server as HttpServer } from 'node:http';
import type { CountersignClient } from '../client.js';
import { approvalInterceptor } from './gateway.js';
import type { GatewayConfig } from './gateway-config.js';
import { proxyServer, serveHttp, serveStdio } from './proxy.js';
import { Upstream } from './upstream.js';

export { approvalInterceptor, GATEWAY_INTENT_TYPE, summaryOf } from './gateway.js';
export {
  type GatewayConfig,
  GatewayConfigError,
  type GatewayRule,
  globMatches,
  matchingRule,
  parseGatewayConfig,
} from './gateway-config.js';
export { type CallInterceptor, proxyServer, serveHttp, serveStdio } from './proxy.js';
export { Upstream, type UpstreamTarget } from './upstream.js';

/** The MCP endpoint of a Countersign API whose base URL (as the SDK client takes it) is `baseUrl`. */
export function mcpEndpoint(baseUrl: string): string {
  return `${baseUrl.replace(/\/+$/, '')}/mcp`;
}

/**
 * `countersign mcp`: the approval tools of `<url>/mcp` over stdio. The tools, their checks and
 * which ones a key's role sees are the server's own; this process only carries the messages, so
 * a stdio client and an HTTP client get the same server.
 */
export async function serveCountersignOverStdio(
  credentials: { url: string; apiKey: string },
  signal: AbortSignal,
): Promise<void> {
  const upstream = new Upstream({
    url: mcpEndpoint(credentials.url),
    headers: { Authorization: `Bearer ${credentials.apiKey}` },
  });
  await upstream.connect();
  const server = proxyServer(upstream, { name: 'countersign' });
  signal.addEventListener('abort', () => void server.close(), { once: true });
  try {
    await serveStdio(server);
  } finally {
    await upstream.close();
  }
}

/** `countersign mcp-gateway`: over stdio, or over HTTP on 127.0.0.1:`port` until `signal`. */
export async function runGateway(
  config: GatewayConfig,
  countersign: CountersignClient,
  options: { port?: number; signal: AbortSignal; listening?: (url: string) => void },
): Promise<void> {
  const upstream = new Upstream(config.upstream);
  await upstream.connect();
  const intercept = approvalInterceptor(config, countersign);
  const make = () => proxyServer(upstream, { name: 'countersign-gateway', intercept });
  try {
    if (options.port === undefined) {
      const server = make();
      options.signal.addEventListener('abort', () => void server.close(), { once: true });
      await serveStdio(server);
      return;
    }
    const http: HttpServer = await serveHttp(make, options.port);
    const address = http.address();
    const port = typeof address === 'object' && address ? address.port : options.port;
    options.listening?.(`http://127.0.0.1:${port}/mcp`);
    await new Promise<void>((resolve) => {
      if (options.signal.aborted) resolve();
      options.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    http.closeAllConnections();
    await new Promise<void>((resolve) => http.close(() => resolve()));
  } finally {
    await upstream.close();
  }
}
