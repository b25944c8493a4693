import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatTime, LOCAL_TIME_SCRIPT } from '../../lambdas/domain/readable';
import { type AuditEvent, CountersignClient, type Intent } from '../../sdk/src/index';
import { countOf, hidden, jsonOf, shown, textOf } from './browser-expect';
import {
  newDataDir,
  outboxItems,
  removeDataDir,
  type StackProcess,
  startStack,
  until,
} from './harness';

/**
 * The review page behind email links on the local stack, fetched raw as a mail scanner or a
 * browser would, then used in Debian's Chromium on a phone-sized screen. Chromium is required
 * (.ci/run installs it): without it this suite fails, it is never skipped.
 */
const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = path.resolve(import.meta.dirname, '../../test-results');
const SCREENSHOT = path.join(ARTIFACTS, 'review-page-phone.png');

let stack: StackProcess;
let dataDir: string;
let agent: CountersignClient;
let browser: Browser;

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
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
  if (dataDir) removeDataDir(dataDir);
});

interface Ask {
  intent_type?: string;
  summary?: string;
  reviewers: string[];
  payload?: Record<string, unknown>;
  to_agent?: string;
  policy?: Record<string, unknown>;
}

/** Sends an intent (email only) and returns its id with each reviewer's review link. */
async function ask(request: Ask): Promise<{ id: string; links: Map<string, string> }> {
  const id = await agent.sendIntent({
    intent_type: request.intent_type ?? 'intent.payment.v1',
    to_agent: request.to_agent ?? 'agent://myorg/payments',
    summary: request.summary ?? 'Pay the ACME invoice',
    reviewers: request.reviewers,
    payload: request.payload ?? { vendor: 'ACME', amount: 1200 },
    policy: { channels: ['email'], remind_after: [], ...request.policy },
  });
  const links = await until(
    async () => {
      const emails = (await outboxItems(stack)).filter(
        (item) => item.intent_id === id && item.channel === 'email' && item.kind === 'notify',
      );
      const notified = (await agent.events(id)).items.filter((e) => e.type === 'notified');
      if (emails.length < request.reviewers.length || notified.length < request.reviewers.length) {
        return undefined;
      }
      return new Map(emails.map((item) => [item.to, item.review_url ?? '']));
    },
    15_000,
    `the emails of ${id}`,
  );
  for (const reviewer of request.reviewers) {
    expect(links.get(reviewer)).toMatch(new RegExp(`^${stack.url}/review/[A-Za-z0-9_-]+\\.`));
  }
  return { id, links };
}

function linkOf(links: Map<string, string>, reviewer: string): string {
  const link = links.get(reviewer);
  if (!link) throw new Error(`no review link for ${reviewer}`);
  return link;
}

/** What an intent is and what its trail says: everything a decision or a view would change. */
async function snapshot(id: string): Promise<{ intent: Intent; trail: AuditEvent[] }> {
  const [intent, events] = await Promise.all([agent.getIntent(id), agent.events(id)]);
  return { intent, trail: events.items };
}

const trailOf = (events: AuditEvent[]) => events.map((e) => `${e.type} ${e.actor}`);

const get = (url: string) => fetch(url, { redirect: 'manual' });
const head = (url: string) => fetch(url, { method: 'HEAD', redirect: 'manual' });
const post = (url: string, fields: Record<string, string>, contentType?: string) =>
  fetch(url, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'Content-Type': contentType ?? 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
  });

/** The form nonce a page rendered for its link, as a browser submitting the form would send it. */
function nonceIn(html: string): string {
  const nonce = /name="nonce" value="([^"]+)"/.exec(html)?.[1];
  if (!nonce) throw new Error('the page has no decision form');
  return nonce;
}

async function pageOf(url: string): Promise<{ status: number; html: string }> {
  const response = await get(url);
  return { status: response.status, html: await response.text() };
}

/** Changes one character of the link's signature (the part after the dot). */
function withSignatureChanged(link: string): string {
  const last = link.at(-1);
  return `${link.slice(0, -1)}${last === 'A' ? 'B' : 'A'}`;
}

/** Changes one character of the link's claims (the part before the dot). */
function withClaimsChanged(link: string): string {
  const dot = link.lastIndexOf('.');
  const at = dot - 5;
  return `${link.slice(0, at)}${link[at] === 'A' ? 'B' : 'A'}${link.slice(at + 1)}`;
}

