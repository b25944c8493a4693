import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { ZodError } from 'zod';
import { canonicalTimeZone, WEEKDAYS, zoneOffset } from '../domain/availability';
import { approvedCurrentVersion } from '../domain/decisions';
import { DomainError } from '../domain/errors';
import { type IntentState, type IntentView, toView } from '../domain/intent';
import { escapeHtml } from '../domain/messages';
import { isEmail, normalizeReviewer } from '../domain/policy';
import type { Principal } from './auth';
import { MAX_BULK_DECISIONS, settleEach } from './bulk-decisions';
import {
  type AvailabilityForm,
  availabilityPage,
  type Banner,
  type BulkLine,
  bulkResultPage,
  checkEmailPage,
  confirmBulkPage,
  confirmSignInPage,
  type InboxLinks,
  intentPage,
  type ListedIntent,
  listPage,
  messagePage,
  signInPage,
} from './inbox-html';
import { type IntentServiceDeps, listIntents, loadVisible, recordVote } from './intents';
import type {
  EmailSender,
  InboxCredentialStore,
  InboxSession,
  KeyRepository,
  ReviewerProfileRepository,
  UsageMeter,
} from './ports';
import { editsFromForm } from './review';
import { getReviewerProfile, putReviewerProfile } from './reviewer-profiles';

/**
 * The reviewer inbox (`/inbox`): passwordless sign-in by an emailed link, a session, and the
 * pages that list, show and decide what waits for the signed-in reviewer.
 *
 * - Signing in: `POST /inbox/sign-in` always answers the same page. Only an address that is or
 *   was a recipient (of the latest intents), or holds a reviewer key, gets an email, at most `SIGN_IN_EMAILS_PER_HOUR`
 *   an hour. The link (`/inbox/sign-in/<token>`) works once, for 15 minutes, and opening it
 *   (GET, HEAD: mail scanners) only shows a button; its POST signs in.
 * - Sessions last 12 hours; the token is in an HttpOnly cookie and stored only hashed, with a
 *   per-session CSRF token every form carries. Revoking a reviewer's key ends their sessions.
 * - Deciding goes through `recordVote` (channel `web`), the API's own exactly-once path; in bulk
 *   through `settleEach`, as `POST /v1/decisions` does.
 * - "Your availability" (`/inbox/me`) saves the reviewer's own profile through
 *   `putReviewerProfile`, the API's `PUT /v1/reviewers/{email}`, so the same rules apply. Pages
 *   show times in the profile's time zone once the reviewer has saved one.
 */
export const SESSION_SECONDS = 12 * 3600;
export const SIGN_IN_LINK_SECONDS = 15 * 60;
export const SIGN_IN_EMAILS_PER_HOUR = 5;
/** How many waiting intents the list reads (pages of the reviewer listing) before sorting. */
const LIST_LIMIT = 200;

export interface InboxDeps
  extends Pick<IntentServiceDeps, 'intents' | 'workflow' | 'clock' | 'signer'> {
  credentials: InboxCredentialStore;
  keys: KeyRepository;
  email: EmailSender;
  usage: UsageMeter;
  /** The API's public base URL: links in emails, page paths, the expected Origin of forms. */
  publicBaseUrl: string;
  /** Reviewer profiles: the pages' time zone, and the availability page. */
  profiles: ReviewerProfileRepository;
  /** Email domains reviewers (and so delegates) must belong to; absent means any. */
  allowedReviewerDomains?: readonly string[];
  /** Reports a failure the page does not show (the sign-in page answers the same regardless). */
  onError?: (message: string, error: unknown) => void;
}

/** A page, or a redirect; `session` sets (a token) or clears (null) the session cookie. */
export type InboxAnswer =
  | { status: number; html: string; session?: string | null }
  | { redirect: string; session?: string | null };

export interface SignedIn {
  tokenHash: string;
  session: InboxSession;
}

const hashToken = (token: string) => createHash('sha256').update(token, 'utf8').digest('hex');
const newToken = () => randomBytes(32).toString('base64url');
/** Tokens this module makes: 43 base64url characters. Anything else is not looked up. */
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;

/** `<base path>/inbox`: `/v1/inbox` on the API Gateway stage, `/inbox` locally. */
export function inboxBase(publicBaseUrl: string): string {
  return `${new URL(publicBaseUrl).pathname.replace(/\/$/, '')}/inbox`;
}

