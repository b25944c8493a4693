import { randomUUID } from 'node:crypto';
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { foreignHostMessage, isLoopbackHost } from './request-guard';

/**
 * API Gateway (REST, Lambda proxy integration) on this machine: matches a request against the
 * deployed resource templates, turns it into the event API Gateway would send, invokes the same
 * handler, and writes its result back. Where API Gateway itself answers (no such route, a body
 * over its 10 MB limit, a handler that throws), the answer matches the gateway responses the
 * CDK construct configures. Unlike API Gateway it answers only requests addressed to its own
 * loopback address (a 403 `forbidden` otherwise: see request-guard.ts).
 */
interface LocalRoute {
  method: string;
  /** A resource template such as `/v1/intents/{id}/wait`. */
  path: string;
  target: string;
}

export interface ApiGatewayOptions {
  routes: LocalRoute[];
  invoke(target: string, event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult>;
  /** Routes of the local stack itself (`/_local/...`); returns true when it answered. */
  extra?(req: IncomingMessage, res: ServerResponse): boolean | Promise<boolean>;
  stage?: string;
}

const MAX_BODY_BYTES = 10 * 1024 * 1024;

interface CompiledRoute extends LocalRoute {
  segments: string[];
}

export function createApiGatewayServer(options: ApiGatewayOptions): Server {
  const routes: CompiledRoute[] = options.routes.map((route) => ({
    ...route,
    segments: route.path.split('/').filter(Boolean),
  }));
  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      console.error('local API gateway:', error);
      if (!res.headersSent) writeError(res, 500, 'internal', 'Internal server error.');
      else res.destroy();
    });
  });
  return server;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const address = server.address() as AddressInfo;
    if (!isLoopbackHost(req.headers.host, address.port, address.address)) {
      await drain(req);
      writeError(res, 403, 'forbidden', foreignHostMessage(address.port));
      return;
    }
    if (options.extra && (await options.extra(req, res))) return;
    const url = new URL(req.url ?? '/', 'http://localhost');
    const match = matchRoute(routes, req.method ?? 'GET', url.pathname);
    if (!match) {
      // API Gateway answers an unknown path and a known path with another method alike.
      await drain(req);
      writeError(res, 404, 'not_found', 'No such route.');
      return;
    }
    const body = await readLimited(req);
    if (body === 'too_large') {
      writeError(res, 413, 'payload_too_large', 'The request body is too large.');
      return;
    }
    const event = toEvent(req, url, match, body, options.stage ?? 'v1');
    let result: APIGatewayProxyResult;
    try {
      result = await options.invoke(match.route.target, event);
    } catch (error) {
      console.error(`local API gateway: ${match.route.target} threw`, error);
      writeError(res, 502, 'internal', 'Internal server error.');
      return;
    }
    writeResult(res, req.method === 'HEAD', result);
  }
}

function matchRoute(
  routes: CompiledRoute[],
  method: string,
  pathname: string,
): { route: CompiledRoute; pathParameters: Record<string, string> } | undefined {
  const segments = pathname.split('/').filter(Boolean);
  for (const route of routes) {
    if (route.method !== method || route.segments.length !== segments.length) continue;
    const pathParameters: Record<string, string> = {};
    const matched = route.segments.every((expected, index) => {
      const actual = segments[index] ?? '';
      if (expected.startsWith('{') && expected.endsWith('}')) {
        const decoded = safeDecode(actual);
        if (decoded === undefined || decoded === '') return false;
        pathParameters[expected.slice(1, -1)] = decoded;
        return true;
      }
      return expected === actual;
    });
    if (matched) return { route, pathParameters };
  }
  return undefined;
}

function toEvent(
  req: IncomingMessage,
  url: URL,
  match: { route: CompiledRoute; pathParameters: Record<string, string> },
  body: string,
  stage: string,
): APIGatewayProxyEvent {
  const { headers, multiValueHeaders } = collectHeaders(req.rawHeaders);
  const query: Record<string, string> = {};
  const multiQuery: Record<string, string[]> = {};
  for (const [key, value] of url.searchParams) {
    query[key] = value;
    multiQuery[key] = [...(multiQuery[key] ?? []), value];
  }
  const hasQuery = Object.keys(query).length > 0;
  const sourceIp = req.socket.remoteAddress ?? '127.0.0.1';
  return {
    resource: match.route.path,
    path: url.pathname,
    httpMethod: req.method ?? 'GET',
    headers,
    multiValueHeaders,
    queryStringParameters: hasQuery ? query : null,
    multiValueQueryStringParameters: hasQuery ? multiQuery : null,
    pathParameters: Object.keys(match.pathParameters).length > 0 ? match.pathParameters : null,
    stageVariables: null,
    body: body === '' ? null : body,
    isBase64Encoded: false,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      authorizer: null,
      httpMethod: req.method ?? 'GET',
      identity: {
        accessKey: null,
        accountId: null,
        apiKey: null,
        apiKeyId: null,
        caller: null,
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp: sourceIp.replace(/^::ffff:/, ''),
        user: null,
        userAgent: req.headers['user-agent'] ?? null,
        userArn: null,
      },
      path: `/${stage}${url.pathname}`,
      protocol: `HTTP/${req.httpVersion}`,
      requestId: randomUUID(),
      requestTimeEpoch: Date.now(),
      resourceId: 'local',
      resourcePath: match.route.path,
      stage,
    },
  };
}

/** API Gateway keeps the header names as sent; a repeated header's last value is in `headers`. */
function collectHeaders(rawHeaders: string[]): {
  headers: Record<string, string>;
  multiValueHeaders: Record<string, string[]>;
} {
  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  for (let index = 0; index + 1 < rawHeaders.length; index += 2) {
    const name = rawHeaders[index] ?? '';
    const value = rawHeaders[index + 1] ?? '';
    headers[name] = value;
    multiValueHeaders[name] = [...(multiValueHeaders[name] ?? []), value];
  }
  return { headers, multiValueHeaders };
}

function writeResult(res: ServerResponse, headOnly: boolean, result: APIGatewayProxyResult): void {
  const body = result.isBase64Encoded
    ? Buffer.from(result.body, 'base64')
    : Buffer.from(result.body ?? '', 'utf8');
  const headers: IncomingHttpHeaders = {};
  for (const [name, value] of Object.entries(result.headers ?? {})) headers[name] = String(value);
  for (const [name, values] of Object.entries(result.multiValueHeaders ?? {})) {
    headers[name] = values.map(String);
  }
  if (!Object.keys(headers).some((name) => name.toLowerCase() === 'content-type')) {
    headers['content-type'] = 'application/json';
  }
  headers['content-length'] = String(body.length);
  res.writeHead(result.statusCode, headers);
  res.end(headOnly ? undefined : body);
}

function writeError(res: ServerResponse, status: number, code: string, message: string): void {
  const body = JSON.stringify({ error: { code, message, details: [] } });
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

async function readLimited(req: IncomingMessage): Promise<string | 'too_large'> {
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = false;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) tooLarge = true;
    if (!tooLarge) chunks.push(chunk);
  }
  return tooLarge ? 'too_large' : Buffer.concat(chunks).toString('utf8');
}

async function drain(req: IncomingMessage): Promise<void> {
  for await (const _chunk of req as AsyncIterable<Buffer>) {
    // Reading the body lets the client finish sending before the answer closes the request.
  }
}

function safeDecode(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}