describe('opening a review link (mail scanners, link previews, people)', () => {
  it('GET and HEAD show the request and decide nothing; `viewed` is recorded once per reviewer', async () => {
    const { id, links } = await ask({ reviewers: ['ann@company.com', 'ben@company.com'] });
    const ann = linkOf(links, 'ann@company.com');
    const ben = linkOf(links, 'ben@company.com');

    const heads = await Promise.all([head(ann), head(ann)]);
    expect(heads.map((r) => r.status)).toEqual([200, 200]);
    expect(heads[0]?.headers.get('content-type')).toContain('text/html');
    expect(await heads[0]?.text()).toBe('');
    // HEAD shows nothing and records nothing.
    expect(trailOf((await snapshot(id)).trail)).not.toContain('viewed ann@company.com');

    // A scanner fetching the link a few times in a row, then in a burst, then the person.
    for (let i = 0; i < 3; i += 1) {
      const response = await get(ann);
      expect(response.status).toBe(200);
      expect(response.headers.get('cache-control')).toBe('no-store');
      const html = await response.text();
      expect(html).toContain('<h1>Pay the ACME invoice</h1>');
      expect(html).toContain('Status: <span class="status">pending</span>');
      expect(html).toContain('Asked: ann@company.com, ben@company.com');
      expect(html).toContain('&quot;vendor&quot;: &quot;ACME&quot;');
      expect(html).toMatch(/<button class="approve"[^>]*>Approve<\/button>/);
      expect(html).toMatch(/<button class="reject"[^>]*>Reject<\/button>/);
    }
    const burst = await Promise.all(Array.from({ length: 6 }, () => get(ann)));
    expect(burst.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200]);
    expect((await get(ben)).status).toBe(200);
    expect((await get(ben)).status).toBe(200);

    const { intent, trail } = await snapshot(id);
    expect(intent.status).toBe('pending');
    expect(intent.approvals).toEqual([]);
    expect(intent.decision).toBeNull();
    expect(trailOf(trail).sort()).toEqual(
      [
        'created agent://local/default',
        'notified countersign',
        'notified countersign',
        'viewed ann@company.com',
        'viewed ben@company.com',
      ].sort(),
    );
    expect(trail.filter((e) => e.type === 'viewed').map((e) => e.channel)).toEqual([
      'email',
      'email',
    ]);
    // The page's history shows the view it recorded.
    expect((await pageOf(ann)).html).toMatch(/viewed · ann@company\.com \(email\)/);
  });

  it('a tampered link or one spliced from another intent shows a clear 4xx page and changes nothing', async () => {
    const x = await ask({ reviewers: ['cara@company.com'], summary: 'Pay invoice X' });
    const y = await ask({ reviewers: ['cara@company.com'], summary: 'Pay invoice Y' });
    const onX = linkOf(x.links, 'cara@company.com');
    const onY = linkOf(y.links, 'cara@company.com');
    const nonceOnX = nonceIn((await pageOf(onX)).html);
    const before = await Promise.all([snapshot(x.id), snapshot(y.id)]);

    const [claimsX = '', signatureX = ''] = (onX.split('/review/')[1] ?? '').split('.');
    const [claimsY = '', signatureY = ''] = (onY.split('/review/')[1] ?? '').split('.');
    const forged = [
      withSignatureChanged(onX),
      withClaimsChanged(onX),
      `${stack.url}/review/${claimsY}.${signatureX}`,
      `${stack.url}/review/${claimsX}.${signatureY}`,
    ];
    for (const link of forged) {
      for (const response of [
        await get(link),
        await post(link, { nonce: nonceOnX, outcome: 'approve', comment: '' }),
      ]) {
        expect(response.status).toBe(403);
        const html = await response.text();
        expect(html).toContain('<strong>Link not valid</strong>');
        expect(html).toContain('Nothing was changed.');
        expect(html).not.toContain('Pay invoice');
        expect(html).not.toContain('<form');
      }
      expect((await head(link)).status).toBe(403);
    }
    // Cut short or garbled: not recognised.
    for (const link of [`${stack.url}/review/${claimsX}`, `${stack.url}/review/not-a-link`]) {
      const { status, html } = await pageOf(link);
      expect(status).toBe(404);
      expect(html).toContain('<strong>Link not recognised</strong>');
    }

    expect(await Promise.all([snapshot(x.id), snapshot(y.id)])).toEqual(before);
    expect(before.map((s) => s.intent.status)).toEqual(['pending', 'pending']);
  });
});