/** The session a cookie names, if it is still valid. */
export async function sessionFor(
  deps: Pick<InboxDeps, 'credentials'>,
  token: string | undefined,
): Promise<SignedIn | null> {
  if (!token || !TOKEN_SHAPE.test(token)) return null;
  const tokenHash = hashToken(token);
  const session = await deps.credentials.getSession(tokenHash);
  return session ? { tokenHash, session } : null;
}

export function sameCsrf(given: string | null, session: InboxSession): boolean {
  const a = Buffer.from(given ?? '');
  const b = Buffer.from(session.csrf);
  return a.length === b.length && timingSafeEqual(a, b);
}

export function signInForm(deps: Pick<InboxDeps, 'publicBaseUrl'>, banner?: Banner): InboxAnswer {
  return { status: 200, html: signInPage(inboxBase(deps.publicBaseUrl), banner) };
}

/** `POST /inbox/sign-in`: emails a link to an address that may sign in; the page is the same for any. */
export async function requestSignIn(deps: InboxDeps, form: URLSearchParams): Promise<InboxAnswer> {
  const base = inboxBase(deps.publicBaseUrl);
  const email = normalizeReviewer(form.get('email') ?? '');
  if (!isEmail(email)) {
    return {
      status: 400,
      html: signInPage(base, {
        kind: 'err',
        text: 'Enter an email address, like name@company.com.',
      }),
    };
  }
  try {
    await sendSignInLink(deps, email);
  } catch (error) {
    // Said nowhere on the page: the answer must not tell which addresses may sign in.
    deps.onError?.('sign-in link not sent', error);
  }
  return { status: 200, html: checkEmailPage(base) };
}

async function sendSignInLink(deps: InboxDeps, email: string): Promise<void> {
  const now = deps.clock.now();
  // Counted before the lookups, so that asking again and again for any address costs little.
  const taken = await deps.usage.take(
    `SIGNIN#${hashToken(email)}`,
    'sign_in',
    SIGN_IN_EMAILS_PER_HOUR,
    now,
  );
  if (!taken.ok || !(await maySignIn(deps, email))) return;
  const token = newToken();
  const expiresAt = Math.floor(now.getTime() / 1000) + SIGN_IN_LINK_SECONDS;
  await deps.credentials.putSignInLink(hashToken(token), { email, expires_at: expiresAt });
  const url = `${deps.publicBaseUrl.replace(/\/$/, '')}/inbox/sign-in/${token}`;
  const text = [
    'Sign in to your Countersign approvals inbox:',
    '',
    url,
    '',
    'The link works once, within 15 minutes. If you did not ask for it, ignore this email.',
  ].join('\n');
  await deps.email.send({
    to: email,
    subject: 'Sign in to your approvals inbox',
    text,
    html: `<p>Sign in to your Countersign approvals inbox:</p><p><a href="${escapeHtml(url)}">Sign in</a></p><p>The link works once, within 15 minutes. If you did not ask for it, ignore this email.</p>`,
    intentId: null,
    kind: 'sign_in',
    reviewUrl: url,
  });
}

/**
 * An address that holds a reviewer key, or for which an intent waits now (its own inbox listing:
 * anyone may ask, so an unknown address must cost one small read, never a scan).
 */
async function maySignIn(deps: InboxDeps, email: string): Promise<boolean> {
  const keys = await deps.keys.list();
  if (keys.some((key) => key.role === 'reviewer' && !key.revoked_at && key.principal === email)) {
    return true;
  }
  return deps.credentials.hasPending(email);
}

const expiredLink = (base: string): InboxAnswer => ({
  status: 410,
  html: messagePage(
    'Link expired',
    'This sign-in link was used already or is more than 15 minutes old. Ask for a new one.',
    { href: base, label: 'Ask for a new link' },
  ),
});

/** `GET`/`HEAD /inbox/sign-in/<token>`: shows the button; signs nobody in. */
export async function showSignInLink(deps: InboxDeps, token: string): Promise<InboxAnswer> {
  const base = inboxBase(deps.publicBaseUrl);
  const link = TOKEN_SHAPE.test(token)
    ? await deps.credentials.peekSignInLink(hashToken(token))
    : null;
  if (!link) return expiredLink(base);
  return { status: 200, html: confirmSignInPage(link.email) };
}

