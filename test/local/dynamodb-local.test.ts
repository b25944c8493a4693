import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureTable, startDynamoDbLocal } from '../../local/dynamodb-local';

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
});