describe('deciding from a review link', () => {
  it('a blind POST (no form from this page) decides nothing', async () => {
    const { id, links } = await ask({ reviewers: ['dan@company.com', 'eve@company.com'] });
    const dan = linkOf(links, 'dan@company.com');
    const nonceOfEve = nonceIn((await pageOf(linkOf(links, 'eve@company.com'))).html);
    const nonceOfDan = nonceIn((await pageOf(dan)).html);
    const before = await snapshot(id);

    const attempts = [
      post(dan, { outcome: 'approve' }),
      post(dan, { outcome: 'approve', nonce: '' }),
      post(dan, { outcome: 'approve', nonce: 'x'.repeat(43) }),
      // Eve's page's nonce does not work on Dan's link.
      post(dan, { outcome: 'approve', nonce: nonceOfEve }),
    ];
    for (const response of await Promise.all(attempts)) {
      expect(response.status).toBe(400);
      expect(await response.text()).toContain('Please decide with the buttons on this page.');
    }
    // Cross-site forms can also send text/plain, and scripts JSON: neither is a decision.
    for (const type of ['text/plain', 'application/json', 'multipart/form-data; boundary=x']) {
      const response = await post(dan, { outcome: 'approve', nonce: nonceOfDan }, type);
      expect(response.status).toBe(415);
      expect(await response.text()).toContain('Decide with the buttons on the review page.');
    }

    expect(await snapshot(id)).toEqual(before);
    expect(before.intent.status).toBe('pending');
  });

  it('a used link shows who decided and when; a second POST is a 409 page and changes nothing', async () => {
    const { id, links } = await ask({ reviewers: ['fay@company.com'] });
    const fay = linkOf(links, 'fay@company.com');
    const nonce = nonceIn((await pageOf(fay)).html);

    const decided = await post(fay, { nonce, outcome: 'approve', comment: 'Numbers check out' });
    expect(decided.status).toBe(200);
    const result = await decided.text();
    expect(result).toContain('Done: the request is approved. The agent has been told.');
    expect(result).toContain('Status: <span class="status">approved</span>');
    expect(result).not.toContain('<form');
    const after = await snapshot(id);
    expect(after.intent.decision).toMatchObject({
      outcome: 'approved',
      by: 'fay@company.com',
      channel: 'email',
      comment: 'Numbers check out',
    });
    const at = after.intent.decision?.at ?? '';

    const again = await pageOf(fay);
    expect(again.status).toBe(200);
    // The moment as a <time> the browser rewrites in its own zone, UTC until then.
    expect(again.html).toMatch(
      new RegExp(
        `This request was approved by fay@company\\.com at <time datetime="${at}" data-local>\\d\\d:\\d\\d UTC</time> <span class="rel">\\((now|\\d+ s ago)\\)</span> \\(via email\\)\\.`,
      ),
    );
    expect(again.html).not.toContain('<form');

    const replay = await post(fay, { nonce, outcome: 'reject', comment: 'Changed my mind' });
    expect(replay.status).toBe(409);
    const replayed = await replay.text();
    expect(replayed).toMatch(
      /Nothing changed\. This request was approved by fay@company\.com at \d\d:\d\d UTC \((now|\d+ s ago)\) \(via email\)\./,
    );
    expect(await snapshot(id)).toEqual(after);
  });

  it("a reviewer's link acts as that reviewer only, whatever the form says", async () => {
    const { id, links } = await ask({
      reviewers: ['gus@company.com', 'hal@company.com'],
      policy: { required_approvals: 2 },
    });
    const gus = linkOf(links, 'gus@company.com');
    const hal = linkOf(links, 'hal@company.com');
    const nonceOfGus = nonceIn((await pageOf(gus)).html);

    // Gus, holding his own link, tries to vote as Hal too.
    const vote = await post(gus, {
      nonce: nonceOfGus,
      outcome: 'approve',
      comment: 'ok',
      by: 'hal@company.com',
      reviewer: 'hal@company.com',
      channel: 'api',
    });
    expect(vote.status).toBe(200);
    expect(await vote.text()).toContain(
      'Your approval is recorded. The request waits for further approvals.',
    );
    let intent = await agent.getIntent(id);
    expect(intent.status).toBe('pending');
    expect(intent.approvals.map((a) => [a.by, a.channel])).toEqual([['gus@company.com', 'email']]);

    // Gus's link is spent: his page says so and a second vote is refused.
    const page = await pageOf(gus);
    expect(page.html).toContain('You have approved this request; it waits for further approvals.');
    expect(page.html).not.toContain('<form');
    const twice = await post(gus, { nonce: nonceOfGus, outcome: 'approve', comment: '' });
    expect(twice.status).toBe(409);
    expect(await twice.text()).toContain('Nothing changed.');
    intent = await agent.getIntent(id);
    expect(intent.status).toBe('pending');
    expect(intent.approvals.map((a) => a.by)).toEqual(['gus@company.com']);

    // Hal still decides with his own link, and the decision is his.
    const nonceOfHal = nonceIn((await pageOf(hal)).html);
    const second = await post(hal, { nonce: nonceOfHal, outcome: 'approve', comment: '' });
    expect(second.status).toBe(200);
    intent = await agent.getIntent(id);
    expect(intent.status).toBe('approved');
    expect(intent.approvals.map((a) => a.by)).toEqual(['gus@company.com', 'hal@company.com']);
    expect(intent.decision).toMatchObject({ by: 'hal@company.com', channel: 'email' });
  });

  it('in a chain asking the same reviewer twice, the step-1 form sent again is a 409 page and does not approve step 2', async () => {
    const { id, links } = await ask({
      reviewers: ['lou@company.com'], // replaced by the chain's steps; names whom to wait for
      policy: {
        steps: [{ reviewers: ['lou@company.com'] }, { reviewers: ['lou@company.com'] }],
      },
    });
    const lou = linkOf(links, 'lou@company.com');
    const stepOne = await pageOf(lou);
    expect(stepOne.html).toContain('You decide step 1 of 2.');
    const form = { nonce: nonceIn(stepOne.html), outcome: 'approve', comment: '' };

    expect((await post(lou, form)).status).toBe(200);
    // Step 2 starts by emailing Lou again; the intent is still until then.
    await until(
      async () => {
        const notified = (await agent.events(id)).items.filter((e) => e.type === 'notified');
        return notified.length === 2 ? true : undefined;
      },
      15_000,
      `the step-2 email of ${id}`,
    );
    const afterStep = await snapshot(id);
    expect(afterStep.intent).toMatchObject({ status: 'pending', step: 1 });

    const again = await post(lou, form);
    expect(again.status).toBe(409);
    expect(await again.text()).toContain(
      'Nothing changed. Your approval of step 1 of 2 is already recorded. Step 2 of 2 now waits for its reviewers.',
    );
    const unchanged = await snapshot(id);
    expect(unchanged.intent).toEqual(afterStep.intent);
    expect(unchanged.trail.filter((e) => e.type === 'approval')).toHaveLength(1);

    // The page loaded again asks about step 2, and its form is Lou's second approval.
    const stepTwo = await pageOf(lou);
    expect(stepTwo.html).toContain('You decide step 2 of 2.');
    const decided = await post(lou, { nonce: nonceIn(stepTwo.html), outcome: 'approve' });
    expect(decided.status).toBe(200);
    const intent = await agent.getIntent(id);
    expect(intent.status).toBe('approved');
    expect(intent.approvals.map((a) => [a.by, a.step])).toEqual([
      ['lou@company.com', 0],
      ['lou@company.com', 1],
    ]);
  });

  it('an expired link (the intent timed out) shows a clear page and decides nothing', async () => {
    const { id, links } = await ask({
      reviewers: ['ida@company.com'],
      policy: { timeout: { after: '5s', action: 'reject' } },
    });
    const ida = linkOf(links, 'ida@company.com');
    const nonce = nonceIn((await pageOf(ida)).html);
    const timedOut = await agent.waitFor(id, { timeoutMs: 20_000 });
    expect(timedOut.status).toBe('timed_out');
    // The email that it timed out comes just after (and has no link: it expired).
    await until(
      async () => {
        const told = (await agent.events(id)).items.filter((e) => e.data.kind === 'decided');
        return told.length === 1 ? true : undefined;
      },
      10_000,
      'the timed-out notices',
    );
    const before = await snapshot(id);

    for (const response of [
      await get(ida),
      await post(ida, { nonce, outcome: 'approve', comment: 'late' }),
    ]) {
      expect(response.status).toBe(410);
      const html = await response.text();
      expect(html).toContain('<strong>Link expired</strong>');
      expect(html).toContain('Nothing was changed.');
      expect(html).not.toContain('<form');
    }
    expect((await head(ida)).status).toBe(410);
    const after = await snapshot(id);
    expect(after).toEqual(before);
    expect(after.intent.decision).toMatchObject({ outcome: 'rejected', by: 'timeout' });
  });

  it('shows hostile markup from the agent as text', async () => {
    const { links } = await ask({
      reviewers: ['joe@company.com'],
      summary: '<script>alert("summary")</script>',
      to_agent: 'agent://x/"><img src=x onerror=alert("to")>',
      payload: {
        note: '</pre><img src=x onerror=alert("note")>',
        '"><svg onload=alert("key")>': "'; alert('quote'); '",
      },
    });
    const response = await get(linkOf(links, 'joe@company.com'));
    expect(response.headers.get('content-security-policy')).toContain("default-src 'none'");
    const html = await response.text();
    expect(html).not.toMatch(/<(img|svg)\b/i);
    // The page's one script is its own, admitted by hash; nothing the agent wrote runs.
    expect([...html.matchAll(/<script\b[^>]*>([\s\S]*?)<\/script>/gi)].map((m) => m[1])).toEqual([
      LOCAL_TIME_SCRIPT,
    ]);
    expect(html).toContain('<h1>&lt;script&gt;alert(&quot;summary&quot;)&lt;/script&gt;</h1>');
    expect(html).toContain(
      '<title>&lt;script&gt;alert(&quot;summary&quot;)&lt;/script&gt; · Countersign</title>',
    );
    expect(html).toContain(
      'for agent://x/&quot;&gt;&lt;img src=x onerror=alert(&quot;to&quot;)&gt;',
    );
    expect(html).toContain('&lt;/pre&gt;&lt;img src=x onerror=alert(\\&quot;note\\&quot;)&gt;');
    expect(html).toContain('&quot;\\&quot;&gt;&lt;svg onload=alert(\\&quot;key\\&quot;)&gt;&quot;');
    expect(html).toContain('&#39;; alert(&#39;quote&#39;); &#39;');
  });
});

