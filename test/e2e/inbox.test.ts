import { existsSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CountersignClient, type Intent } from '../../sdk/src/index';
import { countOf, shown, textOf } from './browser-expect';
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
 * The reviewer inbox (`/inbox`) in Debian's Chromium, at phone size (390×844) and on a desktop,
 * as a reviewer uses it: ask for a sign-in link, open it from the outbox, see only what waits for
 * them (soonest deadline first), decide one, approve three at once after the confirmation. Every
 * screen is checked with axe-core and kept as a screenshot under test-results/inbox/. Around it,
 * over plain HTTP: a mail scanner's GET and HEAD of every link change nothing, and the forms
 * refuse other sites, stale CSRF tokens and used links.
 */
const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = path.resolve(import.meta.dirname, '../../test-results/inbox');
const AXE_SOURCE = (createRequire(import.meta.url)('axe-core') as { source: string }).source;

let stack: StackProcess;
let dataDir: string;
let agent: CountersignClient;
let admin: CountersignClient;
let browser: Browser;
let reviewerClient: (email: string) => Promise<CountersignClient>;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)`);
  }
  mkdirSync(ARTIFACTS, { recursive: true });
  dataDir = newDataDir();
  [stack, browser] = await Promise.all([
    startStack(dataDir),
    chromium.launch({ executablePath: CHROMIUM }),
  ]);
  agent = new CountersignClient({ baseUrl: stack.url, apiKey: stack.settings.api_keys.agent });
  admin = new CountersignClient({ baseUrl: stack.url, apiKey: stack.settings.api_keys.admin });
  reviewerClient = reviewerClients(() => stack);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
  if (dataDir) removeDataDir(dataDir);
});

/** An intent for `reviewer`, escalated to the controller after 20 min, rejected after `timeout`. */
async function ask(
  reviewer: string,
  summary: string,
  timeout = '2h',
  editable?: string[],
): Promise<Intent> {
  return agent.createIntent({
    ...(editable ? { editable } : {}),
    intent_type: 'intent.refund.v1',
    to_agent: 'agent://myorg/refunds',
    summary,
    payload: { customer: 'C-1042', amount: 120, currency: 'EUR', reviewer },
    policy: {
      timeout: { after: timeout, action: 'reject' },
      escalate: [{ after: '20m', to: ['controller@company.com'] }],
    },
  });
}

/** The newest sign-in link emailed to `email`, once it is in the outbox. */
async function signInLink(email: string, after = 0): Promise<string> {
  return until(
    async () => {
      const links = (await outboxItems(stack)).filter(
        (item) => item.kind === 'sign_in' && item.to === email,
      );
      return links.length > after ? (links.at(-1)?.review_url ?? undefined) : undefined;
    },
    15_000,
    `a sign-in link for ${email}`,
  );
}

const signInEmails = async (email: string) =>
  (await outboxItems(stack)).filter((item) => item.kind === 'sign_in' && item.to === email).length;

/** What axe-core finds on the page as it is now: each rule broken, and where. */
async function axeViolations(page: Page): Promise<{ id: string; targets: unknown[] }[]> {
  await page.evaluate(AXE_SOURCE);
  return page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(): Promise<{ violations: unknown[] }> } }).axe;
    const result = await axe.run();
    return (result.violations as { id: string; nodes: { target: unknown }[] }[]).map((v) => ({
      id: v.id,
      targets: v.nodes.map((node) => node.target),
    }));
  });
}

/** No accessibility violation that axe-core finds on the page as it is now. */
async function accessible(page: Page): Promise<void> {
  expect(await axeViolations(page)).toEqual([]);
}

async function screen(page: Page, size: string, name: string): Promise<void> {
  await accessible(page);
  await page.screenshot({ path: path.join(ARTIFACTS, `${size}-${name}.png`), fullPage: true });
}

/** Signs `email` in through the emailed link, in `page`; answers the signed-in inbox page. */
async function signIn(page: Page, email: string, size?: string): Promise<void> {
  const before = await signInEmails(email);
  await page.goto(`${stack.url}/inbox`);
  await page.getByLabel('Email address').fill(email);
  if (size) await screen(page, size, '1-sign-in');
  await page.getByRole('button', { name: 'Email me a sign-in link' }).click();
  await shown(page.getByRole('heading', { name: 'Check your email' }));
  if (size) await screen(page, size, '2-check-email');
  await page.goto(await signInLink(email, before));
  await shown(page.getByRole('button', { name: 'Sign in' }));
  await textOf(page.locator('form')).toContain(email);
  if (size) await screen(page, size, '3-confirm-sign-in');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await shown(page.getByRole('heading', { name: 'Waiting for you' }));
}

const VIEWPORTS = [
  { size: 'phone', viewport: { width: 390, height: 844 }, isMobile: true },
  { size: 'desktop', viewport: { width: 1280, height: 900 }, isMobile: false },
] as const;

describe.each(VIEWPORTS)('the inbox on a $size', ({ size, viewport, isMobile }) => {
  const me = `inbox-${size}@company.com`;
  let context: BrowserContext;
  let page: Page;

  beforeAll(async () => {
    context = await browser.newContext({ viewport, isMobile, hasTouch: isMobile });
    page = await context.newPage();
  });
  afterAll(async () => {
    await context?.close();
  });

  it('signs in through the emailed link, lists only my pending intents soonest first, decides one, and approves three at once', async () => {
    const later = await ask(me, `Refund C-1042 (${size}), due later`, '3h');
    const soonest = await ask(me, `Refund C-2001 (${size}), due soonest`, '30m');
    const middle = await ask(me, `Refund C-3003 (${size})`, '1h');
    const fourth = await ask(me, `Refund C-4004 (${size})`, '2h');
    const notMine = await ask(`someone-else-${size}@company.com`, `Not for me (${size})`, '10m');
    const decidedAlready = await ask(me, `Decided already (${size})`, '1h');
    await (await reviewerClient(me)).reject(decidedAlready.id, 'Duplicate');

    await signIn(page, me, size);

    // Only what waits for me, soonest deadline first.
    const rows = page.locator('li[data-intent-id]');
    await expect
      .poll(() =>
        rows.evaluateAll((items) => items.map((item) => item.getAttribute('data-intent-id'))),
      )
      .toEqual([soonest.id, middle.id, fourth.id, later.id]);
    await countOf(page.locator(`[data-intent-id="${notMine.id}"]`)).toBe(0);
    await countOf(page.locator(`[data-intent-id="${decidedAlready.id}"]`)).toBe(0);
    await screen(page, size, '4-inbox');

    // One intent: who asks, the details, what happens next; a rejection needs a reason.
    await page.getByRole('link', { name: soonest.summary }).click();
    await shown(page.getByRole('heading', { name: soonest.summary }));
    await textOf(page.locator('main')).toMatch(/Asked by agent:\/\/local\/default/);
    await textOf(page.locator('table.payload')).toMatch(/Customer\s*C-1042[\s\S]*Amount\s*120/);
    await textOf(page.locator('main')).toMatch(
      /What happens next\s*If nobody decides by .+ \(in (19|20) min\), controller@company\.com is asked too\.\s*At .+ \(in (29|30) min\) this request times out and is rejected\./,
    );
    await textOf(page.locator('main')).toMatch(/History[\s\S]*created/);
    await screen(page, size, '5-intent');
    await page.getByRole('button', { name: 'Reject' }).click();
    await textOf(page.getByRole('status')).toBe('Say why you reject: a reason is required.');
    expect((await agent.getIntent(soonest.id)).status).toBe('pending');
    await page.getByLabel(/Comment/).fill('Customer already refunded');
    await page.getByRole('button', { name: 'Reject' }).click();
    await textOf(page.getByRole('status')).toBe(
      'Done: the request is rejected. The agent has been told.',
    );
    await screen(page, size, '6-decided');
    const rejected = await agent.getIntent(soonest.id);
    expect(rejected.decision).toMatchObject({
      outcome: 'rejected',
      by: me,
      channel: 'web',
      comment: 'Customer already refunded',
    });

    // Three at once, after a confirmation that lists them.
    await page.getByRole('link', { name: 'Back to the inbox' }).click();
    await shown(page.getByRole('heading', { name: 'Waiting for you' }));
    await countOf(rows).toBe(3);
    for (const intent of [middle, fourth, later]) {
      await page.getByLabel(`Select ${intent.summary}`).check();
    }
    await page.getByRole('button', { name: 'Approve selected' }).click();
    await shown(page.getByRole('heading', { name: 'Approve these 3?' }));
    await textOf(page.locator('form ul')).toMatch(
      new RegExp(
        `${literal(middle.summary)}[\\s\\S]*${literal(fourth.summary)}[\\s\\S]*${literal(later.summary)}`,
      ),
    );
    for (const intent of [middle, fourth, later]) {
      expect((await agent.getIntent(intent.id)).status).toBe('pending');
    }
    await screen(page, size, '7-confirm-bulk');
    await page.getByRole('button', { name: 'Approve 3' }).click();
    await shown(page.getByRole('heading', { name: '3 of 3 done' }));
    await countOf(page.locator('.results li[data-ok="true"]')).toBe(3);
    await screen(page, size, '8-bulk-results');
    for (const intent of [middle, fourth, later]) {
      expect((await agent.getIntent(intent.id)).decision).toMatchObject({
        outcome: 'approved',
        by: me,
        channel: 'web',
      });
    }
    expect((await agent.getIntent(notMine.id)).status).toBe('pending');

    await page.getByRole('link', { name: 'Back to the inbox' }).click();
    await textOf(page.locator('main')).toContain('Nothing is waiting for you.');
    await screen(page, size, '9-empty');

    // Signing out ends the session: the inbox asks to sign in again.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await textOf(page.getByRole('status')).toBe('You are signed out.');
    await page.goto(`${stack.url}/inbox`);
    await shown(page.getByLabel('Email address'));
  });

  it('edits a value and approves: the agent gets the edited payload beside what it asked', async () => {
    const intent = await ask(me, `Refund C-5005 (${size}), editable amount`, '1h', ['/amount']);
    await signIn(page, me);
    await page.getByRole('link', { name: intent.summary }).click();
    await shown(page.getByRole('button', { name: 'Edit and approve' }));
    await screen(page, size, '10-edit-and-approve');
    await page.getByLabel('/amount').fill('95.5');
    await page.getByRole('button', { name: 'Edit and approve' }).click();
    await textOf(page.getByRole('status')).toBe(
      'Done: the request is approved. The agent has been told.',
    );
    await textOf(page.locator('main')).toMatch(/Edited by reviewers[\s\S]*\/amount: 120 → 95\.5/);
    await screen(page, size, '11-edited');
    const approved = await agent.getIntent(intent.id);
    expect(approved.payload.amount).toBe(120);
    expect(approved.approved_payload?.amount).toBe(95.5);
    expect(approved.decision).toMatchObject({ by: me, channel: 'web', edits: { '/amount': 95.5 } });
    // A value of the wrong type decides nothing.
    const other = await ask(me, `Refund C-6006 (${size}), editable amount`, '1h', ['/amount']);
    await page.goto(`${stack.url}/inbox/intents/${other.id}`);
    await page.getByLabel('/amount').evaluate((input) => {
      (input as HTMLInputElement).type = 'text';
    });
    await page.getByLabel('/amount').fill('ninety');
    await page.getByRole('button', { name: 'Edit and approve' }).click();
    await textOf(page.getByRole('status')).toMatch(/\/amount/);
    expect((await agent.getIntent(other.id)).status).toBe('pending');
  });
});

/** A signed-in session over plain HTTP: its cookie and the CSRF token of its forms. */
async function httpSession(email: string): Promise<{ cookie: string; csrf: string }> {
  const before = await signInEmails(email);
  await post('/inbox/sign-in', { email });
  const link = await signInLink(email, before);
  const signedIn = await fetch(link, {
    method: 'POST',
    headers: { Origin: stack.url, 'Content-Type': 'application/x-www-form-urlencoded' },
    redirect: 'manual',
  });
  expect(signedIn.status).toBe(303);
  const cookie = (signedIn.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  const inbox = await (await fetch(`${stack.url}/inbox`, { headers: { Cookie: cookie } })).text();
  const csrf = /name="csrf" value="([^"]+)"/.exec(inbox)?.[1];
  if (!csrf) throw new Error('the signed-in inbox has no form');
  return { cookie, csrf };
}

function post(
  pathname: string,
  fields: Record<string, string | string[]>,
  headers: Record<string, string> = { Origin: stack.url },
) {
  const body = new URLSearchParams();
  for (const [name, value] of Object.entries(fields)) {
    for (const one of Array.isArray(value) ? value : [value]) body.append(name, one);
  }
  return fetch(`${stack.url}${pathname}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers },
    body,
    redirect: 'manual',
  });
}

