/**
 * A big stage against DynamoDB Local: every notice of a stage used to be recorded in one
 * transaction (the intent and an event per notice), which DynamoDB refuses past 100 items, so
 * the stage task failed after sending, its retries sent everything again, and the trail never
 * showed a notice. Each person must be told exactly once, and every notice be in the trail.
 */

import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoIntentRepository } from '../../lambdas/adapters/dynamo-store';
import { recordVote } from '../../lambdas/core/intents';
import type {
  EmailMessage,
  Signer,
  SlackGateway,
  SlackMessage,
  Team,
  TeamRepository,
} from '../../lambdas/core/ports';
import { SlackNotifier } from '../../lambdas/core/slack-notify';
import {
  NOTICES_PER_BATCH,
  notifyDecided,
  planNextStage,
  runStage,
  type StageRunnerDeps,
} from '../../lambdas/core/stage-runner';
import { createIntentSchema, newIntent } from '../../lambdas/domain/create';
import { MAX_RECIPIENTS_PER_STEP } from '../../lambdas/domain/stages';
import { LOCAL_TABLE_NAME } from '../../local/stack';
import { verifyTrail } from '../../sdk/src/audit';
import { startLocalTable, withEvents } from '../adapters/local-table';
import { T0 } from '../domain/fixtures';
import { PERMISSIVE_BASE } from '../fakes/memory-policies';
import { testSigner } from '../handlers/signing-key';

/** Attempts the state machine gives a stage task (its Retry), as in the failing deployment. */
const STAGE_ATTEMPTS = 6;

let stop: () => Promise<void> = async () => undefined;
let intents: DynamoIntentRepository;

beforeAll(async () => {
  const local = await startLocalTable('ddb-stage-chunks');
  stop = local.stop;
  intents = new DynamoIntentRepository(
    DynamoDBDocumentClient.from(local.client, { marshallOptions: { removeUndefinedValues: true } }),
    LOCAL_TABLE_NAME,
  );
}, 90_000);
afterAll(() => stop());

class Outboxes implements SlackGateway {
  emails: EmailMessage[] = [];
  posted: SlackMessage[] = [];
  email = {
    send: async (message: EmailMessage) => {
      this.emails.push(message);
      return { messageId: `ses-${this.emails.length}` };
    },
  };
  async userIdByEmail(email: string) {
    return `U_${email}`;
  }
  async emailOfUser() {
    return null;
  }
  async postMessage(message: SlackMessage) {
    this.posted.push(message);
    return { channel: message.channel, ts: `1780000000.${this.posted.length}` };
  }
  updated: (SlackMessage & { ts: string })[] = [];
  async updateMessage(message: SlackMessage & { ts: string }) {
    this.updated.push(message);
  }
  async postEphemeral() {}
  async openView() {}
}

function depsFor(outboxes: Outboxes, teamList: Team[]): StageRunnerDeps & { signer: Signer } {
  const teams: TeamRepository = {
    get: async (name) => teamList.find((team) => team.name === name) ?? null,
    put: async () => undefined,
    list: async () => teamList,
    delete: async () => false,
  };
  return {
    intents,
    teams,
    workflow: { start: async () => undefined, wake: async () => 'delivered' },
    clock: { now: () => T0 },
    email: outboxes.email,
    slack: new SlackNotifier(outboxes, teams),
    publicBaseUrl: 'https://approvals.example.com',
    linkSigningSecret: 'test-secret',
    signer: testSigner(),
  };
}

async function createIntent(id: string, reviewers: string[], channels: string[]) {
  const input = createIntentSchema.parse({
    intent_type: 'intent.report.review_approval.v1',
    to_agent: 'agent://myorg/production/report-generator',
    payload: { report: 'Q1' },
    reviewers,
    policy: { channels },
  });
  const { intent, events } = newIntent(input, {
    id,
    from_agent: 'agent://myorg/production/report-generator',
    now: T0,
    configuredChannels: ['email', 'slack'],
    operatorPolicy: {},
    policySource: { name: 'built-in', version: 0, source: 'built-in' },
    base: PERMISSIVE_BASE,
    allowLoopbackCallbacks: false,
  });
  const sealed = withEvents(intent, events);
  await intents.create(sealed.intent, sealed.events);
}

/** The first stage's task, retried by the state machine while it fails. */
async function runFirstStage(
  deps: StageRunnerDeps & { signer: Signer },
  id: string,
): Promise<number> {
  const plan = await planNextStage(deps, id);
  expect(plan.action).toBe('await');
  for (let attempt = 1; ; attempt += 1) {
    try {
      await runStage(deps, {
        intent_id: id,
        step: plan.step ?? 0,
        stage: plan.stage ?? 0,
        task_token: `token-${attempt}`,
      });
      return attempt;
    } catch (error) {
      if (attempt >= STAGE_ATTEMPTS) throw error;
    }
  }
}

const counts = (list: string[]) =>
  list.reduce((map, to) => map.set(to, (map.get(to) ?? 0) + 1), new Map<string, number>());

