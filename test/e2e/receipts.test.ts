import { generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDynamoDbLocal } from '../../local/dynamodb-local';
import { LOCAL_TABLE_NAME } from '../../local/stack';
import {
  CALLBACK_JWS_HEADER,
  CountersignClient,
  encodeJws,
  fetchJwks,
  type Intent,
  JWS_TYPES,
  verifyCallback,
  verifyIntentTrail,
  verifyReceipt,
} from '../../sdk/src/index';
import { buildCli, cli, removeBuild } from '../cli/run-cli';
import { newDataDir, removeDataDir, type StackProcess, startStack, until } from './harness';

/**
 * Receipts and signed callbacks on the local stack, checked the way an agent's receiver and an
 * auditor would: with the public keys of `/.well-known/jwks.json` and nothing else. Then someone
 * with access to the table (DynamoDB Local, the stack stopped) swaps the payload of an approved
 * intent, and `countersign audit verify` fails where it used to pass.
 */
let stack: StackProcess;
let dataDir: string;
let agent: CountersignClient;
let admin: CountersignClient;
let cfo: CountersignClient;
let home: string;

let receiver: Server;
let hookUrl: string;
const deliveries: { headers: IncomingMessage['headers']; body: string }[] = [];

beforeAll(async () => {
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      deliveries.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks/countersign`;
  home = mkdtempSync(path.join(tmpdir(), 'countersign-receipts-home-'));
  dataDir = newDataDir();
  [stack] = await Promise.all([startStack(dataDir), buildCli()]);
  connect();
  const key = await admin.createKey({ role: 'reviewer', principal: 'cfo@company.com' });
  cfo = new CountersignClient({ baseUrl: stack.url, apiKey: key.key });
}, 180_000);

afterAll(async () => {
  await stack?.stop();
  removeDataDir(dataDir);
  removeBuild();
  rmSync(home, { recursive: true, force: true });
  await new Promise<void>((resolve) => receiver.close(() => resolve()));
});

function connect(): void {
  agent = new CountersignClient({ baseUrl: stack.url, apiKey: stack.settings.api_keys.agent });
  admin = new CountersignClient({ baseUrl: stack.url, apiKey: stack.settings.api_keys.admin });
}

const payment = {
  intent_type: 'intent.payment.v1',
  to_agent: 'agent://myorg/payments',
  payload: { iban: 'DE89370400440532013000', amount: 40000, reviewer: 'cfo@company.com' },
};

/** An approved payment with a callback, once its callback arrived and its trail stopped growing. */
async function approvedPayment(): Promise<{ intent: Intent; delivery: (typeof deliveries)[0] }> {
  const id = await agent.sendIntent({ ...payment, callback_url: hookUrl });
  await cfo.decide(id, { outcome: 'approve', comment: 'known vendor' });
  const delivery = await until(
    () => deliveries.find((d) => (JSON.parse(d.body) as { id: string }).id === id),
    15_000,
    'the callback',
  );
  const intent = await until(
    async () => {
      const read = await agent.getIntent(id);
      const { items } = await agent.events(id);
      const settled =
        items.some((e) => e.type === 'callback_sent') && read.event_count === items.length;
      return settled ? read : undefined;
    },
    15_000,
    'the trail to settle',
  );
  return { intent, delivery };
}

describe('receipts and signed callbacks', () => {
  it('serves the public key without an API key, and keeps the private key in a 0600 file', async () => {
    const response = await fetch(`${stack.url}/.well-known/jwks.json`);
    expect(response.status).toBe(200);
    const jwks = (await response.json()) as { keys: Record<string, unknown>[] };
    expect(jwks.keys).toEqual([
      {
        kty: 'OKP',
        crv: 'Ed25519',
        x: expect.any(String),
        kid: expect.any(String),
        alg: 'EdDSA',
        use: 'sig',
      },
    ]);
    expect(JSON.stringify(jwks)).not.toMatch(/"d"/);
    expect(statSync(path.join(dataDir, 'signing-key.pem')).mode & 0o777).toBe(0o600);
  });

  it("the callback verifies with the SDK and the deployment's JWKS; a forged or redirected one does not", async () => {
    const { intent, delivery } = await approvedPayment();
    const header = delivery.headers[CALLBACK_JWS_HEADER.toLowerCase()] as string;
    const keys = await fetchJwks(stack.url);
    expect(
      await verifyCallback({ header, rawBody: delivery.body, url: hookUrl, keys }),
    ).toMatchObject({ ok: true, intentId: intent.id });
    // The callback carries the final intent with its receipt.
    expect(JSON.parse(delivery.body)).toMatchObject({ id: intent.id, receipt: intent.receipt });

    // Another agent of this deployment signs "approved" with the only key it could hold.
    const { privateKey } = generateKeyPairSync('ed25519');
    const forgedBody = JSON.stringify({ ...JSON.parse(delivery.body), id: 'int_OF_ANOTHER_AGENT' });
    const forged = await encodeJws(
      { alg: 'EdDSA', kid: keys.keys[0]?.kid ?? '', typ: JWS_TYPES.callback },
      {
        intent_id: 'int_OF_ANOTHER_AGENT',
        iat: Math.floor(Date.now() / 1000),
        url: hookUrl,
        body_sha256: 'not checked before the signature',
      },
      (input) => sign(null, input, privateKey),
    );
    expect(
      await verifyCallback({ header: forged, rawBody: forgedBody, url: hookUrl, keys: stack.url }),
    ).toMatchObject({ ok: false, reason: 'the signature does not match' });
    // A genuine callback replayed to another receiver's URL.
    expect(
      await verifyCallback({
        header,
        rawBody: delivery.body,
        url: 'http://127.0.0.1:9/another-agent/hook',
        keys,
      }),
    ).toMatchObject({ ok: false });
  });

  it('the receipt verifies against /.well-known/jwks.json and names the decision and the payload', async () => {
    const { intent } = await approvedPayment();
    expect(intent.receipt).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    const verdict = await verifyReceipt(intent.receipt ?? '', { keys: stack.url, intent });
    expect(verdict).toMatchObject({
      ok: true,
      claims: {
        intent_id: intent.id,
        status: 'approved',
        outcome: 'approved',
        by: 'cfo@company.com',
        from_agent: intent.from_agent,
        to_agent: 'agent://myorg/payments',
        intent_type: 'intent.payment.v1',
      },
    });
    if (!verdict.ok) return;
    expect(verdict.claims.approved_payload_sha256).toBe(verdict.claims.payload_sha256);
    const { items } = await agent.events(intent.id);
    const final = items.find((event) => event.type === 'approved');
    expect([final?.seq, final?.hash]).toEqual([
      verdict.claims.event_count,
      verdict.claims.last_event_hash,
    ]);
  });

  it('a payload swapped in the table makes audit verify fail; receipts survive a restart', async () => {
    const { intent } = await approvedPayment();
    const env = {
      HOME: home,
      COUNTERSIGN_CONFIG: path.join(home, 'config.json'),
      COUNTERSIGN_API_KEY: stack.settings.api_keys.admin,
    };
    const before = await cli(['audit', 'verify', intent.id], {
      env: { ...env, COUNTERSIGN_URL: stack.url },
    });
    expect(before.code).toBe(0);

    // Someone with table access swaps the IBAN and the amount; no event is touched.
    await stack.stop();
    const dynamo = await startDynamoDbLocal({ dataDir: path.join(dataDir, 'dynamodb') });
    try {
      const table = DynamoDBDocumentClient.from(
        new DynamoDBClient({
          endpoint: dynamo.endpoint,
          region: 'us-east-1',
          credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
        }),
      );
      const key = { pk: `INTENT#${intent.id}`, sk: 'PAYLOAD' };
      const { Item } = await table.send(new GetCommand({ TableName: LOCAL_TABLE_NAME, Key: key }));
      const payload = JSON.parse(String(Item?.payload_json)) as Record<string, unknown>;
      expect(payload).toEqual(payment.payload);
      const swapped = { ...payload, iban: 'GB33BUKB20201555555555', amount: 90000 };
      await table.send(
        new PutCommand({
          TableName: LOCAL_TABLE_NAME,
          Item: { ...Item, payload_json: JSON.stringify(swapped) },
        }),
      );
    } finally {
      await dynamo.stop();
    }
    stack = await startStack(dataDir);
    connect();

    const tampered = await agent.getIntent(intent.id);
    expect(tampered.payload).toMatchObject({ iban: 'GB33BUKB20201555555555', amount: 90000 });
    const after = await cli(['audit', 'verify', intent.id], {
      env: { ...env, COUNTERSIGN_URL: stack.url },
    });
    expect(after.code).toBe(4);
    expect(after.stdout).toMatch(
      new RegExp(
        `^BROKEN  ${intent.id}: the intent's payload hashes to .* the payload was changed`,
      ),
    );
    expect(verifyIntentTrail(tampered, (await agent.events(intent.id)).items)).toMatchObject({
      ok: false,
      problem: 'intent_mismatch',
    });
    // The receipt, signed before the restart with the kept key, still verifies, and shows that
    // this is not the payload that was approved.
    const keys = await fetchJwks(stack.url);
    expect(await verifyReceipt(tampered.receipt ?? '', { keys })).toMatchObject({ ok: true });
    expect(await verifyReceipt(tampered.receipt ?? '', { keys, intent: tampered })).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/payload_sha256/),
    });
    // Stopping the stack, starting DynamoDB Local alone and starting the stack again take JVM starts.
  }, 180_000);
});
