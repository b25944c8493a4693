import type { APIGatewayProxyEvent } from 'aws-lambda';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DomainError } from '../../lambdas/domain/errors';
import { routeHandler } from '../../lambdas/shared/http';
import { Logger, REDACTED } from '../../lambdas/shared/logger';

const at = new Date('2026-11-24T09:00:00.000Z');

describe('Logger', () => {
  it('writes one JSON object per line with level, message, time, service and the fields given', () => {
    // Prepare
    const lines: string[] = [];
    const log = new Logger(
      { intent_id: 'int_1' },
      { level: 'INFO', write: (l) => lines.push(l), now: () => at },
    );
    // Act
    log.child({ aws_request_id: 'req-1' }).info('planned', { action: 'await', stage: 2 });
    log.debug('not written below INFO');
    // Assess
    expect(lines.map((line) => JSON.parse(line))).toEqual([
      {
        level: 'INFO',
        message: 'planned',
        timestamp: at.toISOString(),
        service: 'countersign',
        intent_id: 'int_1',
        aws_request_id: 'req-1',
        action: 'await',
        stage: 2,
      },
    ]);
  });

  it('redacts fields that name a secret, a token, a key or a payload, whatever their value', () => {
    // Prepare
    const lines: string[] = [];
    const log = new Logger({}, { level: 'DEBUG', write: (l) => lines.push(l) });
    // Act
    log.warn('careless', {
      task_token: 'AAAA',
      authorization: 'Bearer csk_x',
      api_key: 'csk_y',
      payload: { iban: 'DE89' },
      body: '{"a":1}',
      signing_secret: 's',
      key: 'k',
      key_id: 'key_01',
      intent_id: 'int_1',
    });
    // Assess
    const line = JSON.parse(lines[0] ?? '{}') as Record<string, unknown>;
    for (const field of [
      'task_token',
      'authorization',
      'api_key',
      'payload',
      'body',
      'signing_secret',
      'key',
    ]) {
      expect(line[field]).toBe(REDACTED);
    }
    expect(line).toMatchObject({ key_id: 'key_01', intent_id: 'int_1' });
    expect(lines[0]).not.toMatch(/csk_|AAAA|DE89/);
  });

  it('logs an error as its name, message and stack only', () => {
    const lines: string[] = [];
    const error = Object.assign(new Error('boom'), { request: { body: 'secret-body' } });
    new Logger({}, { level: 'ERROR', write: (l) => lines.push(l) }).error('failed', { error });
    const line = JSON.parse(lines[0] ?? '{}') as { error: Record<string, unknown> };
    expect(Object.keys(line.error).sort()).toEqual(['message', 'name', 'stack']);
    expect(lines[0]).not.toContain('secret-body');
  });
});

describe('routeHandler logging', () => {
  afterEach(() => vi.restoreAllMocks());

  const event = (overrides: Partial<APIGatewayProxyEvent> = {}): APIGatewayProxyEvent =>
    ({
      httpMethod: 'POST',
      resource: '/v1/intents/{id}/decision',
      path: '/v1/intents/int_1/decision',
      headers: { Authorization: 'Bearer csk_very-secret-key' },
      pathParameters: { id: 'int_1' },
      body: '{"comment":"payload text"}',
      requestContext: { requestId: 'api-req-9' },
      ...overrides,
    }) as APIGatewayProxyEvent;

  it('logs an unhandled error with the request ids and the intent id, never the headers or body, and answers 500', async () => {
    // Prepare
    const lines: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      lines.push(String(chunk));
      return true;
    });
    const handler = routeHandler({
      'POST /v1/intents/{id}/decision': async () => {
        throw new Error('DynamoDB is on fire');
      },
    });
    // Act
    const result = await handler(event(), { awsRequestId: 'lambda-req-7' });
    // Assess
    expect(result.statusCode).toBe(500);
    expect(result.body).not.toContain('fire');
    const errorLine = lines.map((l) => JSON.parse(l)).find((l) => l.level === 'ERROR');
    expect(errorLine).toMatchObject({
      message: 'unhandled error',
      aws_request_id: 'lambda-req-7',
      request_id: 'api-req-9',
      route: 'POST /v1/intents/{id}/decision',
      intent_id: 'int_1',
      error: { name: 'Error', message: 'DynamoDB is on fire' },
    });
    expect(lines.join('')).not.toMatch(/very-secret-key|payload text/);
  });

  it('does not log domain errors as failures: they are answers', async () => {
    const lines: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      lines.push(String(chunk));
      return true;
    });
    const handler = routeHandler({
      'POST /v1/intents/{id}/decision': async () => {
        throw new DomainError('already_decided', 'This intent is already approved.');
      },
    });
    const result = await handler(event());
    expect(result.statusCode).toBe(409);
    expect(lines.filter((l) => l.includes('"level":"ERROR"'))).toEqual([]);
  });
});
