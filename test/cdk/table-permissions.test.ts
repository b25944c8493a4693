/**
 * Which item types each function's role may write, read from the synthesized template with a
 * small evaluator of its IAM statements (an Allow of the action on the table, no Deny whose
 * `dynamodb:LeadingKeys` condition matches the item's partition key). API keys must be
 * writable by the admin function alone; reviewer profiles too (it serves `/v1/reviewers`).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FUNCTIONS } from '../../lambdas/functions';
import { CountersignStack } from '../../lib/countersign-stack';

interface Statement {
  Effect: 'Allow' | 'Deny';
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, Record<string, string | string[]>>;
}

const ITEMS = {
  'API key': 'APIKEY#0f0e',
  team: 'TEAM#finance',
  intent: 'INTENT#int_01',
  listing: 'LIST#INBOX#cfo@company.com',
  idempotency: 'IDEMPOTENCY#ab12',
  policy: 'POLICY#intent.payment.*',
  usage: 'USAGE#key_01',
  'wait subscription': 'WAIT#int_01',
  'inbox sign-in link': 'SIGNIN#9a8b',
  'inbox session': 'SESSION#7c6d',
  'reviewer profile': 'REVIEWER#ada@company.com',
} as const;
type ItemType = keyof typeof ITEMS;

const list = (value: string | string[]) => (Array.isArray(value) ? value : [value]);
const like = (value: string, pattern: string) =>
  new RegExp(
    `^${pattern
      .split('*')
      .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  ).test(value);

/** Whether `statements` let `action` write the table item whose partition key is `pk`. */
function mayWrite(statements: Statement[], action: string, pk: string): boolean {
  const onTable = (s: Statement) =>
    list(s.Action).some((a) => a === action || a === 'dynamodb:*') &&
    JSON.stringify(s.Resource).includes('Table');
  const conditionHolds = (s: Statement) =>
    Object.entries(s.Condition ?? {}).every(([operator, keys]) =>
      Object.entries(keys).every(([key, patterns]) => {
        if (key !== 'dynamodb:LeadingKeys') return false;
        const matches = list(patterns).some((p) => like(pk, p));
        if (operator === 'ForAnyValue:StringNotLike') return !matches;
        if (operator === 'ForAllValues:StringLike' || operator === 'ForAnyValue:StringLike') {
          return matches;
        }
        throw new Error(`unexpected condition ${operator}`);
      }),
    );
  const allowed = statements.some((s) => s.Effect === 'Allow' && onTable(s) && conditionHolds(s));
  const denied = statements.some((s) => s.Effect === 'Deny' && onTable(s) && conditionHolds(s));
  return allowed && !denied;
}

describe('table writes by item type', () => {
  let outdir: string;
  let template: Template;

  beforeAll(() => {
    outdir = mkdtempSync(path.join(tmpdir(), 'countersign-iam-'));
    const app = new App({ outdir, context: { 'aws:cdk:bundling-stacks': [] } });
    template = Template.fromStack(
      new CountersignStack(app, 'Countersign', {
        env: { account: '111111111111', region: 'eu-west-1' },
        emailFrom: 'approvals@company.com',
      }),
    );
  });
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  /** Every statement of the policies attached to the role of the function `id`. */
  function statementsOf(id: string): Statement[] {
    const [roleId] =
      Object.entries(template.findResources('AWS::Lambda::Function')).find(
        ([, fn]) => fn.Metadata?.['countersign:function'] === id,
      )?.[1].Properties.Role['Fn::GetAtt'] ?? [];
    expect(roleId, id).toBeDefined();
    return Object.values(template.findResources('AWS::IAM::Policy'))
      .filter((policy) => JSON.stringify(policy.Properties.Roles).includes(`"${roleId}"`))
      .flatMap((policy) => policy.Properties.PolicyDocument.Statement as Statement[]);
  }

  const writable = (id: string, action: string) =>
    (Object.keys(ITEMS) as ItemType[]).filter((type) =>
      mayWrite(statementsOf(id), action, ITEMS[type]),
    );

  /** Who may put each item type; updates and deletes never touch an intent's items (its trail). */
  const PUTS: Record<string, ItemType[]> = {
    health: [],
    jwks: [],
    openapi: [],
    'intents-write': ['intent', 'listing', 'idempotency', 'usage'],
    'intents-read': [],
    'intents-wait': [],
    'intents-decide': ['intent', 'listing'],
    // The admin function ends a reviewer's inbox sessions when it revokes their key.
    admin: ['API key', 'team', 'policy', 'inbox session', 'reviewer profile'],
    mcp: ['intent', 'listing', 'idempotency', 'usage'],
    review: ['intent', 'listing'],
    inbox: [
      'intent',
      'listing',
      'usage',
      'inbox sign-in link',
      'inbox session',
      'reviewer profile',
    ],
    'slack-interactions': ['intent', 'listing'],
    'plan-stage': ['intent', 'listing'],
    'stage-task': ['intent', 'listing', 'usage'],
    'notify-decided': ['intent', 'listing'],
    'deliver-callback': ['intent', 'listing'],
    'wait-socket': ['wait subscription'],
    'wait-push': [],
    reconciler: ['intent', 'listing'],
  };
  const without = (dropped: ItemType[], extra: Record<string, ItemType[]> = {}) => ({
    ...Object.fromEntries(
      Object.entries(PUTS).map(([id, types]) => [
        id,
        types.filter((type) => !dropped.includes(type)),
      ]),
    ),
    ...extra,
  });

  it.each([
    ['dynamodb:PutItem', PUTS],
    // Listing items are put and deleted (a recipient leaves an inbox), never updated; wait
    // subscriptions are put once and deleted once their intent is pushed.
    ['dynamodb:UpdateItem', without(['intent', 'listing', 'wait subscription'])],
    ['dynamodb:DeleteItem', without(['intent'], { 'wait-push': ['wait subscription'] })],
    ['dynamodb:BatchWriteItem', Object.fromEntries(Object.keys(PUTS).map((id) => [id, []]))],
  ])(
    'lets each function %s only the items it owns; API keys only the admin function',
    (action, expected) => {
      const byFunction = Object.fromEntries(
        Object.values(FUNCTIONS).map((spec) => [spec.id, writable(spec.id, action)]),
      );
      expect(byFunction).toEqual(expected);
    },
  );
});
