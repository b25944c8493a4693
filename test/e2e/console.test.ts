import { existsSync, mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { type Browser, chromium, type Dialog, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CountersignClient } from '../../sdk/src/index';
import { countOf, hidden, jsonOf, shown, textOf } from './browser-expect';
import { newDataDir, removeDataDir, type StackProcess, startStack } from './harness';

/**
 * The local console at /_local/, driven in Debian's Chromium as a person would use it: sign in
 * with the admin key, watch an intent, its trail and its messages, decide from the email's
 * review page and from the Slack buttons, and see hostile payloads shown as text. Chromium is
 * required (.ci/run installs it): without it this suite fails, it is never skipped.
 */
const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = path.resolve(import.meta.dirname, '../../test-results');

let stack: StackProcess;
let dataDir: string;
let agent: CountersignClient;
let browser: Browser;
let page: Page;
const dialogs: string[] = [];
const requestedUrls: string[] = [];

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)`);
  }
  dataDir = newDataDir();
  [stack, browser] = await Promise.all([
    startStack(dataDir),
    chromium.launch({ executablePath: CHROMIUM }),
  ]);
  agent = new CountersignClient({ baseUrl: stack.url, apiKey: stack.settings.api_keys.agent });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  context.on('request', (request) => requestedUrls.push(request.url()));
  page = await context.newPage();
  page.on('dialog', (dialog: Dialog) => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
  if (dataDir) removeDataDir(dataDir);
});

async function ask(reviewer: string, summary: string, payload: Record<string, unknown> = {}) {
  return agent.sendIntent({
    intent_type: 'intent.payment.v1',
    to_agent: 'agent://myorg/payments',
    summary,
    payload: { vendor: 'ACME', amount: 1200, reviewer, ...payload },
  });
}

/** The console's row of an intent, the detail view, and a message of the outbox. */
const row = (id: string) => page.locator(`[data-intent-id="${id}"]`);
const message = (id: string, channel: 'email' | 'slack') =>
  page.locator(`article.msg[data-channel="${channel}"][data-kind="notify"][data-intent="${id}"]`);
const trailTypes = () => page.locator('.trail [data-event-type]').evaluateAll(typesOf);
function typesOf(items: Element[]): string[] {
  return items.map((item) => item.getAttribute('data-event-type') ?? '');
}

/** Opens a view of the console, giving the admin key if this tab has not yet. */
async function openConsole(hash: string): Promise<void> {
  await page.goto(`${stack.url}/_local/${hash}`);
  const prompt = page.getByLabel('Admin key');
  const view = page.locator('.top-right .live:not([hidden])');
  await prompt.or(view).first().waitFor();
  // Not an assertion: one of the two is visible now, and this picks the branch.
  if (await prompt.isVisible()) {
    await prompt.fill(stack.settings.api_keys.admin);
    await page.getByRole('button', { name: 'Open the console' }).click();
    await view.waitFor();
  }
}

async function openIntent(id: string): Promise<void> {
  await openConsole(`#/intent/${id}`);
  await page.locator('.trail').waitFor();
}

