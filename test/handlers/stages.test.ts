import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { EmailSendError } from '../../lambdas/core/ports';
import type { IntentState } from '../../lambdas/domain/intent';
import { verifyReviewLink } from '../../lambdas/domain/review-link';
import { setHandlerEnvironment } from './helpers';
import {
  LINK_SECRET,
  NOW,
  type PortFakes,
  pendingIntent,
  profileIn,
  resetPortFakes,
} from './port-fakes';

vi.mock('../../lambdas/shared/deps', async (importOriginal) => ({
  ...(await importOriginal<object>()),
  ...(await import('./port-fakes')).fakeDeps(),
}));

setHandlerEnvironment();
const { handler: stageTask } = await import('../../lambdas/handlers/stage-task');
const { handler: planStage } = await import('../../lambdas/handlers/plan-stage');
const { handler: notifyDecided } = await import('../../lambdas/handlers/notify-decided');

let fakes: PortFakes;
beforeEach(() => {
  fakes = resetPortFakes();
});
afterEach(() => vi.restoreAllMocks());

// The summary has markup, for the tests that it is escaped in the email.
const intent = (overrides: Partial<IntentState> = {}) =>
  pendingIntent({ summary: 'Deploy <b>v2</b>', payload: { amount: 10 }, ...overrides });

describe('Handler: stage-task', () => {
  it('stores the token, emails each recipient a signed review link, and records the notification', async () => {
    fakes.intents.seed(intent());

    const result = await stageTask({ intent_id: 'int_1', step: 0, stage: 0, task_token: 'tok-0' });

    expect(result).toEqual({ notified: 1 });
    expect(fakes.intents.stored()).toMatchObject({
      task_token: 'tok-0',
      stage_index: 0,
      pending_notifications: [],
    });
    expect(fakes.intents.trail().map((event) => [event.type, event.data])).toEqual([
      ['notified', { to: 'cfo@company.com', kind: 'notify', message_id: 'ses-1' }],
    ]);
    const [email] = fakes.email.sent;
    expect(email).toMatchObject({ to: 'cfo@company.com', intentId: 'int_1', kind: 'notify' });
    expect(email?.html).toContain('Deploy &lt;b&gt;v2&lt;/b&gt;');
    const reviewUrl = email?.reviewUrl ?? '';
    expect(reviewUrl.startsWith('https://approvals.example.com/review/')).toBe(true);
    // SES must not rewrite the link for click tracking: the page is the link itself.
    expect(email?.html).toContain(`<a ses:no-track href="${reviewUrl}"`);
    // The link is signed for this reviewer and intent, and carries no task token.
    expect(reviewUrl).not.toContain('tok-0');
    const verdict = verifyReviewLink(
      reviewUrl.split('/review/')[1] ?? '',
      LINK_SECRET,
      NOW.getTime() / 1000,
    );
    expect(verdict).toMatchObject({
      ok: true,
      claims: { intentId: 'int_1', reviewer: 'cfo@company.com' },
    });
    expect(fakes.workflow.woken).toHaveLength(0);
  });

  it("writes the email's times in the reader's zone from their reviewer profile", async () => {
    fakes.intents.seed(intent());
    await fakes.profiles.put(profileIn('cfo@company.com', 'Asia/Kathmandu'));

    await stageTask({ intent_id: 'int_1', step: 0, stage: 0, task_token: 'tok-0' });

    const text = fakes.email.sent[0]?.text;
    expect(text).toContain('GMT+5:45');
    expect(text).not.toContain('UTC');
  });

  it('answers its own token when the intent was decided before the stage began', async () => {
    fakes.intents.seed(intent({ status: 'approved' }));

    const result = await stageTask({ intent_id: 'int_1', step: 0, stage: 1, task_token: 'tok-1' });

    expect(result).toEqual({ notified: 0 });
    expect(fakes.workflow.woken.map((wake) => wake.taskToken)).toEqual(['tok-1']);
    expect(fakes.email.sent).toHaveLength(0);
  });
});

