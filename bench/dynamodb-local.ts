/**
 * `npm run bench:dynamodb`: what DynamoDB Local itself serves on this machine, with the local
 * stack's table (both indexes) and items shaped like Countersign's, so that the stack's numbers
 * (`npm run bench`) can be read against the store's own limits: per request alone, with 20
 * clients, and batched as the adapter batches them (`lambdas/adapters/coalescer.ts`).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  DynamoDBDocumentClient,
  GetCommand,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import { ensureTable, startDynamoDbLocal } from '../local/dynamodb-local';
import { LOCAL_TABLE_NAME, localTableDefinition } from '../local/stack';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const dataDir = mkdtempSync(path.join(tmpdir(), 'countersign-bench-ddb-'));
const local = await startDynamoDbLocal({ dataDir });
const client = new DynamoDBClient({
  endpoint: local.endpoint,
  region: 'us-east-1',
  credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
});
await ensureTable(client, localTableDefinition());
const db = DynamoDBDocumentClient.from(client);
const jvmPid = Number(readFileSync(path.join(dataDir, 'dynamodb-local.pid'), 'utf8'));

/** About the size and shape of an intent's META item, payload and audit event. */
const meta = (id: string) => ({
  pk: `INTENT#${id}`,
  sk: 'META',
  gsi1pk: 'AGENT#agent://bench',
  gsi1sk: `2026-12-01T00:00:00.000Z#${id}`,
  gsi2pk: 'STATUS#pending',
  gsi2sk: `2026-12-01T00:00:00.000Z#${id}`,
  id,
  status: 'pending',
  version: 1,
  policy: { remind_after: [300, 1800], escalate: [], timeout: { after: 28800, action: 'reject' } },
  recipients: ['cfo@company.com'],
  approvals: [],
  summary: 'x'.repeat(200),
  task_token: 't'.repeat(300),
  pending_notifications: [{ to: 'cfo@company.com', kind: 'notify', channel: 'email' }],
});
const payload = (id: string) => ({
  pk: `INTENT#${id}`,
  sk: 'PAYLOAD',
  payload_json: 'p'.repeat(400),
});
const event = (id: string) => ({
  pk: `INTENT#${id}`,
  sk: 'EVENT#0000000001',
  type: 'created',
  data: { to: 'cfo@company.com', kind: 'notify' },
  prev_hash: '0'.repeat(64),
  hash: 'a'.repeat(64),
});
const create = (id: string) =>
  [meta(id), payload(id), event(id)].map((Item) => ({
    Put: { TableName: LOCAL_TABLE_NAME, Item },
  }));

function jvmCpuSeconds(): number {
  const stat = readFileSync(`/proc/${jvmPid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

let serial = 0;
const rows: { name: string; perSecond: number; unit: string; jvm: number }[] = [];
async function measure(
  name: string,
  unit: string,
  clients: number,
  perCall: number,
  call: (n: number) => Promise<unknown>,
) {
  const cpuBefore = jvmCpuSeconds();
  const started = Date.now();
  const until = started + SECONDS * 1000;
  let done = 0;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (Date.now() < until) {
        serial += 1;
        await call(serial);
        done += perCall;
      }
    }),
  );
  const elapsed = (Date.now() - started) / 1000;
  rows.push({
    name,
    unit,
    perSecond: Math.round(done / elapsed),
    jvm: Math.round(((jvmCpuSeconds() - cpuBefore) / elapsed) * 100),
  });
}

process.stderr.write('warming up...\n');
await measure('warm-up', 'intents', 20, 1, (n) =>
  db.send(new TransactWriteCommand({ TransactItems: create(`w${n}`) })),
);
rows.length = 0;
await measure('create, 3 items per transaction, 1 client', 'intents', 1, 1, (n) =>
  db.send(new TransactWriteCommand({ TransactItems: create(`a${n}`) })),
);
await measure('create, 3 items per transaction, 20 clients', 'intents', 20, 1, (n) =>
  db.send(new TransactWriteCommand({ TransactItems: create(`b${n}`) })),
);
await measure('creates merged, 30 per transaction, 2 clients', 'intents', 2, 30, (n) =>
  db.send(
    new TransactWriteCommand({
      TransactItems: Array.from({ length: 30 }, (_, i) => create(`c${n}_${i}`)).flat(),
    }),
  ),
);
await measure('GetItem, consistent, 20 clients', 'items', 20, 1, (n) =>
  db.send(
    new GetCommand({
      TableName: LOCAL_TABLE_NAME,
      Key: { pk: `INTENT#b${n % 500}`, sk: 'META' },
      ConsistentRead: true,
    }),
  ),
);
await measure('BatchGetItem of 100 keys, consistent, 2 clients', 'items', 2, 100, (n) =>
  db.send(
    new BatchGetCommand({
      RequestItems: {
        [LOCAL_TABLE_NAME]: {
          ConsistentRead: true,
          Keys: Array.from({ length: 50 }, (_, i) => `INTENT#b${(n * 50 + i) % 500}`).flatMap(
            (pk) => [
              { pk, sk: 'META' },
              { pk, sk: 'PAYLOAD' },
            ],
          ),
        },
      },
    }),
  ),
);

await local.stop();
rmSync(dataDir, { recursive: true, force: true });
console.log('| DynamoDB Local, alone | per second | its JVM (% of one core) |\n|---|---|---|');
for (const row of rows) console.log(`| ${row.name} | ${row.perSecond} ${row.unit} | ${row.jvm}% |`);
console.log(JSON.stringify(Object.fromEntries(rows.map((row) => [row.name, row.perSecond]))));