describe('your availability, on a phone', () => {
  const me = 'inbox-availability@company.com';
  let context: BrowserContext;
  let page: Page;

  beforeAll(async () => {
    // The browser's own zone is New York: the saved profile's zone must win over it.
    context = await browser.newContext({
      viewport: VIEWPORTS[0].viewport,
      isMobile: true,
      hasTouch: true,
      timezoneId: 'America/New_York',
    });
    page = await context.newPage();
  });
  afterAll(async () => {
    await context?.close();
  });

  it('saves time zone, working hours and out of office through the API rules, and lists times in that zone', async () => {
    const intent = await ask(me, 'Refund C-6006 (availability)', '3h');
    const tokyoClock = new Intl.DateTimeFormat('en-GB', {
      timeZone: 'Asia/Tokyo',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    }).format(new Date(intent.deadline_at));
    const deadline = page.locator(`[data-intent-id="${intent.id}"] time`);
    await signIn(page, me);
    await textOf(page.locator('#zone-note')).not.toContain('Asia/Tokyo');

    await page.getByRole('link', { name: /Your availability/ }).click();
    await shown(page.getByRole('heading', { name: 'Your availability' }));
    await screen(page, 'phone', '12-availability');

    // An unknown zone: the error beside the field, and nothing stored.
    await page.getByLabel('Time zone', { exact: true }).fill('Mars/Olympus_Mons');
    await page.getByLabel('Monday').fill('09:00-12:00, 13:00-17:30');
    await page.getByRole('button', { name: 'Save' }).click();
    await textOf(page.locator('#time_zone-error')).toBe(
      'Must be an IANA time zone (Europe/Berlin).',
    );
    await expect
      .poll(() => page.getByLabel('Monday').inputValue())
      .toBe('09:00-12:00, 13:00-17:30');
    await screen(page, 'phone', '13-availability-error');
    expect((await admin.getReviewerProfile(me)).updated_at).toBeNull();

    await page.getByLabel('Time zone', { exact: true }).fill('Asia/Tokyo');
    await page.getByLabel('Friday').fill('09:00-13:00');
    await page.getByLabel('Away from').fill('2026-12-24T09:00');
    await page.getByLabel('Back on').fill('2027-01-02T09:00');
    await page.getByLabel('Delegate’s email address').fill('deputy@company.com');
    await page.getByRole('button', { name: 'Save' }).click();
    await textOf(page.getByRole('status')).toBe('Your availability is saved.');
    await screen(page, 'phone', '14-availability-saved');
    expect(await admin.getReviewerProfile(me)).toMatchObject({
      time_zone: 'Asia/Tokyo',
      working_hours: { mon: ['09:00-12:00', '13:00-17:30'], fri: ['09:00-13:00'] },
      out_of_office: {
        // 09:00 in Tokyo (UTC+9).
        from: '2026-12-24T00:00:00.000Z',
        until: '2027-01-02T00:00:00.000Z',
        delegate: 'deputy@company.com',
      },
      updated_by: me,
    });

    // The API's rule: the delegate is never the reviewer themself. Nothing changes.
    await page.getByLabel('Delegate’s email address').fill(me);
    await page.getByRole('button', { name: 'Save' }).click();
    await textOf(page.locator('#ooo_delegate-error')).toBe('Cannot be the reviewer themselves.');
    expect((await admin.getReviewerProfile(me)).out_of_office?.delegate).toBe('deputy@company.com');

    // The list now writes times in Tokyo time, not the browser's New York time.
    await page.getByRole('link', { name: 'Back to the inbox' }).click();
    await textOf(page.locator('#zone-note')).toBe('Times are in your time zone (Asia/Tokyo).');
    await textOf(deadline).toContain(tokyoClock);
    await screen(page, 'phone', '15-inbox-in-zone');
  });
});

