import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OutboxItem } from '../../local/outbox';
import {
  buildBlockActionsBody,
  buildViewSubmissionBody,
  type EphemeralMessage,
  type OpenedView,
  signSlackRequest,
  slackUserIdFor,
} from '../../local/standins/slack';
import { CountersignClient } from '../../sdk/src/index';
import { newDataDir, removeDataDir, type StackProcess, startStack, until } from './harness';

/**
 * The Slack channel on the local stack, as a reviewer in Slack would use it: the message in the
 * outbox (as the stand-in received it from the real `@slack/web-api` client), a click replayed
 * exactly as Slack sends it (form body, v0 signature with the signing secret of local.json),
 * the Reject modal and its submission, and the requests Slack would never let through.
 */
let stack: StackProcess;
let dataDir: string;
let agent: CountersignClient;

beforeAll(async () => {
  dataDir = newDataDir();
  stack = await startStack(dataDir);
  agent = new CountersignClient({ baseUrl: stack.url, apiKey: stack.settings.api_keys.agent });
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  removeDataDir(dataDir);
});

interface Button {
  action_id: string;
  value?: string;
  url?: string;
}
interface Block {
  type: string;
  block_id?: string;
  elements?: Button[];
}

async function asAdmin<T>(path: string): Promise<T> {
  const response = await fetch(`${stack.url}${path}`, {
    headers: { Authorization: `Bearer ${stack.settings.api_keys.admin}` },
  });
  expect(response.status).toBe(200);
  return (await response.json()) as T;
}

async function slackMessage(
  intentId: string,
): Promise<OutboxItem & { slack: { blocks: Block[] } }> {
  const { items } = await asAdmin<{ items: OutboxItem[] }>('/_local/outbox');
  const item = items.find((entry) => entry.intent_id === intentId && entry.channel === 'slack');
  if (!item?.slack) throw new Error(`no Slack message for ${intentId}`);
  return item as OutboxItem & { slack: { blocks: Block[] } };
}

async function firstSlackMessage(intentId: string) {
  return until(
    () => slackMessage(intentId).catch(() => undefined),
    10_000,
    `the Slack message of ${intentId}`,
  );
}

const actionsOf = (blocks: Block[]) => blocks.find((block) => block.type === 'actions');

/** The click Slack would post for `actionId` in this message, by `userId`. */
function clickOn(
  message: OutboxItem & { slack: { blocks: Block[] } },
  actionId: string,
  userId: string,
  triggerId?: string,
): string {
  const actions = actionsOf(message.slack.blocks);
  const button = actions?.elements?.find((element) => element.action_id === actionId);
  if (!actions || !button?.value) throw new Error(`no ${actionId} button`);
  return buildBlockActionsBody({
    userId,
    channel: message.slack.channel,
    messageTs: message.slack.ts,
    actionId,
    blockId: actions.block_id,
    value: button.value,
    ...(triggerId ? { triggerId } : {}),
  });
}

function postToSlackEndpoint(
  body: string,
  secret = stack.settings.slack_signing_secret,
  timestamp = Math.floor(Date.now() / 1000),
) {
  return fetch(`${stack.url}/slack/interactions`, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/x-www-form-urlencoded',
      ...signSlackRequest(secret, body, timestamp),
    },
    body,
  });
}

async function ask(reviewer: string, summary: string): Promise<string> {
  return agent.sendIntent({
    intent_type: 'intent.payment.v1',
    to_agent: 'agent://myorg/payments',
    summary,
    payload: { vendor: 'ACME <!channel>', amount: 1200, reviewer },
  });
}