describe('Handler: plan-stage', () => {
  it('answers the pause until the next stage', async () => {
    fakes.intents.seed(intent());
    const result = await planStage({ intent_id: 'int_1' });
    // The first reminder is 300 s after the step started, which is now.
    expect(result).toMatchObject({ action: 'await', step: 0, stage: 0, timeout_seconds: 300 });
  });

  it('records the timeout once the deadline passed', async () => {
    fakes.intents.seed(intent({ deadline_at: new Date(NOW.getTime() - 1000).toISOString() }));
    const result = await planStage({ intent_id: 'int_1' });
    expect(result).toMatchObject({ action: 'finish', status: 'timed_out' });
    expect(fakes.intents.stored()).toMatchObject({
      status: 'timed_out',
      decision: { by: 'timeout', outcome: 'rejected' },
    });
    expect(fakes.intents.trail().map((event) => event.type)).toEqual(['timed_out']);
  });

  it('tells each emailed reviewer that the request timed out, without a link that expired', async () => {
    fakes.intents.seed(
      intent({
        deadline_at: new Date(NOW.getTime() - 1000).toISOString(),
        stage_index: 0,
        sent_messages: [
          { channel: 'email', to: 'cfo@company.com', message_id: 'ses-0' },
          { channel: 'email', to: 'ops@company.com', message_id: 'ses-1' },
        ],
      }),
    );

    // PlanStage records the timeout and sends nothing; NotifyDecided, the next state, tells.
    const result = await planStage({ intent_id: 'int_1' });
    expect(result).toMatchObject({ action: 'finish', status: 'timed_out' });
    expect(fakes.email.sent).toHaveLength(0);
    expect(await notifyDecided({ intent_id: 'int_1', attempt: 0 })).toEqual({ sent: 2, failed: 0 });

    const sent = fakes.email.sent;
    expect(sent.map((email) => email.to)).toEqual(['cfo@company.com', 'ops@company.com']);
    const [first] = sent;
    expect(first).toMatchObject({
      subject: 'Timed out: Deploy <b>v2</b>',
      kind: 'decided',
      reviewUrl: null,
    });
    expect(first?.text).toContain('so it was rejected automatically');
    expect(first?.text).not.toContain('/review/');
    expect(first?.html).not.toContain('/review/');
    expect(fakes.intents.stored()).toMatchObject({
      decided_notices: ['email:cfo@company.com', 'email:ops@company.com'],
      pending_notifications: [],
    });
    // A second run (a retried task) sends nothing again.
    expect(await notifyDecided({ intent_id: 'int_1', attempt: 1 })).toEqual({ sent: 0, failed: 0 });
    expect(fakes.email.sent).toHaveLength(2);
  });

  it('throws when SES throttled a decided notice, so the task retries it; the last attempt records it as failed', async () => {
    const rejected = intent({
      status: 'rejected',
      decision: {
        outcome: 'rejected',
        by: 'ops@company.com',
        at: NOW.toISOString(),
        comment: 'no',
        channel: 'api',
      },
      sent_messages: [{ channel: 'email', to: 'cfo@company.com', message_id: 'ses-0' }],
    });
    fakes.intents.seed(rejected);
    // What the email adapter throws when SES throttles: a failure that may pass.
    const throttled = new EmailSendError(
      'TooManyRequestsException: Maximum sending rate exceeded.',
      true,
    );
    fakes.email.failure = throttled;

    await expect(notifyDecided({ intent_id: 'int_1', attempt: 0 })).rejects.toThrow(
      /1 of 1 decided notices failed for now/,
    );
    // Nothing was written: the notice follows from the stored intent, and is found again.
    expect(fakes.intents.stored()).toEqual(rejected);
    expect(fakes.intents.trail()).toEqual([]);

    // The retry sends it once more and records it, queued and settled in one write.
    fakes.email.failure = null;
    expect(await notifyDecided({ intent_id: 'int_1', attempt: 1 })).toEqual({ sent: 1, failed: 0 });
    expect(fakes.email.sent.map((email) => [email.to, email.kind])).toEqual([
      ['cfo@company.com', 'decided'],
    ]);
    expect(fakes.intents.trail().map((event) => [event.type, event.data])).toEqual([
      ['notified', { to: 'cfo@company.com', kind: 'decided', message_id: 'ses-1' }],
    ]);

    // Had it failed on the last attempt, it is recorded as failed and the task ends normally.
    fakes.intents.seed({
      ...fakes.intents.stored(),
      decided_notices: [],
      pending_notifications: [],
    });
    fakes.email.failure = throttled;
    expect(await notifyDecided({ intent_id: 'int_1', attempt: 2 })).toEqual({ sent: 0, failed: 1 });
    expect(fakes.intents.trail().map((event) => event.type)).toEqual(['notification_failed']);
    expect(fakes.intents.stored()).toMatchObject({ pending_notifications: [] });
  });
});