describe('the review page on a phone, in Chromium', () => {
  const PHONE = { width: 390, height: 844 };
  const DPR = 2;

  const noHorizontalOverflow = (page: Page) =>
    page.evaluate(() => {
      const root = document.documentElement;
      return { scrollWidth: root.scrollWidth, clientWidth: root.clientWidth };
    });

  it("shows times in the browser's time zone, the plan in words and the payload as a table", async () => {
    const zone = 'America/New_York';
    const { id, links } = await ask({
      reviewers: ['tia@company.com'],
      summary: 'Refund order 1042',
      payload: {
        order_id: 'ORD-1042',
        amount_cents: 4200,
        items: [{ sku: 'MUG-RED', qty: 2 }],
        note: `${'The customer wrote at length. '.repeat(20)}Last line.`,
      },
      policy: {
        escalate: [{ after: '2h', to: ['controller@company.com'] }],
        timeout: { after: '8h', action: 'reject' },
      },
    });
    const intent = await agent.getIntent(id);
    const context = await browser.newContext({ viewport: PHONE, isMobile: true, timezoneId: zone });
    try {
      const page = await context.newPage();
      await page.goto(linkOf(links, 'tia@company.com'));
      await page.getByRole('heading', { name: 'Refund order 1042' }).waitFor();

      // The deadline as New York reads it, written by the page's script (the CSP admits it).
      const deadline = page.locator(`p time[datetime="${intent.deadline_at}"]`);
      await expect
        .poll(
          async () =>
            (await deadline.textContent()) ===
            formatTime(intent.deadline_at, { now: new Date(), timeZone: zone }),
        )
        .toBe(true);
      expect(await deadline.textContent()).toMatch(/E[SD]T$/);
      expect(await deadline.getAttribute('title')).toMatch(/UTC$/);
      await shown(page.getByText(`Times are in your time zone (${zone}).`));
      await shown(
        page.getByText(
          /If nobody decides by .*E[SD]T \(in (1 h 59 min|2 h)\), controller@company\.com is asked too\./,
        ),
      );
      await shown(page.getByText(/this request times out and is rejected\./));

      // The payload: labelled rows, nested values folded until opened, long text expandable.
      await shown(page.getByRole('rowheader', { name: 'Amount cents amount_cents' }));
      await shown(page.getByRole('cell', { name: '4200' }));
      const sku = page.getByRole('cell', { name: 'MUG-RED' });
      await hidden(sku);
      await page.getByText('1 item').click();
      await shown(sku);
      const lastLine = page.getByText(/Last line\.$/);
      await hidden(lastLine);
      await page.getByText(/show all 610 characters/).click();
      await shown(lastLine);
      const fits = await noHorizontalOverflow(page);
      expect(fits.scrollWidth).toBeLessThanOrEqual(fits.clientWidth);
      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({
        path: path.join(ARTIFACTS, 'review-page-readable.png'),
        fullPage: true,
      });
    } finally {
      await context.close();
    }
  });

  it('shows the request, refuses a reject without a comment, rejects with one, and the agent resumes', async () => {
    // A commit hash is one long word: the page must wrap it, not scroll sideways.
    const summary = 'Deploy billing-api 9fceb02d0ae598e95dc970b74767f19372d61af8 to production';
    const payload = {
      service: 'billing-api',
      environment: 'production',
      commit: '9fceb02d0ae598e95dc970b74767f19372d61af8',
      changelog:
        'https://git.example.com/myorg/billing-api/compare/4b825dc642cb6eb9a060e54bf8d69288fbee4904...9fceb02d0ae598e95dc970b74767f19372d61af8',
    };
    const { id, links } = await ask({
      intent_type: 'intent.deploy.v1',
      reviewers: ['kim@company.com'],
      summary,
      to_agent: 'agent://myorg/production/release-train/deployer',
      payload,
    });
    let resumed = false;
    const waiting = agent.waitFor(id, { timeoutMs: 60_000 }).then((intent) => {
      resumed = true;
      return intent;
    });

    const context = await browser.newContext({
      viewport: PHONE,
      isMobile: true,
      hasTouch: true,
      deviceScaleFactor: DPR,
    });
    try {
      const page = await context.newPage();
      await page.goto(linkOf(links, 'kim@company.com'));

      await page.getByRole('heading', { name: summary }).waitFor();
      await textOf(page.locator('.status')).toBe('pending');
      await jsonOf(page.locator('pre')).toEqual(payload);
      await shown(page.getByText('Asked: kim@company.com'));
      const fits = await noHorizontalOverflow(page);
      expect(fits.clientWidth).toBe(PHONE.width);
      expect(fits.scrollWidth).toBeLessThanOrEqual(fits.clientWidth);

      mkdirSync(ARTIFACTS, { recursive: true });
      rmSync(SCREENSHOT, { force: true });
      await page.screenshot({ path: SCREENSHOT, fullPage: true });
      const png = readFileSync(SCREENSHOT);
      expect(png.subarray(0, 8)).toEqual(
        Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      );
      // IHDR: the image is the phone's width at its pixel density.
      expect(png.readUInt32BE(16)).toBe(PHONE.width * DPR);
      expect(png.readUInt32BE(20)).toBeGreaterThanOrEqual(PHONE.height * DPR);

      // Reject without a comment: refused, with the reason, and nothing decided.
      await page.getByRole('button', { name: 'Reject' }).tap();
      await page.getByText('Say why you reject: a comment is required.').waitFor();
      await textOf(page.locator('.status')).toBe('pending');
      expect((await agent.getIntent(id)).status).toBe('pending');
      expect(resumed).toBe(false);

      await page.getByLabel(/Comment/).fill('Not during the change freeze');
      await page.getByRole('button', { name: 'Reject' }).tap();
      await page.getByText('Done: the request is rejected. The agent has been told.').waitFor();
      await textOf(page.locator('.status')).toBe('rejected');
      await countOf(page.getByRole('button', { name: 'Approve' })).toBe(0);
      const after = await noHorizontalOverflow(page);
      expect(after.scrollWidth).toBeLessThanOrEqual(after.clientWidth);
    } finally {
      await context.close();
    }

    const result = await waiting;
    expect(result.status).toBe('rejected');
    expect(result.decision).toMatchObject({
      outcome: 'rejected',
      by: 'kim@company.com',
      channel: 'email',
      comment: 'Not during the change freeze',
    });
  });
});
