import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CountersignClient, type CountersignError } from '../../sdk/src/index';
import {
  newDataDir,
  outboxItems,
  removeDataDir,
  reviewerClients,
  type StackProcess,
  startStack,
  until,
} from './harness';

/**
 * Races a user can cause: many reviewers deciding at once through different channels, a decision
 * landing as the timeout fires, a cancel landing with a decision. Each intent must end with
 * exactly one final event, and every loser must learn the winner (409 with the intent, or the
 * review page saying who decided).
 */
const FINAL = ['approved', 'rejected', 'timed_out', 'cancelled'];
let stack: StackProcess;
let dataDir: string;
let agent: CountersignClient;
let admin: CountersignClient;

beforeAll(async () => {
  dataDir = newDataDir();
  stack = await startStack(dataDir);
  agent = new CountersignClient({ baseUrl: stack.url, apiKey: stack.settings.api_keys.agent });
  admin = new CountersignClient({ baseUrl: stack.url, apiKey: stack.settings.api_keys.admin });
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  removeDataDir(dataDir);
});

const reviewer = reviewerClients(() => stack);

async function reviewLinks(intentId: string): Promise<Map<string, string>> {
  const items = await outboxItems(stack);
  return new Map(
    items
      .filter((item) => item.intent_id === intentId && item.channel === 'email')
      .map((item) => [item.to, item.review_url ?? '']),
  );
}

/** Opens the review page as a browser would; returns the submission of its form. */
async function openReviewPage(reviewUrl: string) {
  const page = await (await fetch(reviewUrl)).text();
  const nonce = /name="nonce" value="([^"]+)"/.exec(page)?.[1];
  if (!nonce) throw new Error('the review page has no form');
  return async (outcome: 'approve' | 'reject', comment: string) => {
    const response = await fetch(reviewUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ nonce, outcome, comment }).toString(),
    });
    return { status: response.status, html: await response.text() };
  };
}

async function finalEvents(id: string): Promise<string[]> {
  return (await admin.events(id)).items.map((e) => e.type).filter((type) => FINAL.includes(type));
}

const payloadFor = (reviewers: string[]) => ({
  intent_type: 'intent.race.v1',
  to_agent: 'agent://myorg/race',
  payload: { reviewers },
});

describe('races', () => {
  it('six reviewers on two channels decide at once: one winner, one final event', async () => {
    const emails = Array.from({ length: 6 }, (_, n) => `r${n}@company.com`);
    const id = await agent.sendIntent({
      ...payloadFor(emails),
      policy: { timeout: { after: '1h' } },
    });
    const links = await until(
      async () => {
        const found = await reviewLinks(id);
        return found.size === emails.length ? found : undefined;
      },
      15_000,
      'the review emails',
    );
    const clients = await Promise.all(emails.map((email) => reviewer(email)));
    // Every page is open before anyone clicks, as when several people read the same email.
    const forms = await Promise.all(emails.map((email) => openReviewPage(links.get(email) ?? '')));
    const attempts = emails.map((_email, n) =>
      n % 2 === 0
        ? (clients[n] as CountersignClient)
            .decide(id, { outcome: n % 4 === 0 ? 'approve' : 'reject', comment: 'api' })
            .then(
              () => 'won' as const,
              (error: unknown) => (error as CountersignError).code,
            )
        : (forms[n] as Awaited<ReturnType<typeof openReviewPage>>)(
            n % 3 === 0 ? 'approve' : 'reject',
            'email',
          ).then((result) =>
            result.status === 200
              ? 'won'
              : result.status === 409 && result.html.includes('Nothing changed.')
                ? 'already_decided'
                : `page ${result.status}`,
          ),
    );
    const outcomes = await Promise.all(attempts);
    expect(outcomes.filter((outcome) => outcome === 'won')).toHaveLength(1);
    expect(
      outcomes.filter((outcome) => outcome !== 'won').every((o) => o === 'already_decided'),
    ).toBe(true);
    expect(await finalEvents(id)).toHaveLength(1);
    const final = await agent.getIntent(id);
    expect(['approved', 'rejected']).toContain(final.status);
  });

  it('a decision at the moment of the timeout: exactly one of them wins', async () => {
    const results: string[] = [];
    for (let round = 0; round < 3; round += 1) {
      const id = await agent.sendIntent({
        ...payloadFor(['late@company.com']),
        policy: { remind_after: [], timeout: { after: '2s', action: 'reject' } },
      });
      const created = await agent.getIntent(id);
      const late = await reviewer('late@company.com');
      const deadline = Date.parse(created.deadline_at);
      // Fire a burst of decisions spread around the deadline.
      const burst = [-150, -50, 0, 50, 150].map(async (offset) => {
        await new Promise((resolve) =>
          setTimeout(resolve, Math.max(0, deadline + offset - Date.now())),
        );
        return late.decide(id, { outcome: 'approve' }).then(
          () => 'decision',
          (error: unknown) => (error as CountersignError).code,
        );
      });
      const outcomes = await Promise.all(burst);
      const final = await agent.waitFor(id, { timeoutMs: 15_000 });
      expect(await finalEvents(id)).toHaveLength(1);
      if (final.status === 'approved') {
        expect(outcomes.filter((o) => o === 'decision')).toHaveLength(1);
      } else {
        expect(final.status).toBe('timed_out');
        expect(outcomes.every((o) => o === 'already_decided')).toBe(true);
      }
      results.push(final.status);
    }
    expect(results).toHaveLength(3);
  }, 60_000);

  it('a cancel racing a decision: exactly one lands, the other is told why', async () => {
    for (let round = 0; round < 5; round += 1) {
      const id = await agent.sendIntent({
        ...payloadFor(['fast@company.com']),
        policy: { timeout: { after: '1h' } },
      });
      const fast = await reviewer('fast@company.com');
      const [decision, cancel] = await Promise.allSettled([
        fast.decide(id, { outcome: 'approve' }),
        agent.cancel(id, 'changed my mind'),
      ]);
      const final = await agent.waitFor(id, { timeoutMs: 10_000 });
      expect(await finalEvents(id)).toHaveLength(1);
      if (final.status === 'approved') {
        expect(decision.status).toBe('fulfilled');
        expect(cancel.status === 'rejected' && (cancel.reason as CountersignError).code).toBe(
          'not_pending',
        );
      } else {
        expect(final.status).toBe('cancelled');
        expect(cancel.status).toBe('fulfilled');
        expect(decision.status === 'rejected' && (decision.reason as CountersignError).code).toBe(
          'already_decided',
        );
      }
    }
  });
});