/** `POST /inbox/sign-in/<token>`: uses the link up and starts a session. */
export async function completeSignIn(deps: InboxDeps, token: string): Promise<InboxAnswer> {
  const base = inboxBase(deps.publicBaseUrl);
  const link = TOKEN_SHAPE.test(token)
    ? await deps.credentials.takeSignInLink(hashToken(token))
    : null;
  if (!link) return expiredLink(base);
  const now = deps.clock.now();
  const sessionToken = newToken();
  await deps.credentials.putSession(hashToken(sessionToken), {
    reviewer: link.email,
    csrf: newToken(),
    created_at: now.toISOString(),
    expires_at: Math.floor(now.getTime() / 1000) + SESSION_SECONDS,
  });
  return { redirect: base, session: sessionToken };
}

export async function signOut(
  deps: Pick<InboxDeps, 'credentials' | 'publicBaseUrl'>,
  signedIn: SignedIn,
): Promise<InboxAnswer> {
  await deps.credentials.deleteSession(signedIn.tokenHash);
  return {
    status: 200,
    html: signInPage(inboxBase(deps.publicBaseUrl), { kind: 'ok', text: 'You are signed out.' }),
    session: null,
  };
}

function reviewerOf(signedIn: SignedIn): Principal {
  return { role: 'reviewer', name: signedIn.session.reviewer, keyId: 'inbox-session' };
}

/**
 * The reviewer's profile time zone, if they saved a profile. It only changes how times read, so
 * a failed read shows the page as without one (UTC, rewritten by the browser's script).
 */
async function readerZone(deps: InboxDeps, signedIn: SignedIn): Promise<{ timeZone?: string }> {
  const profile = await deps.profiles.get(signedIn.session.reviewer).catch((error) => {
    deps.onError?.('profile not read', error);
    return null;
  });
  return profile ? { timeZone: profile.time_zone } : {};
}

function linksFor(deps: Pick<InboxDeps, 'publicBaseUrl'>, signedIn: SignedIn): InboxLinks {
  return { base: inboxBase(deps.publicBaseUrl), csrf: signedIn.session.csrf };
}

/** Everything waiting for the reviewer, soonest deadline first (the API's `reviewer=me` listing). */
export async function inboxList(
  deps: InboxDeps,
  signedIn: SignedIn,
  banner?: Banner,
): Promise<InboxAnswer> {
  const principal = reviewerOf(signedIn);
  const waiting: IntentView[] = [];
  let cursor: string | undefined;
  do {
    const page = await listIntents(deps, principal, {
      reviewer: 'me',
      limit: '100',
      ...(cursor ? { cursor } : {}),
    });
    waiting.push(...page.items);
    cursor = page.next_cursor ?? undefined;
  } while (cursor && waiting.length < LIST_LIMIT);
  const reviewer = principal.name;
  const items: ListedIntent[] = waiting
    .sort((a, b) => a.deadline_at.localeCompare(b.deadline_at))
    .map((intent) => ({
      intent,
      approvedByYou: approvedCurrentVersion(intent, reviewer),
    }));
  return {
    status: 200,
    html: listPage({
      links: linksFor(deps, signedIn),
      reviewer,
      items,
      now: deps.clock.now(),
      truncated: cursor !== undefined,
      ...(await readerZone(deps, signedIn)),
      ...(banner ? { banner } : {}),
    }),
  };
}

/** One intent the reviewer may see; 404 for any other, as the API answers. */
export async function inboxIntent(
  deps: InboxDeps,
  signedIn: SignedIn,
  id: string,
  banner?: Banner,
  status = 200,
): Promise<InboxAnswer> {
  let intent: IntentState;
  try {
    intent = await loadVisible(deps, reviewerOf(signedIn), id);
  } catch (error) {
    if (error instanceof DomainError && error.code === 'not_found') {
      return {
        status: 404,
        html: messagePage('Not found', 'There is no such request for you.', {
          href: inboxBase(deps.publicBaseUrl),
          label: 'Back to the inbox',
        }),
      };
    }
    throw error;
  }
  return {
    status,
    html: intentPage({
      links: linksFor(deps, signedIn),
      reviewer: signedIn.session.reviewer,
      intent: toView(intent),
      stepClock: intent,
      events: await deps.intents.events(id),
      now: deps.clock.now(),
      ...(await readerZone(deps, signedIn)),
      ...(banner ? { banner } : {}),
    }),
  };
}

