import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureTable, startDynamoDbLocal } from '../../local/dynamodb-local';
import { isLoopbackAddress, listeningSockets, rawRequest } from '../e2e/harness';

/**
 * DynamoDB Local keeps data on disk, and a JVM left behind by a killed Node process (kill -9
 * does not reach children) is stopped before the next start opens the same files.
 */
const dataDir = mkdtempSync(path.join(tmpdir(), 'ddb-local-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

const clientFor = (endpoint: string) =>
  new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'other', secretAccessKey: 'other' },
  });

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('DynamoDB Local', () => {
  it('keeps data across an abandoned process and stops the leftover JVM', async () => {
    const first = await startDynamoDbLocal({ dataDir });
    const pidFile = path.join(dataDir, 'dynamodb-local.pid');
    const leftoverPid = Number(readFileSync(pidFile, 'utf8'));
    const client = clientFor(first.endpoint);
    const table = {
      TableName: 'kept-data',
      BillingMode: 'PAY_PER_REQUEST' as const,
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' as const }],
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' as const }],
    };
    await ensureTable(client, table);
    await ensureTable(client, table);
    await client.send(new PutItemCommand({ TableName: 'kept-data', Item: { pk: { S: 'kept' } } }));
    client.destroy();

    // As after kill -9 of Node: `first` is never stopped; its JVM still holds the files.
    const second = await startDynamoDbLocal({ dataDir });
    try {
      expect(isAlive(leftoverPid)).toBe(false);
      const again = clientFor(second.endpoint);
      const read = await again.send(
        new GetItemCommand({ TableName: 'kept-data', Key: { pk: { S: 'kept' } } }),
      );
      expect(read.Item?.pk?.S).toBe('kept');
      again.destroy();
    } finally {
      await second.stop();
    }
    expect(existsSync(pidFile)).toBe(false);
  }, 90_000);

  it('listens on loopback only, answers only its own Host, and keeps its files private', async () => {
    const privateDir = mkdtempSync(path.join(tmpdir(), 'ddb-local-private-'));
    const local = await startDynamoDbLocal({ dataDir: privateDir });
    try {
      const pid = Number(readFileSync(path.join(privateDir, 'dynamodb-local.pid'), 'utf8'));
      const port = Number(new URL(local.endpoint).port);
      const sockets = listeningSockets([pid]);
      expect(sockets.map((socket) => socket.port)).toContain(port);
      for (const socket of sockets)
        expect(isLoopbackAddress(socket.address), socket.address).toBe(true);

      const client = clientFor(local.endpoint);
      await ensureTable(client, {
        TableName: 'private',
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      });
      client.destroy();
      const listTables = {
        method: 'POST',
        headers: {
          'x-amz-target': 'DynamoDB_20120810.ListTables',
          'content-type': 'application/x-amz-json-1.0',
          authorization:
            'AWS4-HMAC-SHA256 Credential=x/20240101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0',
        },
        body: '{}',
      };
      const own = await rawRequest(local.endpoint, {
        ...listTables,
        headers: { ...listTables.headers, host: `localhost:${port}` },
      });
      expect(JSON.parse(own.body)).toEqual({ TableNames: ['private'] });
      const rebound = await rawRequest(local.endpoint, {
        ...listTables,
        headers: { ...listTables.headers, host: `attacker.example:${port}` },
      });
      expect(rebound.status).toBe(403);
      expect(rebound.body).not.toContain('private');

      const database = path.join(privateDir, 'shared-local-instance.db');
      expect(statSync(database).mode & 0o777).toBe(0o600);
      expect(statSync(privateDir).mode & 0o777).toBe(0o700);
    } finally {
      await local.stop();
      rmSync(privateDir, { recursive: true, force: true });
    }
  }, 90_000);
});