describe('the inbox over HTTP', () => {
  it('a mail scanner that GETs and HEADs every emailed link changes nothing and signs nobody in', async () => {
    const me = 'scanned@company.com';
    const intent = await ask(me, 'Refund for the scanner test');
    await post('/inbox/sign-in', { email: me });
    const link = await signInLink(me);
    const links = (await outboxItems(stack))
      .filter((item) => item.to === me && item.review_url)
      .map((item) => item.review_url as string);
    expect(links).toContain(link);
    expect(links.length).toBeGreaterThan(1);

    for (const url of links) {
      for (const method of ['GET', 'HEAD']) {
        const response = await fetch(url, { method, redirect: 'manual' });
        expect(response.status, `${method} ${url}`).toBe(200);
        expect(response.headers.get('set-cookie'), `${method} ${url}`).toBeNull();
      }
    }

    const after = await agent.getIntent(intent.id);
    expect(after.status).toBe('pending');
    expect(after.approvals).toEqual([]);
    // The link still works (it was not used up), once: its POST signs in, a second POST does not.
    const signIn = () =>
      fetch(link, {
        method: 'POST',
        headers: { Origin: stack.url, 'Content-Type': 'application/x-www-form-urlencoded' },
        redirect: 'manual',
      });
    const first = await signIn();
    expect(first.status).toBe(303);
    expect(first.headers.get('location')).toBe('/inbox');
    const cookie = first.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(
      /^countersign_inbox=[A-Za-z0-9_-]{43}; Path=\/inbox; Max-Age=43200; HttpOnly; SameSite=Lax$/,
    );
    expect((await signIn()).status).toBe(410);
  });

  it('answers every address alike, emails only reviewers, and at most 5 links an hour', async () => {
    const reviewer = 'limited@company.com';
    await ask(reviewer, 'Makes the address a recipient');
    const stranger = 'stranger@elsewhere.example';
    const pages = await Promise.all(
      [reviewer, stranger].map(async (email) => (await post('/inbox/sign-in', { email })).text()),
    );
    expect(pages[0]).toBe(pages[1]);
    await signInLink(reviewer);
    for (let n = 0; n < 6; n++) {
      expect((await post('/inbox/sign-in', { email: reviewer })).status).toBe(200);
    }
    // Sent in order: once the 5th is in the outbox, a 6th would have been too.
    await until(
      async () => ((await signInEmails(reviewer)) >= 5 ? true : undefined),
      15_000,
      '5 links',
    );
    expect(await signInEmails(reviewer)).toBe(5);
    expect(await signInEmails(stranger)).toBe(0);

    // A reviewer key is enough, without ever having been asked.
    await reviewerClient('key-holder@company.com');
    await post('/inbox/sign-in', { email: 'key-holder@company.com' });
    await signInLink('key-holder@company.com');
  });

  it('refuses forms from other sites, without the CSRF token, or after sign-out, and decides nothing', async () => {
    const me = 'careful@company.com';
    const intent = await ask(me, 'Refund for the CSRF test');
    const { cookie, csrf } = await httpSession(me);
    const decide = (fields: Record<string, string>, headers: Record<string, string>) =>
      post(
        `/inbox/intents/${intent.id}`,
        { outcome: 'approve', ...fields },
        { Cookie: cookie, ...headers },
      );

    expect((await decide({ csrf }, { Origin: 'https://evil.example' })).status).toBe(403);
    expect((await decide({ csrf }, {})).status).toBe(403);
    expect((await decide({ csrf: 'x'.repeat(43) }, { Origin: stack.url })).status).toBe(403);
    expect((await decide({}, { Origin: stack.url })).status).toBe(403);
    expect(
      (
        await post(
          '/inbox/bulk/decide',
          { outcome: 'approve', id: intent.id, csrf },
          {
            Cookie: cookie,
            Origin: 'https://evil.example',
          },
        )
      ).status,
    ).toBe(403);
    expect((await agent.getIntent(intent.id)).approvals).toEqual([]);

    // Every link of the signed-in pages, fetched (GET and HEAD) with the session: nothing decides.
    const pages = [`${stack.url}/inbox`, `${stack.url}/inbox/intents/${intent.id}`];
    for (const url of pages) {
      const html = await (await fetch(url, { headers: { Cookie: cookie } })).text();
      for (const [, href] of html.matchAll(/href="([^"]+)"/g)) {
        for (const method of ['GET', 'HEAD']) {
          const response = await fetch(new URL(href ?? '', url), {
            method,
            headers: { Cookie: cookie },
            redirect: 'manual',
          });
          expect(response.status, `${method} ${href}`).toBeLessThan(400);
        }
      }
    }
    expect((await agent.getIntent(intent.id)).approvals).toEqual([]);
    // Not a form post: refused before anything is read.
    const json = await fetch(`${stack.url}/inbox/intents/${intent.id}`, {
      method: 'POST',
      headers: { Cookie: cookie, Origin: stack.url, 'Content-Type': 'application/json' },
      body: JSON.stringify({ outcome: 'approve', csrf }),
    });
    expect(json.status).toBe(415);
    // A GET of the decision URL shows the page; it never decides.
    expect(
      (
        await fetch(`${stack.url}/inbox/intents/${intent.id}?outcome=approve&csrf=${csrf}`, {
          headers: { Cookie: cookie },
        })
      ).status,
    ).toBe(200);
    expect((await agent.getIntent(intent.id)).status).toBe('pending');

    expect(
      (await post('/inbox/sign-out', { csrf }, { Cookie: cookie, Origin: stack.url })).status,
    ).toBe(200);
    const afterSignOut = await decide({ csrf }, { Origin: stack.url });
    expect(await afterSignOut.text()).toContain('Your session ended');
    expect((await agent.getIntent(intent.id)).status).toBe('pending');
  });

  it("revoking a reviewer's key ends their inbox sessions", async () => {
    const me = 'revoked@company.com';
    await ask(me, 'Refund for the revocation test');
    const { key } = await admin.createKey({ role: 'reviewer', principal: me });
    expect(key).toMatch(/^csk_/);
    const { cookie } = await httpSession(me);
    const inbox = () =>
      fetch(`${stack.url}/inbox`, { headers: { Cookie: cookie } }).then((r) => r.text());
    expect(await inbox()).toContain('Waiting for you');
    const stored = (await admin.listKeys()).items.find((k) => k.principal === me);
    await admin.revokeKey(stored?.id ?? '');
    expect(await inbox()).toContain('Email me a sign-in link');
  });

  it('the accessibility check finds what it should (a field without a label)', async () => {
    const page = await browser.newPage();
    await page.setContent(
      '<!doctype html><html lang="en"><title>x</title><main><h1>x</h1><input></main></html>',
    );
    const ids = (await axeViolations(page)).map((violation) => violation.id);
    expect(ids).toContain('label');
    await page.close();
  });
});

function literal(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
