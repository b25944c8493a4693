import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import {
  availabilityForm,
  completeSignIn,
  confirmBulk,
  decideBulk,
  decideFromInbox,
  type InboxAnswer,
  inboxBase,
  inboxIntent,
  inboxList,
  requestSignIn,
  SESSION_SECONDS,
  type SignedIn,
  sameCsrf,
  saveAvailability,
  sessionFor,
  showSignInLink,
  signInForm,
  signOut,
} from '../core/inbox';
import { messagePage } from '../core/inbox-html';
import { REVIEW_PAGE_CSP } from '../core/review-html';
import { inboxDeps } from '../shared/deps';
import { errorResult, header, requestLogger } from '../shared/http';
import type { InvocationContext } from '../shared/logger';

/**
 * The reviewer inbox's HTTP side: cookies, form bodies, and the checks every change passes
 * before the core sees it. A POST must come from a page of this deployment (its `Origin`, or
 * failing that its `Referer`, is the public base URL's origin) and, once signed in, carry the
 * session's CSRF token. GET and HEAD never change anything. Pages are not cached, not framed,
 * and run no script but the review pages' time formatter.
 */
export const SESSION_COOKIE = 'countersign_inbox';

const HTML_HEADERS = {
  'Content-Type': 'text/html; charset=utf-8',
  'Cache-Control': 'no-store',
  'X-Frame-Options': 'DENY',
  // The review pages' policy: no script but the one that shows times in the browser's zone.
  'Content-Security-Policy': `${REVIEW_PAGE_CSP}; base-uri 'none'`,
  // Not `no-referrer`: with it, browsers send `Origin: null` on form posts, which the check refuses.
  'Referrer-Policy': 'same-origin',
  'X-Content-Type-Options': 'nosniff',
};

type Deps = ReturnType<typeof inboxDeps>;

export const handler = async (
  event: APIGatewayProxyEvent,
  context?: InvocationContext,
): Promise<APIGatewayProxyResult> => {
  const log = requestLogger(event, context);
  const started = Date.now();
  let result: APIGatewayProxyResult;
  try {
    result = await route(inboxDeps(), event);
  } catch (error) {
    // Paths carry sign-in tokens: the logger has the route and request ids, never the path.
    const failed = errorResult(error, log);
    result = page(failed.statusCode, {
      html: messagePage('Something went wrong', 'Nothing was changed. Try again in a moment.', {
        href: '.',
        label: 'Back',
      }),
    });
  }
  log.info('request', { status: result.statusCode, duration_ms: Date.now() - started });
  return event.httpMethod === 'HEAD' ? { ...result, body: '' } : result;
};

async function route(deps: Deps, event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
  const method = event.httpMethod === 'HEAD' ? 'GET' : event.httpMethod;
  const token = event.pathParameters?.token ?? '';
  const id = event.pathParameters?.id ?? '';
  const base = inboxBase(deps.publicBaseUrl);
  const signedIn = await sessionFor(deps, cookie(event, SESSION_COOKIE));
  const respond = (answer: InboxAnswer) => toResult(deps, answer);

  if (method === 'GET') {
    switch (event.resource) {
      case '/inbox':
        return respond(signedIn ? await inboxList(deps, signedIn) : signInForm(deps));
      case '/inbox/sign-in/{token}':
        return respond(await showSignInLink(deps, token));
      case '/inbox/intents/{id}':
        return respond(signedIn ? await inboxIntent(deps, signedIn, id) : { redirect: base });
      case '/inbox/me':
        return respond(signedIn ? await availabilityForm(deps, signedIn) : { redirect: base });
    }
    return respond(notFound(base));
  }
  if (method !== 'POST') return respond(notFound(base));

  // Every POST: a form, sent from a page of this deployment.
  const contentType = header(event, 'content-type') ?? '';
  if (!contentType.startsWith('application/x-www-form-urlencoded')) {
    return respond(refused(base, 415, 'Use the buttons on the inbox pages.'));
  }
  if (!fromOwnPage(event, deps.publicBaseUrl)) {
    return respond(refused(base, 403, 'This form was not sent from the inbox. Nothing changed.'));
  }
  const raw = event.isBase64Encoded
    ? Buffer.from(event.body ?? '', 'base64').toString('utf8')
    : (event.body ?? '');
  const form = new URLSearchParams(raw);

  switch (event.resource) {
    case '/inbox/sign-in':
      return respond(await requestSignIn(deps, form));
    case '/inbox/sign-in/{token}':
      return respond(await completeSignIn(deps, token));
  }
  if (!signedIn) {
    return respond(
      signInForm(deps, {
        kind: 'warn',
        text: 'Your session ended. Sign in again; nothing changed.',
      }),
    );
  }
  if (!sameCsrf(form.get('csrf'), signedIn.session)) {
    return respond(refused(base, 403, 'This form is out of date. Nothing changed.'));
  }
  return respond(await signedInPost(deps, event, signedIn, form, id));
}

