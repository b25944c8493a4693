import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { type AuditEventDraft, sealEvents } from '../../lambdas/domain/audit';
import type { IntentState } from '../../lambdas/domain/intent';
import { ensureTable, startDynamoDbLocal } from '../../local/dynamodb-local';
import { localTableDefinition } from '../../local/stack';
import { pendingIntent } from '../domain/fixtures';

/** DynamoDB Local on a data dir of its own, holding the local stack's table. */
export async function startLocalTable(
  name: string,
): Promise<{ client: DynamoDBClient; stop: () => Promise<void> }> {
  const dataDir = mkdtempSync(path.join(tmpdir(), `${name}-`));
  const local = await startDynamoDbLocal({ dataDir });
  const client = new DynamoDBClient({
    endpoint: local.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  const stop = async () => {
    client.destroy();
    await local.stop();
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    await ensureTable(client, localTableDefinition());
  } catch (error) {
    await stop();
    throw error;
  }
  return { client, stop };
}

/** `intent` with `drafts` sealed onto its trail: the arguments of a create or a commit. */
export function withEvents(intent: IntentState, drafts: AuditEventDraft[]) {
  const sealed = sealEvents(intent, drafts);
  return {
    intent: { ...intent, event_count: sealed.event_count, last_event_hash: sealed.last_event_hash },
    events: sealed.events,
  };
}

/** Makes new pending intents, `int_<prefix><n>`, each with its `created` event. */
export function intentMaker(prefix: string) {
  let made = 0;
  return () => {
    made += 1;
    const base = { ...pendingIntent({ summary: `intent ${made}` }), id: `int_${prefix}${made}` };
    return withEvents(base, [
      { type: 'created', at: base.created_at, actor: base.from_agent, channel: 'api', data: {} },
    ]);
  };
}
