import { DeleteCommand, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { Team, TeamRepository } from '../../core/ports';
import { TABLE_KEYS } from '../table-schema';
import { stripKeys } from './intent-items';
import { DynamoTable } from './table';

/** Teams that `team:<name>` reviewers expand to. */
export class DynamoTeamRepository extends DynamoTable implements TeamRepository {
  async put(team: Team): Promise<void> {
    await this.db.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { pk: `TEAM#${team.name}`, sk: 'TEAM', gsi1pk: 'TEAMS', gsi1sk: team.name, ...team },
      }),
    );
  }

  async get(name: string): Promise<Team | null> {
    const result = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: `TEAM#${name}`, sk: 'TEAM' } }),
    );
    return result.Item ? stripKeys<Team>(result.Item) : null;
  }

  async list(): Promise<Team[]> {
    const items = await this.queryAll({
      TableName: this.tableName,
      IndexName: TABLE_KEYS.gsi1.name,
      KeyConditionExpression: 'gsi1pk = :pk',
      ExpressionAttributeValues: { ':pk': 'TEAMS' },
    });
    return items.map((item) => stripKeys<Team>(item));
  }

  async delete(name: string): Promise<boolean> {
    const result = await this.db.send(
      new DeleteCommand({
        TableName: this.tableName,
        Key: { pk: `TEAM#${name}`, sk: 'TEAM' },
        ReturnValues: 'ALL_OLD',
      }),
    );
    return result.Attributes !== undefined;
  }
}