type Outcome = 'approve' | 'reject';
const outcomeOf = (form: URLSearchParams): Outcome | null => {
  const outcome = form.get('outcome');
  return outcome === 'approve' || outcome === 'reject' ? outcome : null;
};
const commentOf = (form: URLSearchParams) => (form.get('comment') ?? '').trim().slice(0, 2000);

/** Records one vote through the API's path; the inbox's channel is `web`. */
function vote(
  deps: InboxDeps,
  signedIn: SignedIn,
  id: string,
  outcome: Outcome,
  comment: string,
  shown: { step?: number; version?: number; edits?: Record<string, unknown> } = {},
) {
  return recordVote(
    deps,
    id,
    {
      by: signedIn.session.reviewer,
      outcome,
      comment: comment || null,
      channel: 'web',
      override: false,
      ...(shown.step === undefined
        ? {}
        : {
            shownFor: {
              step: shown.step,
              ...(shown.version === undefined ? {} : { version: shown.version }),
            },
          }),
      ...(shown.edits ? { edits: shown.edits } : {}),
    },
    undefined,
    reviewerOf(signedIn),
  );
}

const smallNumber = (text: string | null) =>
  text !== null && /^\d{1,6}$/.test(text) ? Number(text) : undefined;

/** `POST /inbox/intents/<id>`: approve, or reject with a reason. */
export async function decideFromInbox(
  deps: InboxDeps,
  signedIn: SignedIn,
  id: string,
  form: URLSearchParams,
): Promise<InboxAnswer> {
  const outcome = outcomeOf(form);
  const comment = commentOf(form);
  if (!outcome) {
    return inboxIntent(deps, signedIn, id, { kind: 'err', text: 'Choose Approve or Reject.' }, 400);
  }
  if (outcome === 'reject' && comment === '') {
    return inboxIntent(
      deps,
      signedIn,
      id,
      { kind: 'err', text: 'Say why you reject: a reason is required.' },
      400,
    );
  }
  const step = smallNumber(form.get('step'));
  const version = smallNumber(form.get('version'));
  let edits: Record<string, unknown> | undefined;
  if (form.get('edit') === '1' && outcome === 'approve') {
    // The edit form's fields, read as the review page reads them (`editsFromForm`).
    const stored = await deps.intents.get(id);
    const parsed = stored ? editsFromForm(stored, form) : { edits: {} };
    if ('problem' in parsed) {
      return inboxIntent(deps, signedIn, id, { kind: 'err', text: parsed.problem }, 400);
    }
    edits = parsed.edits;
  }
  try {
    const intent = await vote(deps, signedIn, id, outcome, comment, { step, version, edits });
    const text =
      intent.status === 'pending'
        ? 'Your approval is recorded. The request waits for further approvals.'
        : `Done: the request is ${intent.status}. The agent has been told.`;
    return inboxIntent(deps, signedIn, id, { kind: 'ok', text });
  } catch (error) {
    if (!(error instanceof DomainError)) throw error;
    const details = error.details.map((d) => `${d.field}: ${d.message}.`);
    return inboxIntent(
      deps,
      signedIn,
      id,
      { kind: 'warn', text: [`Nothing changed: ${error.message}`, ...details].join(' ') },
      error.code === 'not_found' ? 404 : error.code === 'validation_failed' ? 400 : 409,
    );
  }
}

function selectedIds(form: URLSearchParams): string[] {
  return [...new Set(form.getAll('id').filter((id) => /^[A-Za-z0-9_-]{1,100}$/.test(id)))];
}

