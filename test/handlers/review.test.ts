import { createHmac } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { IntentState } from '../../lambdas/domain/intent';
import { signReviewLink } from '../../lambdas/domain/review-link';
import { apiEvent, IN_FIRST_STAGE, PAYMENT_INTENT, setHandlerEnvironment } from './helpers';
import {
  LINK_SECRET,
  NOW,
  type PortFakes,
  pendingIntent,
  profileIn,
  resetPortFakes,
} from './port-fakes';

/**
 * The review form in approval chains, on the handler over in-memory ports: a form counts only
 * in the step its page showed, so sending it again (back button, a second tap, a replayed POST)
 * cannot become a vote in the next step when the same reviewer is asked there too.
 */
vi.mock('../../lambdas/shared/deps', async (importOriginal) => ({
  ...(await importOriginal<object>()),
  ...(await import('./port-fakes')).fakeDeps(),
}));

setHandlerEnvironment();
const { handler } = await import('../../lambdas/handlers/review');

const SECRET = LINK_SECRET;
let fakes: PortFakes;

/** The intent in its first stage, asked on a chain of `steps` or (null) of the one reviewer. */
const intentState = (steps: { reviewers: string[]; required_approvals: number }[] | null) =>
  pendingIntent(
    { ...PAYMENT_INTENT, ...IN_FIRST_STAGE, payload: { amount: 1200 } },
    { remind_after: [], steps },
  );

// The CFO approves both steps; nothing forbids the same reviewer in two steps.
const CHAIN = [
  { reviewers: ['cfo@company.com'], required_approvals: 1 },
  { reviewers: ['cfo@company.com', 'ceo@company.com'], required_approvals: 1 },
];

const linkFor = (reviewer: string) =>
  signReviewLink(
    { intentId: 'int_1', reviewer, expiresAt: Math.floor((NOW.getTime() + 3600_000) / 1000) },
    SECRET,
  );

function request(method: 'GET' | 'POST', token: string, fields?: Record<string, string>) {
  return handler(
    apiEvent({
      method,
      resource: '/review/{token}',
      path: `/review/${token}`,
      pathParameters: { token },
      ...(fields
        ? {
            headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
            body: new URLSearchParams(fields).toString(),
          }
        : {}),
    }),
  );
}

/** The form's nonce on the page, as the browser would send it back. */
async function nonceOnPage(token: string): Promise<string> {
  const page = await request('GET', token);
  const nonce = /name="nonce" value="([^"]+)"/.exec(page.body)?.[1];
  if (!nonce) throw new Error('the page has no decision form');
  return nonce;
}

/** The intent as stored now. */
const stored = (): IntentState => fakes.intents.stored();
const approvals = () => stored().approvals.map((a) => [a.by, a.step]);
const eventsOf = (type: string) => fakes.intents.trail().filter((event) => event.type === type);

beforeEach(() => {
  fakes = resetPortFakes();
});
afterEach(() => vi.restoreAllMocks());

