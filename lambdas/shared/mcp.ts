import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { ZodError } from 'zod';
import { SDK_VERSION } from '../../sdk/src/version';
import { type ApprovalTool, approvalToolsFor } from '../core/approval-tools';
import type { Principal } from '../core/auth';
import type { IntentServiceDeps } from '../core/intents';
import { DomainError } from '../domain/errors';
import { header, zodIssues } from './http';
import { describeError, type Logger } from './logger';

/**
 * The MCP server of `/mcp`: Streamable HTTP, stateless (no session id; every POST carries one
 * JSON-RPC message and gets its JSON answer), built per request for the caller's principal with
 * the official MCP SDK. Only the tools the key's role may call are listed; a call of another is
 * the SDK's "Tool <name> not found" error. A tool's failure is a tool result with
 * `isError`, whose text names the contract's error code, so a model reads why; nothing a client
 * sends makes this a 5xx.
 */
export function approvalMcpServer(
  deps: IntentServiceDeps,
  principal: Principal,
  log: Logger,
): McpServer {
  const server = new McpServer(
    { name: 'countersign', version: SDK_VERSION },
    {
      instructions:
        'Countersign asks a human to approve an action before an agent performs it. Call request_approval before anything irreversible; act only on status "approved".',
    },
  );
  for (const tool of approvalToolsFor(principal.role))
    registerTool(server, tool, deps, principal, log);
  return server;
}

function registerTool(
  server: McpServer,
  tool: ApprovalTool,
  deps: IntentServiceDeps,
  principal: Principal,
  log: Logger,
): void {
  server.registerTool(
    tool.name,
    {
      title: tool.title,
      description: tool.description,
      inputSchema: tool.input,
      outputSchema: tool.output,
    },
    async (args: Record<string, unknown>): Promise<CallToolResult> => {
      try {
        const { structured, text } = await tool.run(deps, principal, args as never);
        return { content: [{ type: 'text', text }], structuredContent: structured };
      } catch (error) {
        return toolError(error, log);
      }
    },
  );
}

/** The contract's error as a tool error a model can read: `<code>: <message> (<details>)`. */
function toolError(error: unknown, log: Logger): CallToolResult {
  if (error instanceof ZodError) {
    return toolError(
      new DomainError('validation_failed', 'The arguments have invalid fields.', {
        details: zodIssues(error),
      }),
      log,
    );
  }
  if (error instanceof DomainError) {
    const details = error.details.map((issue) => `${issue.field} ${issue.message}`).join('; ');
    const intent = error.intent as { id?: string; status?: string } | undefined;
    const text = [
      `${error.code}: ${error.message}`,
      details ? ` (${details})` : '',
      intent?.id ? ` ${intent.id} is ${intent.status}.` : '',
    ].join('');
    // No structuredContent: clients check it against the tool's output schema, errors too.
    return { isError: true, content: [{ type: 'text', text }] };
  }
  log.error('mcp tool failed', { error: describeError(error) });
  return {
    isError: true,
    content: [{ type: 'text', text: 'internal: Countersign failed to answer; try again shortly.' }],
  };
}

/** API Gateway's event as the web Request the SDK's transport reads. */
function toRequest(event: APIGatewayProxyEvent): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(event.headers ?? {})) {
    if (value !== undefined) headers.set(name, value);
  }
  const host = header(event, 'host') ?? 'localhost';
  const body =
    event.body === null
      ? undefined
      : event.isBase64Encoded
        ? Buffer.from(event.body, 'base64')
        : event.body;
  return new Request(`https://${host}${event.path}`, {
    method: event.httpMethod,
    headers,
    body: event.httpMethod === 'GET' || event.httpMethod === 'HEAD' ? undefined : body,
  });
}

async function toResult(response: Response): Promise<APIGatewayProxyResult> {
  const headers: Record<string, string> = { 'Cache-Control': 'no-store' };
  response.headers.forEach((value, name) => {
    headers[name] = value;
  });
  return { statusCode: response.status, headers, body: await response.text() };
}

/**
 * Serves one HTTP request of the stateless Streamable HTTP transport. There is no server-sent
 * event stream to open (GET) and no session to end (DELETE): both are 405, as the transport's
 * specification allows, and answers are JSON (a Lambda answers once; it cannot stream).
 */
export async function serveMcp(
  event: APIGatewayProxyEvent,
  server: McpServer,
): Promise<APIGatewayProxyResult> {
  if (event.httpMethod !== 'POST') {
    return {
      statusCode: 405,
      headers: { 'Content-Type': 'application/json', Allow: 'POST' },
      body: JSON.stringify({
        jsonrpc: '2.0',
        error: {
          code: -32000,
          message: 'Method not allowed: this MCP server is stateless; send JSON-RPC with POST.',
        },
        id: null,
      }),
    };
  }
  const transport = new WebStandardStreamableHTTPServerTransport({
    sessionIdGenerator: undefined,
    enableJsonResponse: true,
  });
  try {
    await server.connect(transport);
    return await toResult(await transport.handleRequest(toRequest(event)));
  } finally {
    await server.close();
  }
}