/** `POST /inbox/bulk`: the confirmation page; decides nothing. */
export async function confirmBulk(
  deps: InboxDeps,
  signedIn: SignedIn,
  form: URLSearchParams,
  problem?: string,
): Promise<InboxAnswer> {
  const outcome = outcomeOf(form);
  const ids = selectedIds(form);
  if (!outcome || ids.length === 0) {
    return inboxList(deps, signedIn, { kind: 'err', text: 'Select one or more requests first.' });
  }
  if (ids.length > MAX_BULK_DECISIONS) {
    return inboxList(deps, signedIn, {
      kind: 'err',
      text: `Select at most ${MAX_BULK_DECISIONS} at once.`,
    });
  }
  const reviewer = signedIn.session.reviewer;
  const principal = reviewerOf(signedIn);
  const found = await Promise.all(
    ids.map((id) => loadVisible(deps, principal, id).catch(() => null)),
  );
  const waiting = found.filter(
    (intent): intent is IntentState =>
      intent !== null &&
      intent.status === 'pending' &&
      intent.recipients.includes(reviewer) &&
      !approvedCurrentVersion(intent, reviewer),
  );
  if (waiting.length === 0) {
    return inboxList(deps, signedIn, {
      kind: 'warn',
      text: 'None of those wait for you any more.',
    });
  }
  return {
    status: problem ? 400 : 200,
    html: confirmBulkPage({
      links: linksFor(deps, signedIn),
      reviewer,
      outcome,
      intents: waiting.map(toView),
      skipped: ids.length - waiting.length,
      now: deps.clock.now(),
      ...(await readerZone(deps, signedIn)),
      ...(problem ? { problem } : {}),
    }),
  };
}

/** `POST /inbox/bulk/decide`: each through the single vote; one result per request. */
export async function decideBulk(
  deps: InboxDeps,
  signedIn: SignedIn,
  form: URLSearchParams,
): Promise<InboxAnswer> {
  const outcome = outcomeOf(form);
  const ids = selectedIds(form).slice(0, MAX_BULK_DECISIONS);
  const comment = commentOf(form);
  if (!outcome || ids.length === 0) {
    return inboxList(deps, signedIn, { kind: 'err', text: 'Select one or more requests first.' });
  }
  if (outcome === 'reject' && comment === '') {
    return confirmBulk(deps, signedIn, form, 'Say why you reject: a reason is required.');
  }
  const settled = await settleEach(ids, (id) => vote(deps, signedIn, id, outcome, comment));
  const summaries = new Map<string, string>();
  await Promise.all(
    settled.map(async (item) => {
      if (item.ok) summaries.set(item.intent_id, item.intent.summary);
      else {
        const stored = await deps.intents.get(item.intent_id).catch(() => null);
        summaries.set(item.intent_id, stored?.summary ?? item.intent_id);
      }
    }),
  );
  const lines: BulkLine[] = settled.map((item) => {
    const summary = summaries.get(item.intent_id) ?? item.intent_id;
    if (item.ok) {
      return {
        summary,
        ok: true,
        text:
          item.intent.status === 'pending'
            ? 'your approval is recorded; it waits for others'
            : item.intent.status.replace('_', ' '),
      };
    }
    if (!(item.error instanceof DomainError)) {
      deps.onError?.('bulk decision failed', item.error);
    }
    const text =
      item.error instanceof DomainError
        ? `nothing changed: ${item.error.message}`
        : 'nothing changed: something went wrong; try again in a moment';
    return { summary, ok: false, text };
  });
  return {
    status: 200,
    html: bulkResultPage({
      links: linksFor(deps, signedIn),
      reviewer: signedIn.session.reviewer,
      lines,
    }),
  };
}

/** `"2026-12-24T09:00"` (a `datetime-local` field) read as wall time in `zone`; null if not one. */
export function wallTimeToInstant(text: string, zone: string): string | null {
  const match = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d)$/.exec(text);
  if (!match) return null;
  const [year, month, day, hour, minute] = match.slice(1, 6).map(Number) as [
    number,
    number,
    number,
    number,
    number,
  ];
  const wall = Date.UTC(year, month - 1, day, hour, minute);
  // Not a real date (2026-02-31): Date.UTC would roll it over into March.
  if (new Date(wall).toISOString().slice(0, 16) !== text) return null;
  let at = wall - zoneOffset(zone, wall);
  at = wall - zoneOffset(zone, at);
  return new Date(at).toISOString();
}

/** An instant as a `datetime-local` value in `zone`. */
export function instantToWallTime(at: string, zone: string): string {
  const ms = Date.parse(at);
  return new Date(ms + zoneOffset(zone, ms)).toISOString().slice(0, 16);
}