describe('Handler: POST /review/{token} in an approval chain', () => {
  beforeEach(() => {
    fakes.intents.seed(intentState(CHAIN));
  });

  it('the page says which step it decides; the same form sent again is a 409 page and changes nothing', async () => {
    const cfo = linkFor('cfo@company.com');
    const page = await request('GET', cfo);
    expect(page.body).toContain('You decide step 1 of 2.');
    const nonce = await nonceOnPage(cfo);
    const form = { nonce, outcome: 'approve', comment: 'ok' };

    const first = await request('POST', cfo, form);
    expect(first.statusCode).toBe(200);
    expect(stored()).toMatchObject({ status: 'pending', step: 1 });
    const afterStep = stored();

    const again = await request('POST', cfo, form);

    expect(again.statusCode).toBe(409);
    expect(again.body).toContain(
      'Nothing changed. Your approval of step 1 of 2 is already recorded. Step 2 of 2 now waits for its reviewers.',
    );
    expect(stored()).toEqual(afterStep);
    expect(eventsOf('approval')).toHaveLength(1);
    expect(fakes.workflow.woken).toHaveLength(1);
  });

  it('a rejection from the page of a step that is over changes nothing', async () => {
    const cfo = linkFor('cfo@company.com');
    const stepOneNonce = await nonceOnPage(cfo);
    await request('POST', cfo, { nonce: stepOneNonce, outcome: 'approve' });
    const afterStep = stored();

    const late = await request('POST', cfo, {
      nonce: stepOneNonce,
      outcome: 'reject',
      comment: 'Changed my mind',
    });

    expect(late.statusCode).toBe(409);
    expect(late.body).toContain(
      'Nothing changed. Your approval of step 1 of 2 is already recorded.',
    );
    expect(stored()).toEqual(afterStep);
    expect(eventsOf('rejection')).toHaveLength(0);
  });

  it("the page reloaded shows step 2's form, whose approval is the CFO's second and decides", async () => {
    const cfo = linkFor('cfo@company.com');
    await request('POST', cfo, { nonce: await nonceOnPage(cfo), outcome: 'approve' });

    const page = await request('GET', cfo);
    expect(page.body).toContain('You decide step 2 of 2.');
    const decided = await request('POST', cfo, {
      nonce: await nonceOnPage(cfo),
      outcome: 'approve',
    });

    expect(decided.statusCode).toBe(200);
    expect(decided.body).toContain('Done: the request is approved.');
    expect(approvals()).toEqual([
      ['cfo@company.com', 0],
      ['cfo@company.com', 1],
    ]);
  });

  it('a nonce whose step was edited is not one this server rendered', async () => {
    const cfo = linkFor('cfo@company.com');
    const nonce = await nonceOnPage(cfo);
    const before = stored();

    const forged = await request('POST', cfo, {
      nonce: nonce.replace(/^0\./, '1.'),
      outcome: 'approve',
    });

    expect(forged.statusCode).toBe(400);
    expect(forged.body).toContain('Please decide with the buttons on this page.');
    expect(stored()).toEqual(before);
    expect(eventsOf('approval')).toHaveLength(0);
  });

  it('a page rendered before forms named their step is refused to whoever approved an earlier step', async () => {
    const cfo = linkFor('cfo@company.com');
    await request('POST', cfo, { nonce: await nonceOnPage(cfo), outcome: 'approve' });
    const afterStep = stored();

    const old = await request('POST', cfo, { nonce: oldNonce(cfo), outcome: 'approve' });

    expect(old.statusCode).toBe(409);
    expect(old.body).toContain(
      'This page does not say which step it was for, and you already approved an earlier step',
    );
    expect(stored()).toEqual(afterStep);
    // The CEO approved nothing before: the old page still decides for them.
    const ceo = linkFor('ceo@company.com');
    const decided = await request('POST', ceo, { nonce: oldNonce(ceo), outcome: 'approve' });
    expect(decided.statusCode).toBe(200);
    expect(stored()).toMatchObject({ status: 'approved', decision: { by: 'ceo@company.com' } });
  });
});

describe('Handler: POST /review/{token} without a chain', () => {
  beforeEach(() => {
    fakes.intents.seed(intentState(null));
  });

  it('a page rendered before forms named their step still decides', async () => {
    const cfo = linkFor('cfo@company.com');
    const page = await request('GET', cfo);
    expect(page.body).not.toContain('You decide step');

    const decided = await request('POST', cfo, { nonce: oldNonce(cfo), outcome: 'approve' });

    expect(decided.statusCode).toBe(200);
    expect(stored()).toMatchObject({ status: 'approved', decision: { channel: 'email' } });
  });
});

/** The nonce pages carried before it named the step (review-form.v1). */
function oldNonce(linkToken: string): string {
  return createHmac('sha256', SECRET).update(`review-form.v1.${linkToken}`).digest('base64url');
}

describe("Handler: GET /review/{token} and the reader's time zone", () => {
  beforeEach(() => {
    fakes.intents.seed(intentState(null));
  });

  it("shows times in the zone of the reader's profile; without one, in UTC", async () => {
    const utc = await request('GET', linkFor('cfo@company.com'));
    expect(utc.body).toContain('Times are in UTC.');

    await fakes.profiles.put(profileIn('cfo@company.com', 'Asia/Kathmandu'));
    const page = await request('GET', linkFor('cfo@company.com'));
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('Times are in your time zone (Asia/Kathmandu).');
  });
});