describe('Slack on the local stack', () => {
  it('notifies the reviewer; Approve decides, the waiting agent resumes, the message shows who decided', async () => {
    const id = await ask('alice@company.com', 'Pay the ACME invoice');
    const waiting = agent.waitFor(id, { timeoutMs: 20_000 });

    const message = await firstSlackMessage(id);
    expect(message).toMatchObject({
      channel: 'slack',
      to: 'alice@company.com',
      kind: 'notify',
      slack: { user: slackUserIdFor('alice@company.com') },
    });
    expect(message.review_url).toMatch(new RegExp(`^${stack.url}/review/`));
    const buttons = actionsOf(message.slack.blocks)?.elements ?? [];
    expect(buttons.map((button) => [button.action_id, button.value ?? button.url])).toEqual([
      ['countersign.approve', `${id}:0`],
      ['countersign.reject', `${id}:0`],
      ['countersign.open_review', message.review_url],
    ]);
    // The agent's payload is shown, not obeyed.
    expect(JSON.stringify(message.slack.blocks)).toContain('ACME &lt;!channel&gt;');

    const alice = slackUserIdFor('alice@company.com');
    const click = clickOn(message, 'countersign.approve', alice);
    const answer = await postToSlackEndpoint(click);
    expect(answer.status).toBe(200);

    const result = await waiting;
    expect(result.status).toBe('approved');
    expect(result.decision).toMatchObject({ by: 'alice@company.com', channel: 'slack' });

    const updated = await slackMessage(id);
    expect(updated.id).toBe(message.id);
    expect(actionsOf(updated.slack.blocks)).toBeUndefined();
    expect(JSON.stringify(updated.slack.blocks)).toContain(
      '*Approved* by alice@company.com via slack',
    );

    // Slack may deliver a click twice (or a person double-clicks): nothing changes. Once the
    // handlers are loaded, the answer comes well within the 3 seconds Slack waits.
    const started = Date.now();
    expect((await postToSlackEndpoint(click)).status).toBe(200);
    expect(Date.now() - started).toBeLessThan(3000);
    const trail = (await agent.events(id)).items;
    expect(trail.filter((event) => event.type === 'approval')).toHaveLength(1);
    expect(trail).toContainEqual(
      expect.objectContaining({
        type: 'notified',
        channel: 'slack',
        data: expect.objectContaining({ to: 'alice@company.com' }),
      }),
    );
  });

  it('Reject opens a modal; its submitted reason rejects and the message says so', async () => {
    const id = await ask('bob@company.com', 'Pay the Initech invoice');
    const waiting = agent.waitFor(id, { timeoutMs: 20_000 });
    const message = await firstSlackMessage(id);
    const bob = slackUserIdFor('bob@company.com');

    const trigger = `e2e-trigger-${id}`;
    expect(
      (await postToSlackEndpoint(clickOn(message, 'countersign.reject', bob, trigger))).status,
    ).toBe(200);
    expect((await agent.getIntent(id)).status).toBe('pending');

    const { views } = await asAdmin<{ views: OpenedView[] }>('/_local/slack');
    const opened = views.find((view) => view.trigger_id === trigger);
    expect(opened?.view).toMatchObject({ type: 'modal', title: { text: 'Reject request' } });

    const submission = buildViewSubmissionBody({
      userId: bob,
      view: {
        id: opened?.id ?? '',
        callback_id: opened?.view.callback_id,
        private_metadata: opened?.view.private_metadata,
      },
      values: { reason: { reason: 'Initech is not an approved vendor' } },
    });
    const answer = await postToSlackEndpoint(submission);
    expect(answer.status).toBe(200);
    expect(await answer.json()).toEqual({ response_action: 'clear' });

    const result = await waiting;
    expect(result.status).toBe('rejected');
    expect(result.decision).toMatchObject({
      by: 'bob@company.com',
      channel: 'slack',
      comment: 'Initech is not an approved vendor',
    });
    const updated = await slackMessage(id);
    expect(actionsOf(updated.slack.blocks)).toBeUndefined();
    expect(JSON.stringify(updated.slack.blocks)).toContain(
      '*Rejected* by bob@company.com via slack',
    );
  });

  it('Edit and approve opens a modal with the editable values; its submission approves the edit', async () => {
    const id = await agent.sendIntent({
      intent_type: 'intent.payment.v1',
      to_agent: 'agent://myorg/payments',
      summary: 'Pay the Globex invoice',
      payload: { vendor: 'Globex', amount: 1200, reviewer: 'eve@company.com' },
      editable: ['/amount'],
    });
    const waiting = agent.waitFor(id, { timeoutMs: 20_000 });
    const message = await firstSlackMessage(id);
    const eve = slackUserIdFor('eve@company.com');

    const trigger = `e2e-edit-${id}`;
    expect(
      (await postToSlackEndpoint(clickOn(message, 'countersign.edit', eve, trigger))).status,
    ).toBe(200);
    expect((await agent.getIntent(id)).status).toBe('pending');
    const { views } = await asAdmin<{ views: OpenedView[] }>('/_local/slack');
    const opened = views.find((view) => view.trigger_id === trigger);
    expect(opened?.view).toMatchObject({ type: 'modal', title: { text: 'Edit and approve' } });
    expect(JSON.stringify(opened?.view.blocks)).toContain('"initial_value":"1200"');

    const answer = await postToSlackEndpoint(
      buildViewSubmissionBody({
        userId: eve,
        view: {
          id: opened?.id ?? '',
          callback_id: opened?.view.callback_id,
          private_metadata: opened?.view.private_metadata,
        },
        values: { 'edit.0': { value: '950' }, comment: { reason: 'Discount applied' } },
      }),
    );
    expect(answer.status).toBe(200);
    expect(await answer.json()).toEqual({ response_action: 'clear' });

    const result = await waiting;
    expect(result).toMatchObject({
      status: 'approved',
      approved_payload: { vendor: 'Globex', amount: 950, reviewer: 'eve@company.com' },
      decision: { by: 'eve@company.com', channel: 'slack', edits: { '/amount': 950 } },
    });
  });

  it('refuses a click by a Slack user who is not a recipient, telling only them', async () => {
    // Dave is a real member of the workspace (he was notified of his own request)...
    const his = await ask('dave@company.com', 'Dave’s own request');
    await firstSlackMessage(his);
    // ...but is not asked to decide Carol's.
    const id = await ask('carol@company.com', 'Pay the Globex invoice');
    const message = await firstSlackMessage(id);
    const dave = slackUserIdFor('dave@company.com');

    const answer = await postToSlackEndpoint(clickOn(message, 'countersign.approve', dave));
    expect(answer.status).toBe(200);

    const { ephemerals } = await asAdmin<{ ephemerals: EphemeralMessage[] }>('/_local/slack');
    expect(ephemerals.filter((e) => e.user === dave).map((e) => e.text)).toEqual([
      'You (dave@company.com) are not asked to decide this request, so nothing was changed.',
    ]);
    const intent = await agent.getIntent(id);
    expect(intent).toMatchObject({ status: 'pending', approvals: [], decision: null });
    expect(actionsOf((await slackMessage(id)).slack.blocks)).toBeDefined();
  });

  it('in a chain asking the same reviewer twice, a replayed step-1 click does not approve step 2', async () => {
    const id = await agent.sendIntent({
      intent_type: 'intent.payment.v1',
      to_agent: 'agent://myorg/payments',
      summary: 'Wire the Hooli deposit',
      payload: { vendor: 'Hooli', amount: 90_000 },
      policy: {
        channels: ['slack'],
        steps: [{ reviewers: ['gil@company.com'] }, { reviewers: ['gil@company.com'] }],
      },
    });
    const gil = slackUserIdFor('gil@company.com');
    const stepOne = await firstSlackMessage(id);
    const click = clickOn(stepOne, 'countersign.approve', gil);
    const signedAt = Math.floor(Date.now() / 1000);
    expect((await postToSlackEndpoint(click, undefined, signedAt)).status).toBe(200);

    // Step 2 asks Gil again, in a message of its own.
    const stepTwo = await until(
      async () => {
        const { items } = await asAdmin<{ items: OutboxItem[] }>('/_local/outbox');
        return items.find(
          (item) => item.intent_id === id && item.channel === 'slack' && item.id !== stepOne.id,
        ) as (OutboxItem & { slack: { blocks: Block[] } }) | undefined;
      },
      10_000,
      `the step-2 message of ${id}`,
    );

    // The very same signed request again, as a replay or a double click would send it.
    expect((await postToSlackEndpoint(click, undefined, signedAt)).status).toBe(200);
    const { ephemerals } = await asAdmin<{ ephemerals: EphemeralMessage[] }>('/_local/slack');
    expect(ephemerals.filter((e) => e.user === gil).map((e) => e.text)).toEqual([
      'Your approval of step 1 of 2 is already recorded; nothing was changed. Step 2 of 2 now waits for its reviewers; it has its own message.',
    ]);
    const between = await agent.getIntent(id);
    expect(between).toMatchObject({ status: 'pending', step: 1 });
    expect(between.approvals.map((a) => [a.by, a.step])).toEqual([['gil@company.com', 0]]);

    // Gil's own click on the step-2 message is his second approval, and decides.
    const waiting = agent.waitFor(id, { timeoutMs: 20_000 });
    expect((await postToSlackEndpoint(clickOn(stepTwo, 'countersign.approve', gil))).status).toBe(
      200,
    );
    expect((await waiting).status).toBe('approved');
    const trail = (await agent.events(id)).items;
    expect(trail.filter((event) => event.type === 'approval')).toHaveLength(2);
  });

  it('refuses a forged signature with 401 and changes nothing', async () => {
    const id = await ask('erin@company.com', 'Pay the Umbrella invoice');
    const message = await firstSlackMessage(id);
    const click = clickOn(message, 'countersign.approve', slackUserIdFor('erin@company.com'));

    const answer = await postToSlackEndpoint(click, 'not-the-signing-secret');

    expect(answer.status).toBe(401);
    expect(await answer.json()).toMatchObject({ error: { code: 'unauthenticated', details: [] } });
    const intent = await agent.getIntent(id);
    expect(intent).toMatchObject({ status: 'pending', approvals: [] });
    const types = (await agent.events(id)).items.map((event) => event.type);
    expect(types).not.toContain('approval');
    expect(actionsOf((await slackMessage(id)).slack.blocks)).toBeDefined();
  });
});