describe('the local console', () => {
  it('asks for the admin key, refuses a wrong one, and keeps the key out of every URL', async () => {
    await page.goto(`${stack.url}/_local/`);
    await page.getByLabel('Admin key').fill(stack.settings.api_keys.agent);
    await page.getByRole('button', { name: 'Open the console' }).click();
    await textOf(page.getByRole('alert')).toBe('That is not the admin key of this stack.');

    await page.getByLabel('Admin key').fill(stack.settings.api_keys.admin);
    await page.getByRole('button', { name: 'Open the console' }).click();
    await page.getByRole('heading', { name: 'Intents' }).waitFor();
    expect(page.url()).toBe(`${stack.url}/_local/#/intents`);
  });

  it('shows a new intent with its trail and messages; approving on the review page from the email shows up live', async () => {
    const id = await ask('alice@company.com', 'Pay the ACME invoice');

    // The list: newest first, with status, summary, who is asked and the deadline.
    await openConsole('#/intents');
    await row(id).waitFor();
    await textOf(row(id)).toMatch(
      /pending[\s\S]*Pay the ACME invoice[\s\S]*alice@company\.com[\s\S]*in \d+ h/i,
    );

    // The detail: the trail as it grows (created, then one notice per channel), and the payload.
    await row(id).click();
    await expect.poll(trailTypes, { timeout: 15_000 }).toEqual(['created', 'notified', 'notified']);
    await textOf(page.locator('h1')).toBe('Pay the ACME invoice');
    await textOf(page.locator('.trail')).toMatch(/notified[\s\S]*countersign · (email|slack)/);
    await jsonOf(page.locator('pre.payload')).toEqual({
      vendor: 'ACME',
      amount: 1200,
      reviewer: 'alice@company.com',
    });

    // The outbox: the email and the Slack message to Alice.
    await page.getByRole('link', { name: 'Outbox', exact: true }).click();
    await message(id, 'email').waitFor();
    await message(id, 'slack').waitFor();
    await textOf(message(id, 'email')).toContain('Approval needed: Pay the ACME invoice');
    await textOf(message(id, 'slack')).toMatch(
      /Direct message to alice@company\.com[\s\S]*Approve[\s\S]*Reject/,
    );

    // The email's preview, then its review page, opened as the reviewer and approved there.
    await message(id, 'email').getByText('Show the email').click();
    const preview = message(id, 'email').frameLocator('iframe');
    await shown(preview.getByText('Review and decide'));
    const [review] = await Promise.all([
      page.context().waitForEvent('page'),
      message(id, 'email').getByRole('link', { name: 'Open review page' }).click(),
    ]);
    await review.getByRole('heading', { name: 'Pay the ACME invoice' }).waitFor();
    await review.getByLabel(/Comment/).fill('Numbers check out');
    await review.getByRole('button', { name: 'Approve' }).click();
    await review.getByText('Done: the request is approved. The agent has been told.').waitFor();
    await review.close();

    // Back in the console, without reloading: the status and the trail changed.
    await page.getByRole('link', { name: 'Intents', exact: true }).click();
    await textOf(row(id).locator('.pill')).toMatch(/approved/i);
    await row(id).click();
    await expect
      .poll(trailTypes, { timeout: 10_000 })
      .toEqual(expect.arrayContaining(['viewed', 'approval', 'approved']));
    await textOf(page.locator('dl.facts')).toContain(
      'approved by alice@company.com via email: “Numbers check out”',
    );
    expect(dialogs).toEqual([]);
  });

  it('approves from the Slack message in the console, as Slack would send the click', async () => {
    const id = await ask('bob@company.com', 'Pay the Initech invoice');
    await openIntent(id);
    const slack = message(id, 'slack');
    await slack.waitFor({ timeout: 15_000 });

    await slack.getByRole('button', { name: 'Approve' }).click();
    // Slack asks to confirm (the button's `confirm`), in the page, not with a browser dialog.
    await page.locator('dialog').getByRole('button', { name: 'Approve' }).click();

    await textOf(page.locator('.pill').first()).toMatch(/approved/i);
    await textOf(page.locator('dl.facts')).toContain('approved by bob@company.com via slack');
    // The message was updated in place: the buttons gave way to the outcome.
    await textOf(slack).toContain('Approved by bob@company.com via slack');
    await countOf(slack.getByRole('button', { name: 'Approve' })).toBe(0);
    expect(dialogs).toEqual([]);
  });

  it('rejects from Slack through its modal, which insists on a reason', async () => {
    const id = await ask('carol@company.com', 'Pay the Globex invoice');
    await openIntent(id);
    const slack = message(id, 'slack');
    await slack.waitFor({ timeout: 15_000 });

    await slack.getByRole('button', { name: 'Reject…' }).click();
    const modal = page.locator('dialog');
    await modal.getByText('Reject request').waitFor();
    await modal.getByRole('button', { name: 'Reject' }).click();
    await modal.getByText('Say why you reject: a reason is required.').waitFor();
    await textOf(page.locator('.pill').first()).toMatch(/pending/i);

    await modal.getByLabel('Why do you reject it?').fill('Globex is not an approved vendor');
    await modal.getByRole('button', { name: 'Reject' }).click();
    await textOf(page.locator('.pill').first()).toMatch(/rejected/i);
    await textOf(page.locator('dl.facts')).toContain(
      'rejected by carol@company.com via slack: “Globex is not an approved vendor”',
    );
    await hidden(modal);
  });

  it('shows a hostile payload as text: nothing in it runs', async () => {
    const id = await ask('dave@company.com', '<img src=x onerror=alert("summary")>', {
      vendor: '<script>alert("vendor")</script>',
      note: '<img src=x onerror=alert("note")>',
      link: 'javascript:alert("link")',
    });
    await openConsole('#/intents');
    await row(id).waitFor();
    await textOf(row(id)).toContain('<img src=x onerror=alert("summary")>');

    await openIntent(id);
    await message(id, 'email').waitFor({ timeout: 15_000 });
    await message(id, 'email').getByText('Show the email').click();
    await message(id, 'slack').waitFor();
    await textOf(page.locator('h1')).toBe('<img src=x onerror=alert("summary")>');
    await textOf(page.locator('pre.payload')).toContain(
      '"vendor": "<script>alert(\\"vendor\\")</script>"',
    );
    await textOf(message(id, 'slack')).toContain('<img src=x onerror=alert("note")>');
    const preview = message(id, 'email').frameLocator('iframe');
    await shown(preview.getByText('<script>alert("vendor")</script>').first());

    // Nothing the agent sent became an element, and no script ran.
    expect(await page.locator('#app img, #app script').count()).toBe(0);
    expect(await preview.locator('img, script').count()).toBe(0);
    await page.waitForTimeout(2500); // a refresh cycle: still nothing
    expect(await page.locator('#app img, #app script').count()).toBe(0);
    expect(await preview.locator('img, script').count()).toBe(0);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'console-hostile.png'), fullPage: true });
    expect(dialogs).toEqual([]);
    // The admin key was only ever sent as a header.
    expect(requestedUrls.length).toBeGreaterThan(0);
    expect(requestedUrls.filter((url) => url.includes(stack.settings.api_keys.admin))).toEqual([]);
  });

  it('serves the page with a strict policy and takes console actions only with the key and JSON', async () => {
    const pageAnswer = await fetch(`${stack.url}/_local/`);
    expect(pageAnswer.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(pageAnswer.headers.get('content-security-policy')).toContain("form-action 'none'");
    expect(await pageAnswer.text()).not.toContain(stack.settings.api_keys.admin);

    const click = (headers: Record<string, string>, body: string) =>
      fetch(`${stack.url}/_local/console/slack/click`, { method: 'POST', headers, body });
    const json = JSON.stringify({ message_id: 'msg_x', action_id: 'countersign.approve' });
    const admin = `Bearer ${stack.settings.api_keys.admin}`;
    // A cross-site form post: no key, form encoding.
    expect(
      (await click({ 'Content-Type': 'application/x-www-form-urlencoded' }, 'message_id=msg_x'))
        .status,
    ).toBe(401);
    expect((await click({ Authorization: admin, 'Content-Type': 'text/plain' }, json)).status).toBe(
      400,
    );
    expect(
      (
        await click(
          {
            Authorization: admin,
            'Content-Type': 'application/json',
            'Sec-Fetch-Site': 'cross-site',
          },
          json,
        )
      ).status,
    ).toBe(403);
    expect(
      (
        await click(
          {
            Authorization: `Bearer ${stack.settings.api_keys.agent}`,
            'Content-Type': 'application/json',
          },
          json,
        )
      ).status,
    ).toBe(403);
    expect(
      (await click({ Authorization: admin, 'Content-Type': 'application/json' }, json)).status,
    ).toBe(404);
  });
});