describe('Handler: the "Edit and approve" form', () => {
  const payment = { amount: 1200, memo: 'ACME March', urgent: false };
  const editableIntent = (quorum: number) =>
    pendingIntent(
      {
        ...PAYMENT_INTENT,
        ...IN_FIRST_STAGE,
        payload: payment,
        recipients: ['cfo@company.com', 'ceo@company.com'],
        asked: ['cfo@company.com', 'ceo@company.com'],
        editable: ['/amount', '/memo', '/urgent'],
        edits: {},
        payload_version: 0,
      },
      { remind_after: [], required_approvals: quorum },
    );

  /** The edit form's fields as the page fills them, changed by `changes`. */
  async function editForm(token: string, changes: Record<string, string>) {
    const page = (await request('GET', token)).body;
    const form = page.slice(page.indexOf('Edit and approve'));
    const value = (name: string) =>
      new RegExp(`name="${name}"[^>]*value="([^"]*)"`).exec(form)?.[1] ?? '';
    return {
      nonce: await nonceOnPage(token),
      outcome: 'approve',
      edit: '1',
      'edit:/amount': value('edit:/amount'),
      'edit:/memo': value('edit:/memo'),
      'edit:/urgent': 'false',
      ...changes,
    };
  }

  it('shows the editable values, and approving with a changed amount approves the edited payload', async () => {
    fakes.intents.seed(editableIntent(1));
    const cfo = linkFor('cfo@company.com');
    const page = await request('GET', cfo);
    expect(page.body).toContain('<strong>Edit and approve</strong>');
    expect(page.body).toMatch(/name="edit:\/amount" type="number"[^>]*value="1200"/);
    expect(page.body).toMatch(/name="edit:\/memo" value="ACME March"/);
    expect(eventsOf('approval')).toHaveLength(0);

    const decided = await request('POST', cfo, await editForm(cfo, { 'edit:/amount': '1000' }));

    expect(decided.statusCode).toBe(200);
    expect(decided.body).toContain('Done: the request is approved.');
    expect(decided.body).toContain('Edited by reviewers');
    expect(stored()).toMatchObject({
      status: 'approved',
      edits: { '/amount': 1000 },
      payload_version: 1,
      decision: { by: 'cfo@company.com', edits: { '/amount': 1000 } },
    });
    expect(eventsOf('approved')[0]?.data).toMatchObject({ edits: { '/amount': 1000 } });
  });

  it('a value that is not of its type is a 400 page and changes nothing', async () => {
    fakes.intents.seed(editableIntent(1));
    const cfo = linkFor('cfo@company.com');
    const form = await editForm(cfo, { 'edit:/amount': 'lots' });
    const before = stored();

    const refused = await request('POST', cfo, form);

    expect(refused.statusCode).toBe(400);
    expect(refused.body).toContain('/amount must be a number.');
    expect(stored()).toEqual(before);
  });

  it('in a quorum, a page shown before an edit no longer approves; the page again shows the edit', async () => {
    fakes.intents.seed(editableIntent(2));
    const cfo = linkFor('cfo@company.com');
    const ceo = linkFor('ceo@company.com');
    const cfoNonce = await nonceOnPage(cfo);

    const edited = await request('POST', ceo, await editForm(ceo, { 'edit:/memo': 'ACME Mar' }));
    expect(edited.statusCode).toBe(200);
    expect(edited.body).toContain('The request waits for further approvals.');
    expect(stored()).toMatchObject({ status: 'pending', payload_version: 1 });

    const stale = await request('POST', cfo, { nonce: cfoNonce, outcome: 'approve' });
    expect(stale.statusCode).toBe(409);
    expect(stale.body).toContain('The request was edited after this page was shown');
    expect(eventsOf('approval')).toHaveLength(1);

    const fresh = await request('GET', cfo);
    expect(fresh.body).toContain(
      '/memo: &quot;ACME March&quot; → <strong>&quot;ACME Mar&quot;</strong>',
    );
    const decided = await request('POST', cfo, {
      nonce: await nonceOnPage(cfo),
      outcome: 'approve',
    });
    expect(decided.statusCode).toBe(200);
    expect(stored()).toMatchObject({
      status: 'approved',
      decision: { edits: { '/memo': 'ACME Mar' } },
    });
  });
});