describe('a stage with many notices (DynamoDB Local)', () => {
  it('tells 50 reviewers on email and Slack once each, and records every notice', async () => {
    const reviewers = Array.from({ length: 50 }, (_, i) => `reviewer${i}@company.com`);
    await createIntent('int_BIGSTAGE', reviewers, ['email', 'slack']);
    const outboxes = new Outboxes();

    expect(await runFirstStage(depsFor(outboxes, []), 'int_BIGSTAGE')).toBe(1);

    expect(counts(outboxes.emails.map((m) => m.to))).toEqual(new Map(reviewers.map((r) => [r, 1])));
    expect(counts(outboxes.posted.map((m) => m.channel))).toEqual(
      new Map(reviewers.map((r) => [`U_${r}`, 1])),
    );
    const stored = await intents.get('int_BIGSTAGE');
    expect(stored?.pending_notifications).toEqual([]);
    expect(stored?.sent_messages).toHaveLength(100);
    const trail = await intents.events('int_BIGSTAGE');
    const notified = trail.filter((event) => event.type === 'notified');
    expect(notified.map((event) => `${event.channel}:${String(event.data.to)}`).sort()).toEqual(
      reviewers.flatMap((r) => [`email:${r}`, `slack:${r}`]).sort(),
    );
    expect(verifyTrail(trail).ok).toBe(true);
  }, 60_000);

  it('tells a 100-member team by email once each', async () => {
    const members = Array.from({ length: 100 }, (_, i) => `member${i}@company.com`);
    await createIntent('int_BIGTEAM', ['team:everyone'], ['email']);
    const outboxes = new Outboxes();
    const team = { name: 'everyone', members, slack_channel: null, updated_at: '' };

    expect(await runFirstStage(depsFor(outboxes, [team]), 'int_BIGTEAM')).toBe(1);

    expect(counts(outboxes.emails.map((m) => m.to))).toEqual(new Map(members.map((m) => [m, 1])));
    const trail = await intents.events('int_BIGTEAM');
    expect(
      trail
        .filter((event) => event.type === 'notified')
        .map((event) => String(event.data.to))
        .sort(),
    ).toEqual([...members].sort());
  }, 60_000);

  it('re-sends only the batch whose record was lost when the stage task is retried', async () => {
    const reviewers = Array.from({ length: 40 }, (_, i) => `crash${i}@company.com`);
    await createIntent('int_CRASH', reviewers, ['email']);
    const outboxes = new Outboxes();
    const deps = depsFor(outboxes, []);
    let commits = 0;
    // The third record of the stage (after entering it and recording a first batch) is lost.
    const failing = Object.create(intents) as DynamoIntentRepository;
    failing.commit = async (...args) => {
      commits += 1;
      if (commits === 3) throw new Error('connection reset');
      return intents.commit(...args);
    };

    expect(await runFirstStage({ ...deps, intents: failing }, 'int_CRASH')).toBe(2);

    const told = counts(outboxes.emails.map((m) => m.to));
    expect([...told.keys()].sort()).toEqual([...reviewers].sort());
    expect([...told.values()].filter((n) => n > 1)).toHaveLength(NOTICES_PER_BATCH);
    const notified = (await intents.events('int_CRASH')).filter((e) => e.type === 'notified');
    expect(notified).toHaveLength(reviewers.length);
  }, 60_000);

  it('tells each person of a big stage decided mid-send the outcome exactly once', async () => {
    const reviewers = Array.from({ length: 50 }, (_, i) => `mid${i}@company.com`);
    await createIntent('int_MIDSEND', reviewers, ['email', 'slack']);
    const outboxes = new Outboxes();
    const deps = depsFor(outboxes, []);
    const send = outboxes.email.send;
    // The first reviewer approves from their email while the stage is still sending.
    let voted = false;
    deps.email = {
      send: async (message) => {
        if (outboxes.emails.length >= 20 && !voted) {
          voted = true;
          await recordVote(deps, 'int_MIDSEND', {
            by: reviewers[0] ?? '',
            outcome: 'approve',
            comment: null,
            channel: 'api',
            override: false,
          });
        }
        return send(message);
      },
    };

    await runFirstStage(deps, 'int_MIDSEND');
    expect(await notifyDecided(deps, { intent_id: 'int_MIDSEND', attempt: 0 })).toMatchObject({
      failed: 0,
    });

    const decidedEmails = outboxes.emails.filter((m) => m.kind === 'decided').map((m) => m.to);
    expect(counts(decidedEmails)).toEqual(new Map(reviewers.slice(1).map((r) => [r, 1])));
    expect(counts(outboxes.updated.map((m) => m.ts)).size).toBe(outboxes.posted.length);
    expect(outboxes.updated).toHaveLength(outboxes.posted.length);
    const stored = await intents.get('int_MIDSEND');
    expect(stored?.status).toBe('approved');
    expect(stored?.pending_notifications).toEqual([]);
  }, 60_000);

  it(`asks at most ${MAX_RECIPIENTS_PER_STEP} people per step and says in the trail who was left out`, async () => {
    const teams = [0, 1, 2].map((t) => ({
      name: `team${t}`,
      members: Array.from({ length: 100 }, (_, i) => `t${t}m${i}@company.com`),
      slack_channel: null,
      updated_at: '',
    }));
    await createIntent('int_HUGE', ['team:team0', 'team:team1', 'team:team2'], ['email']);
    const outboxes = new Outboxes();

    await runFirstStage(depsFor(outboxes, teams), 'int_HUGE');

    expect(new Set(outboxes.emails.map((m) => m.to)).size).toBe(MAX_RECIPIENTS_PER_STEP);
    expect(outboxes.emails).toHaveLength(MAX_RECIPIENTS_PER_STEP);
    const stored = await intents.get('int_HUGE');
    expect(stored?.recipients).toHaveLength(MAX_RECIPIENTS_PER_STEP);
    const leftOut = (await intents.events('int_HUGE')).find(
      (event) => event.type === 'notification_failed',
    );
    expect(leftOut?.data).toMatchObject({
      error: 'recipient_limit',
      not_notified_count: 100,
      not_notified: expect.arrayContaining(['t2m0@company.com']),
    });
  }, 60_000);
});
