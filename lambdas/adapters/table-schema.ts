/**
 * The single table's keys and indexes: one definition, used by the CDK construct and by the
 * local stack when it creates the table in DynamoDB Local.
 *
 * Items:
 * - `INTENT#<id>` / `META`: the intent without its payload, small so that every conditional
 *   write is cheap; `INTENT#<id>` / `PAYLOAD`: the payload, written once;
 *   `INTENT#<id>` / `EVENT#<seq>`: the audit trail, appended in the same transaction as the
 *   intent change that caused it.
 * - `LIST#…`: an intent's listing items, by status, agent, recipient and due time
 *   (`dynamo/intent-items.ts`), in the base table so that no index is written per change.
 * - `IDEMPOTENCY#<principal>#<key>`, `APIKEY#<sha256>`, `TEAM#<name>`, `REVIEWER#<email>` (profile).
 * - The reviewer inbox: `SIGNIN#<sha256>` (sign-in links), `SESSION#<sha256>` (sessions, in GSI1
 *   under `SESSIONS#<email>`), both with the TTL.
 * GSI1 holds the key and team catalogues (and policies); GSI2 only intents stored before
 * listing items existed, which the reconciler migrates (`backfillListings`); it can be removed
 * once it is empty.
 */
export const TABLE_KEYS = {
  partitionKey: 'pk',
  sortKey: 'sk',
  gsi1: { name: 'gsi1', partitionKey: 'gsi1pk', sortKey: 'gsi1sk' },
  gsi2: { name: 'gsi2', partitionKey: 'gsi2pk', sortKey: 'gsi2sk' },
  timeToLive: 'expires_at',
} as const;