/** `GET /inbox/me`: the signed-in reviewer's availability, as a form. */
export async function availabilityForm(
  deps: InboxDeps,
  signedIn: SignedIn,
  banner?: Banner,
): Promise<InboxAnswer> {
  const profile = await getReviewerProfile(deps, reviewerOf(signedIn), 'me');
  const zone = profile.time_zone;
  const ooo = profile.out_of_office;
  const values: AvailabilityForm = {
    time_zone: zone,
    hours: Object.fromEntries(
      WEEKDAYS.map((day) => [day, (profile.working_hours?.[day] ?? []).join(', ')]),
    ),
    ooo_from: ooo ? instantToWallTime(ooo.from, zone) : '',
    ooo_until: ooo ? instantToWallTime(ooo.until, zone) : '',
    ooo_delegate: ooo?.delegate ?? '',
  };
  return {
    status: 200,
    html: availabilityPage({
      links: linksFor(deps, signedIn),
      reviewer: signedIn.session.reviewer,
      values,
      errors: {},
      saved: profile.updated_at !== null,
      ...(banner ? { banner } : {}),
    }),
  };
}

/** The form's field each profile field's problems show next to. */
function formFieldOf(field: string): string {
  const [head, sub] = field.split('.');
  if (head === 'working_hours' && sub) return `hours_${sub}`;
  if (head === 'out_of_office') return sub ? `ooo_${sub}` : 'ooo_from';
  return head === 'time_zone' ? 'time_zone' : 'form';
}

/**
 * `POST /inbox/me`: saves the reviewer's own profile through the API's rules. Each weekday's
 * hours are comma-separated ranges (empty: not working that day; every day empty: always
 * available); out of office takes all three fields or none, its times in the chosen zone.
 */
export async function saveAvailability(
  deps: InboxDeps,
  signedIn: SignedIn,
  form: URLSearchParams,
): Promise<InboxAnswer> {
  const text = (name: string) => (form.get(name) ?? '').trim().slice(0, 300);
  const values: AvailabilityForm = {
    time_zone: text('time_zone'),
    hours: Object.fromEntries(WEEKDAYS.map((day) => [day, text(`hours_${day}`)])),
    ooo_from: text('ooo_from'),
    ooo_until: text('ooo_until'),
    ooo_delegate: text('ooo_delegate'),
  };
  const errors: Record<string, string> = {};
  // Only the days worked: an empty day is left out, which the profile reads as not working.
  const hours = Object.fromEntries(
    WEEKDAYS.flatMap((day) => {
      const ranges = (values.hours[day] ?? '')
        .split(',')
        .map((range) => range.trim())
        .filter((range) => range !== '');
      return ranges.length > 0 ? [[day, ranges]] : [];
    }),
  );
  const working = Object.keys(hours).length > 0;
  const oooGiven = [values.ooo_from, values.ooo_until, values.ooo_delegate].filter(Boolean);
  let outOfOffice: Record<string, string> | null = null;
  if (oooGiven.length > 0) {
    // Times are read in the chosen zone; an invalid zone is reported on its own field.
    const zone = canonicalTimeZone(values.time_zone) ?? 'UTC';
    const from = wallTimeToInstant(values.ooo_from, zone);
    const until = wallTimeToInstant(values.ooo_until, zone);
    if (!from) errors.ooo_from = 'Enter the date and time you leave.';
    if (!until) errors.ooo_until = 'Enter the date and time you are back.';
    if (values.ooo_delegate === '') errors.ooo_delegate = 'Enter who decides for you meanwhile.';
    outOfOffice = { from: from ?? '', until: until ?? '', delegate: values.ooo_delegate };
  }
  if (Object.keys(errors).length === 0) {
    try {
      await putReviewerProfile(deps, reviewerOf(signedIn), 'me', {
        time_zone: values.time_zone,
        working_hours: working ? hours : null,
        out_of_office: outOfOffice,
      });
      return availabilityForm(deps, signedIn, { kind: 'ok', text: 'Your availability is saved.' });
    } catch (error) {
      const issues =
        error instanceof ZodError
          ? error.issues.map((issue) => ({ field: issue.path.join('.'), message: issue.message }))
          : error instanceof DomainError && error.code === 'validation_failed'
            ? error.details
            : null;
      if (!issues) throw error;
      for (const issue of issues) {
        const field = formFieldOf(issue.field);
        errors[field] ??= `${issue.message.charAt(0).toUpperCase()}${issue.message.slice(1)}.`;
      }
    }
  }
  return {
    status: 400,
    html: availabilityPage({
      links: linksFor(deps, signedIn),
      reviewer: signedIn.session.reviewer,
      values,
      errors,
      saved: false,
      banner: { kind: 'err', text: 'Nothing was saved: fix the fields marked below.' },
    }),
  };
}
