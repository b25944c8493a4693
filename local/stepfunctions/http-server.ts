/**
 * The Step Functions API over HTTP, speaking the AWS JSON 1.0 protocol exactly as
 * `@aws-sdk/client-sfn` does: `POST /`, `X-Amz-Target: AWSStepFunctions.<Operation>`, JSON bodies
 * with timestamps as epoch seconds, and errors as HTTP 4xx with
 * `{"__type": "com.amazonaws.swf.service.v2.model#<Code>", "message": "..."}` (the SDK keeps the part
 * after `#` as the exception name). Requests whose `Host` is not this server's loopback address
 * get 403 (DNS rebinding); given `accessKeyId`, a request must be signed (SigV4) with that access
 * key id, else 400 `UnrecognizedClientException` as AWS answers. The signature itself is not
 * checked.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { foreignHostMessage, isLoopbackHost, sameSecret, sigV4AccessKeyId } from '../request-guard';
import { ServiceError } from './errors.js';

const CONTENT_TYPE = 'application/x-amz-json-1.0';
const TARGET_PREFIX = 'AWSStepFunctions.';
const ERROR_NAMESPACE = 'com.amazonaws.swf.service.v2.model';
const MAX_BODY_BYTES = 4 * 1024 * 1024;

export type OperationHandler = (input: Record<string, unknown>) => Promise<unknown>;

export interface SfnHttpAccess {
  /** The only access key id whose signed requests are answered; unset: any. */
  accessKeyId?: string;
}

export class SfnHttpServer {
  private server: Server | undefined;

  constructor(
    private readonly operations: Readonly<Record<string, OperationHandler>>,
    private readonly access: SfnHttpAccess = {},
  ) {}

  listen(port: number, host = '127.0.0.1'): Promise<string> {
    if (this.server) throw new Error('the HTTP server is already listening');
    const server = createServer((request, response) => {
      void this.handle(request, response);
    });
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        const address = server.address() as AddressInfo;
        const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
        resolve(`http://${shownHost}:${address.port}`);
      });
    });
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      // SDK clients keep connections alive; do not wait for them to go idle.
      server.closeAllConnections();
    });
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const requestId = randomUUID();
    try {
      const address = this.server?.address() as AddressInfo | null | undefined;
      const port = address?.port ?? 0;
      if (!isLoopbackHost(request.headers.host, port, address?.address)) {
        request.resume();
        throw new ServiceError('AccessDeniedException', foreignHostMessage(port), 403);
      }
      const { accessKeyId } = this.access;
      if (
        accessKeyId !== undefined &&
        !sameSecret(sigV4AccessKeyId(request.headers.authorization), accessKeyId)
      ) {
        request.resume();
        throw new ServiceError(
          'UnrecognizedClientException',
          'The security token included in the request is invalid.',
          400,
        );
      }
      if (request.method !== 'POST') {
        throw new ServiceError(
          'UnknownOperationException',
          `Method ${request.method} is not supported`,
          405,
        );
      }
      const target = request.headers['x-amz-target'];
      const operationName =
        typeof target === 'string' && target.startsWith(TARGET_PREFIX)
          ? target.slice(TARGET_PREFIX.length)
          : undefined;
      const operation = operationName === undefined ? undefined : this.operations[operationName];
      const body = await readBody(request);
      if (!operation) {
        throw new ServiceError('UnknownOperationException', `Unknown operation: ${String(target)}`);
      }
      let input: unknown = {};
      if (body.length > 0) {
        try {
          input = JSON.parse(body);
        } catch {
          throw new ServiceError('SerializationException', 'The request body is not valid JSON');
        }
      }
      if (typeof input !== 'object' || input === null || Array.isArray(input)) {
        throw new ServiceError('SerializationException', 'The request body must be a JSON object');
      }
      const output = await operation(input as Record<string, unknown>);
      send(response, 200, requestId, toWire(output ?? {}));
    } catch (error) {
      if (error instanceof ServiceError) {
        send(
          response,
          error.httpStatus,
          requestId,
          { __type: `${ERROR_NAMESPACE}#${error.code}`, message: error.message },
          error.code,
        );
      } else {
        console.error('[local-stepfunctions] internal error', error);
        send(
          response,
          500,
          requestId,
          {
            __type: `${ERROR_NAMESPACE}#InternalFailure`,
            message: error instanceof Error ? error.message : String(error),
          },
          'InternalFailure',
        );
      }
    }
  }
}

function send(
  response: ServerResponse,
  status: number,
  requestId: string,
  body: unknown,
  errorType?: string,
): void {
  const text = JSON.stringify(body);
  const headers: Record<string, string | number> = {
    'Content-Type': CONTENT_TYPE,
    'Content-Length': Buffer.byteLength(text),
    'x-amzn-RequestId': requestId,
  };
  if (errorType) headers['x-amzn-ErrorType'] = errorType;
  response.writeHead(status, headers);
  response.end(text);
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new ServiceError('ValidationException', 'The request body is too large', 413));
        request.destroy();
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

/** AWS JSON 1.0 encodes timestamps as epoch seconds (fractional). */
function toWire(value: unknown): unknown {
  if (value instanceof Date) return value.getTime() / 1000;
  if (Array.isArray(value)) return value.map(toWire);
  if (typeof value === 'object' && value !== null) {
    const output: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      if (item !== undefined) output[key] = toWire(item);
    }
    return output;
  }
  return value;
}
