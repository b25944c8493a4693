import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { ReviewerProfileRepository } from '../../core/ports';
import type { ReviewerProfile } from '../../domain/availability';
import { TABLE_KEYS } from '../table-schema';
import { stripKeys } from './intent-items';
import { DynamoTable } from './table';

const profileKey = (email: string) => ({ pk: `REVIEWER#${email}`, sk: 'PROFILE' });

/** Reviewer profiles: working hours and out of office (`domain/availability.ts`). */
export class DynamoReviewerProfileRepository
  extends DynamoTable
  implements ReviewerProfileRepository
{
  async put(profile: ReviewerProfile): Promise<void> {
    await this.db.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          ...profileKey(profile.email),
          gsi1pk: 'REVIEWERS',
          gsi1sk: profile.email,
          ...profile,
        },
      }),
    );
  }

  async get(email: string): Promise<ReviewerProfile | null> {
    const result = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: profileKey(email) }),
    );
    return result.Item ? stripKeys<ReviewerProfile>(result.Item) : null;
  }

  async getMany(emails: readonly string[]): Promise<Map<string, ReviewerProfile>> {
    const profiles = new Map<string, ReviewerProfile>();
    const unique = [...new Set(emails)];
    for (let start = 0; start < unique.length; start += 100) {
      const found = await this.batchGet(unique.slice(start, start + 100).map(profileKey), {
        consistent: false,
      });
      for (const item of found.values()) {
        const profile = stripKeys<ReviewerProfile>(item);
        profiles.set(profile.email, profile);
      }
    }
    return profiles;
  }

  async list(): Promise<ReviewerProfile[]> {
    const items = await this.queryAll({
      TableName: this.tableName,
      IndexName: TABLE_KEYS.gsi1.name,
      KeyConditionExpression: 'gsi1pk = :pk',
      ExpressionAttributeValues: { ':pk': 'REVIEWERS' },
    });
    return items.map((item) => stripKeys<ReviewerProfile>(item));
  }
}
