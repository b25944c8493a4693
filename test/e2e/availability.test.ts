import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CountersignClient } from '../../sdk/src/index';
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
 * Reviewer availability on the real local stack: out of office routes notices to the delegate,
 * who decides in the recipient's place; a reminder due outside working hours waits in the state
 * machine's Wait state until the window opens, across a restart of `npm start`; a decision
 * during that wait resumes the agent and finishes the intent at once.
 */
let dataDir: string;
let stack: StackProcess;
let agent: CountersignClient;
let admin: CountersignClient;
const reviewer = reviewerClients(() => stack);

beforeAll(async () => {
  dataDir = newDataDir();
  stack = await startStack(dataDir);
  agent = new CountersignClient({ baseUrl: stack.url, apiKey: stack.settings.api_keys.agent });
  admin = new CountersignClient({ baseUrl: stack.url, apiKey: stack.settings.api_keys.admin });
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  if (dataDir) removeDataDir(dataDir);
});

const emailsFor = async (id: string) =>
  (await outboxItems(stack)).filter((item) => item.intent_id === id && item.channel === 'email');

const ZONE = 'Asia/Kathmandu'; // UTC+05:45

/** The weekday and HH:MM of `at` on the clocks of ZONE. */
function wallClock(at: number): { day: string; hhmm: string } {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', {
      timeZone: ZONE,
      weekday: 'short',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    })
      .formatToParts(new Date(at))
      .map((part) => [part.type, part.value]),
  );
  return { day: String(parts.weekday).toLowerCase(), hhmm: `${parts.hour}:${parts.minute}` };
}

describe('out of office', () => {
  it('sends the notice to the delegate, whose decision shows on_behalf_of', async () => {
    const away = await reviewer('away@company.com');
    const profile = await away.putReviewerProfile('me', {
      out_of_office: {
        from: new Date(Date.now() - 60_000).toISOString(),
        until: new Date(Date.now() + 3_600_000).toISOString(),
        delegate: 'Deputy@Company.com',
      },
    });
    expect(profile.out_of_office?.delegate).toBe('deputy@company.com');
    expect(
      (await admin.listReviewerProfiles({ outOfOffice: true })).items.map((p) => p.email),
    ).toEqual(['away@company.com']);

    const id = await agent.sendIntent({
      intent_type: 'intent.availability.ooo.v1',
      to_agent: 'agent://myorg/availability',
      payload: { amount: 5 },
      reviewers: ['away@company.com'],
      policy: { timeout: { after: '1h' } },
    });
    const notice = await until(
      async () => (await emailsFor(id)).find((item) => item.kind === 'notify'),
      20_000,
      'the first notice',
    );
    expect(notice.to).toBe('deputy@company.com');
    expect((await emailsFor(id)).some((item) => item.to === 'away@company.com')).toBe(false);

    const deputy = await reviewer('deputy@company.com');
    const decided = await deputy.approve(id, 'covering for the holidays');
    expect(decided.status).toBe('approved');
    expect(decided.decision).toMatchObject({
      by: 'deputy@company.com',
      on_behalf_of: 'away@company.com',
    });
    const trail = (await agent.events(id)).items;
    expect(trail.filter((event) => event.type === 'delegated').map((event) => event.data)).toEqual([
      expect.objectContaining({
        kind: 'notify',
        on_behalf_of: 'away@company.com',
        to: 'deputy@company.com',
      }),
      expect.objectContaining({
        kind: 'vote',
        by: 'deputy@company.com',
        on_behalf_of: 'away@company.com',
      }),
    ]);
  }, 60_000);
});

describe('reminders held for working hours', () => {
  it('holds a reminder until the window opens across a restart; a decision during the hold resumes at once', async () => {
    // A working window that opens at the first whole minute at least 50 s away: the restart
    // below fits in between.
    const opensAt = Math.ceil((Date.now() + 50_000) / 60_000) * 60_000;
    const start = wallClock(opensAt);
    const end = wallClock(opensAt + 10 * 60_000);
    for (const email of ['night@company.com', 'owl@company.com']) {
      await (await reviewer(email)).putReviewerProfile('me', {
        time_zone: ZONE,
        working_hours: { [start.day]: [`${start.hhmm}-${end.hhmm}`] },
      });
    }
    const create = (email: string) =>
      agent.sendIntent({
        intent_type: 'intent.availability.hold.v1',
        to_agent: 'agent://myorg/availability',
        payload: { email },
        reviewers: [email],
        policy: { remind_after: ['2s'], timeout: { after: '1h' } },
      });
    const held = await create('night@company.com');
    const decidedDuringHold = await create('owl@company.com');

    // First notices go out at once, outside working hours; the reminders are held.
    for (const id of [held, decidedDuringHold]) {
      await until(
        async () =>
          (await emailsFor(id)).some((item) => item.kind === 'notify') ? true : undefined,
        20_000,
        'the first notice',
      );
      const hold = await until(
        async () => (await agent.events(id)).items.find((event) => event.type === 'reminder_held'),
        20_000,
        'the reminder hold',
      );
      expect(hold.data).toMatchObject({ until: new Date(opensAt).toISOString() });
    }
    expect((await emailsFor(held)).some((item) => item.kind === 'remind')).toBe(false);

    // A decision during the hold: the waiting agent resumes, and the intent finishes (the
    // decided notice goes out) long before the window opens.
    const waiting = agent.waitFor(decidedDuringHold, { timeoutMs: 30_000 });
    const decidedAt = Date.now();
    await (await reviewer('owl@company.com')).approve(decidedDuringHold);
    expect((await waiting).status).toBe('approved');
    expect(Date.now() - decidedAt).toBeLessThan(2_000);
    // The decider gets no email about their own decision; their Slack message is rewritten.
    await until(
      async () =>
        (await agent.events(decidedDuringHold)).items.some(
          (event) => event.type === 'notified' && event.data.kind === 'decided',
        )
          ? true
          : undefined,
      10_000,
      'the decided notice',
    );
    expect(Date.now()).toBeLessThan(opensAt);

    // A restart of the service during the hold.
    const port = Number(new URL(stack.url).port);
    await stack.stop();
    stack = await startStack(dataDir, port);
    expect(Date.now()).toBeLessThan(opensAt);

    const reminder = await until(
      async () => (await emailsFor(held)).find((item) => item.kind === 'remind'),
      opensAt - Date.now() + 10_000,
      'the held reminder',
    );
    expect(reminder.to).toBe('night@company.com');
    const sentAt = Date.parse(reminder.at);
    expect(sentAt).toBeGreaterThanOrEqual(opensAt);
    expect(sentAt - opensAt).toBeLessThan(2_000);
    // The intent decided during the hold got no reminder, and its held execution ended quietly.
    expect((await emailsFor(decidedDuringHold)).some((item) => item.kind === 'remind')).toBe(false);
  }, 180_000);
});