async function signedInPost(
  deps: Deps,
  event: APIGatewayProxyEvent,
  signedIn: SignedIn,
  form: URLSearchParams,
  id: string,
): Promise<InboxAnswer> {
  switch (event.resource) {
    case '/inbox/sign-out':
      return signOut(deps, signedIn);
    case '/inbox/intents/{id}':
      return decideFromInbox(deps, signedIn, id, form);
    case '/inbox/bulk':
      return confirmBulk(deps, signedIn, form);
    case '/inbox/bulk/decide':
      return decideBulk(deps, signedIn, form);
    case '/inbox/me':
      return saveAvailability(deps, signedIn, form);
  }
  return notFound(inboxBase(deps.publicBaseUrl));
}

const notFound = (base: string): InboxAnswer => refused(base, 404, 'There is no such page.');

function refused(base: string, status: number, text: string): InboxAnswer {
  return {
    status,
    html: messagePage('Not done', text, { href: base, label: 'Go to the inbox' }),
  };
}

function toResult(deps: Deps, answer: InboxAnswer): APIGatewayProxyResult {
  const cookies: Record<string, string> =
    answer.session === undefined ? {} : { 'Set-Cookie': sessionCookie(deps, answer.session) };
  if ('redirect' in answer) {
    return {
      statusCode: 303,
      headers: { ...HTML_HEADERS, ...cookies, Location: answer.redirect },
      body: '',
    };
  }
  return page(answer.status, answer, cookies);
}

function page(
  status: number,
  answer: { html: string },
  extra: Record<string, string> = {},
): APIGatewayProxyResult {
  return { statusCode: status, headers: { ...HTML_HEADERS, ...extra }, body: answer.html };
}

/** The session cookie: HttpOnly, SameSite=Lax, Secure where the API is served over HTTPS. */
function sessionCookie(deps: Deps, token: string | null): string {
  const url = new URL(deps.publicBaseUrl);
  return [
    `${SESSION_COOKIE}=${token ?? ''}`,
    `Path=${inboxBase(deps.publicBaseUrl)}`,
    `Max-Age=${token ? SESSION_SECONDS : 0}`,
    'HttpOnly',
    'SameSite=Lax',
    ...(url.protocol === 'https:' ? ['Secure'] : []),
  ].join('; ');
}

/** A POST from a page of this deployment: its Origin (else its Referer) is the API's origin. */
function fromOwnPage(event: APIGatewayProxyEvent, publicBaseUrl: string): boolean {
  const expected = new URL(publicBaseUrl).origin;
  const origin = header(event, 'origin');
  if (origin !== undefined) return origin === expected;
  const referer = header(event, 'referer');
  if (referer === undefined) return false;
  try {
    return new URL(referer).origin === expected;
  } catch {
    return false;
  }
}

function cookie(event: APIGatewayProxyEvent, name: string): string | undefined {
  const values = [
    ...(event.multiValueHeaders?.Cookie ?? event.multiValueHeaders?.cookie ?? []),
    header(event, 'cookie') ?? '',
  ];
  for (const value of values) {
    for (const part of value.split(';')) {
      const [key, ...rest] = part.trim().split('=');
      if (key === name) return rest.join('=');
    }
  }
  return undefined;
}
