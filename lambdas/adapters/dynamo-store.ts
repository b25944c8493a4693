/**
 * The DynamoDB repositories, one module per concern under `dynamo/`: the intent repository
 * (`intents.ts`), its item layout and listing keys (`intent-items.ts`), group commit
 * (`group-commit.ts`), lost-answer detection (`lost-answers.ts`), list cursors (`cursors.ts`)
 * and the merge of sharded lists (`merged-listing.ts`); API keys, teams and reviewer profiles.
 */
export { DynamoIntentRepository } from './dynamo/intents';
export { DynamoKeyRepository } from './dynamo/keys';
export { DynamoReviewerProfileRepository } from './dynamo/reviewer-profiles';
export { DynamoTable } from './dynamo/table';
export { DynamoTeamRepository } from './dynamo/teams';
