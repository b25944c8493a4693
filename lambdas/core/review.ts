import { createHmac, timingSafeEqual } from 'node:crypto';
import { applyView } from '../domain/decisions';
import { editFromText, valueAt } from '../domain/edits';
import { DomainError } from '../domain/errors';
import { currentPayload, type IntentState, type IntentView, toView } from '../domain/intent';
import { type LinkVerdict, verifyReviewLink } from '../domain/review-link';
import { type IntentServiceDeps, recordVote } from './intents';
import type { ReviewerProfileRepository } from './ports';
import { decisionLine, messagePage, reviewPage } from './review-html';
import { transitionIntent } from './transitions';

export interface ReviewDeps
  extends Pick<IntentServiceDeps, 'intents' | 'workflow' | 'clock' | 'signer'> {
  linkSigningSecret: string;
  /** The reader's profile gives the page's time zone (the browser's own rewrites it anyway). */
  profiles?: ReviewerProfileRepository;
}

/**
 * The reader's time zone from their reviewer profile, if they set one. It only changes how
 * times read, so a failed read shows the page in UTC rather than no page.
 */
async function readerZone(deps: ReviewDeps, reviewer: string): Promise<{ timeZone?: string }> {
  const profile = await deps.profiles?.get(reviewer).catch(() => null);
  return profile ? { timeZone: profile.time_zone } : {};
}

export interface HtmlResult {
  status: number;
  html: string;
}

const LINK_PROBLEMS: Record<Exclude<LinkVerdict, { ok: true }>['reason'], HtmlResult> = {
  malformed: {
    status: 404,
    html: messagePage(
      'Link not recognised',
      'This review link is incomplete or was changed. Open the link from the most recent email again.',
      'err',
    ),
  },
  bad_signature: {
    status: 403,
    html: messagePage(
      'Link not valid',
      'This review link was not issued by Countersign, or it was altered. Nothing was changed.',
      'err',
    ),
  },
  expired: {
    status: 410,
    html: messagePage(
      'Link expired',
      'This review link expired with the request it was for. Nothing was changed.',
      'warn',
    ),
  },
};

/** GET (and HEAD): shows the request. Never decides; records `viewed` once per reviewer on GET. */
export async function showReview(
  deps: ReviewDeps,
  linkToken: string,
  options: { recordView: boolean; formAction: string },
): Promise<HtmlResult> {
  const verdict = verifyReviewLink(
    linkToken,
    deps.linkSigningSecret,
    deps.clock.now().getTime() / 1000,
  );
  if (!verdict.ok) return LINK_PROBLEMS[verdict.reason];
  const { intentId, reviewer } = verdict.claims;
  let intent = await deps.intents.get(intentId);
  if (!intent) return LINK_PROBLEMS.malformed;
  if (options.recordView && intent.status === 'pending') {
    ({ after: intent } = await transitionIntent(
      deps.intents,
      intentId,
      (current) => applyView(current, reviewer, deps.clock.now().toISOString()),
      intent,
    ));
  }
  return {
    status: 200,
    html: reviewPage({
      intent: toView(intent),
      events: await deps.intents.events(intentId),
      reviewer,
      formAction: options.formAction,
      formNonce: formNonce(deps.linkSigningSecret, linkToken, intent),
      now: deps.clock.now(),
      stepClock: intent,
      ...(await readerZone(deps, reviewer)),
    }),
  };
}

/** POST: the only way a review link decides. */
export async function submitReview(
  deps: ReviewDeps,
  linkToken: string,
  form: URLSearchParams,
  formAction: string,
): Promise<HtmlResult> {
  const verdict = verifyReviewLink(
    linkToken,
    deps.linkSigningSecret,
    deps.clock.now().getTime() / 1000,
  );
  if (!verdict.ok) return LINK_PROBLEMS[verdict.reason];
  const { intentId, reviewer } = verdict.claims;
  const outcome = form.get('outcome');
  const comment = (form.get('comment') ?? '').trim().slice(0, 2000);
  const rerender = async (
    status: number,
    banner: { kind: 'ok' | 'warn' | 'err'; text: string },
  ) => {
    const intent = await deps.intents.get(intentId);
    if (!intent) return LINK_PROBLEMS.malformed;
    return {
      status,
      html: reviewPage({
        intent: toView(intent),
        events: await deps.intents.events(intentId),
        reviewer,
        formAction,
        formNonce: formNonce(deps.linkSigningSecret, linkToken, intent),
        now: deps.clock.now(),
        stepClock: intent,
        banner,
        ...(await readerZone(deps, reviewer)),
      }),
    };
  };
  const nonce = readNonce(form.get('nonce') ?? '', deps.linkSigningSecret, linkToken);
  if (!nonce.ok) {
    return rerender(400, { kind: 'err', text: 'Please decide with the buttons on this page.' });
  }
  if (outcome !== 'approve' && outcome !== 'reject') {
    return rerender(400, { kind: 'err', text: 'Choose Approve or Reject.' });
  }
  if (outcome === 'reject' && comment === '') {
    return rerender(400, { kind: 'err', text: 'Say why you reject: a comment is required.' });
  }
  let edits: Record<string, unknown> | undefined;
  if (form.get('edit') === '1' && outcome === 'approve') {
    const shown = await deps.intents.get(intentId);
    const parsed = shown ? editsFromForm(shown, form) : { edits: {} };
    if ('problem' in parsed) return rerender(400, { kind: 'err', text: parsed.problem });
    edits = parsed.edits;
  }
  try {
    const intent = await recordVote(deps, intentId, {
      by: reviewer,
      outcome,
      comment: comment || null,
      channel: 'email',
      override: false,
      shownFor: {
        step: nonce.step,
        ...(nonce.version === undefined ? {} : { version: nonce.version }),
      },
      ...(edits ? { edits } : {}),
    });
    const text =
      intent.status === 'pending'
        ? 'Your approval is recorded. The request waits for further approvals.'
        : `Done: the request is ${intent.status}. The agent has been told.`;
    return rerender(200, { kind: 'ok', text });
  } catch (error) {
    if (error instanceof DomainError) {
      const stored = await deps.intents.get(intentId);
      const current = stored ? toView(stored) : null;
      let text = error.message;
      if (current && error.code === 'step_over' && current.step === nonce.step) {
        text = `Nothing changed. The request was edited after this page was shown (it is now version ${current.payload_version ?? 0}); review it below and decide again.`;
      } else if (current && error.code === 'step_over') {
        text = `Nothing changed. ${stepOverLine(current, reviewer, nonce.step)}`;
      } else if (error.code === 'validation_failed') {
        text = [error.message, ...error.details.map((d) => `${d.field}: ${d.message}.`)].join(' ');
      } else if (current) {
        text = `Nothing changed. ${decisionLine(current, reviewer, { now: deps.clock.now() })}`;
      }
      return rerender(error.code === 'validation_failed' ? 400 : 409, { kind: 'warn', text });
    }
    throw error;
  }
}

/** Why a form for a step that is over decided nothing, in the reviewer's terms. */
function stepOverLine(intent: IntentView, reviewer: string, shownFor: number | null): string {
  const steps = intent.policy.steps?.length ?? 1;
  const now = `Step ${intent.step + 1} of ${steps} now waits for its reviewers.`;
  if (shownFor === null) {
    return `This page does not say which step it was for, and you already approved an earlier step, so it could repeat that approval. ${now}`;
  }
  const was = `step ${shownFor + 1} of ${steps}`;
  return intent.approvals.some((a) => a.by === reviewer && a.step === shownFor)
    ? `Your approval of ${was} is already recorded. ${now}`
    : `This page was for ${was}, which is over. ${now}`;
}

/**
 * Ties a POST to a page this server rendered for this link, and to the chain step and payload
 * version that page showed: `<step>.<version>.<mac>`. The link token in the URL is the
 * credential; the nonce refuses blind POSTs to a known link (no form, no decision), a form sent
 * again (back button, a second tap) cannot become a vote in the next step when the same
 * reviewer is asked there too, and a page shown before an edit cannot approve the edited version.
 */
function formNonce(
  secret: string,
  linkToken: string,
  intent: { step: number; payload_version?: number },
): string {
  const version = intent.payload_version ?? 0;
  return `${intent.step}.${version}.${mac(secret, `review-form.v3.${linkToken}.${intent.step}.${version}`)}`;
}

/**
 * The step (and version) a submitted form was shown for. Pages rendered before the nonce named
 * the version carry the v2 nonce (`<step>.<mac>`, any version), and those before it named the
 * step the v1 nonce, accepted with `step: null` (see `Vote.shownFor`), so that a page open in a
 * browser across an upgrade still works.
 */
function readNonce(
  given: string,
  secret: string,
  linkToken: string,
): { ok: true; step: number | null; version?: number } | { ok: false } {
  const versioned = /^(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,5})\.[A-Za-z0-9_-]+$/.exec(given);
  if (versioned?.[1] !== undefined && versioned[2] !== undefined) {
    const step = Number(versioned[1]);
    const version = Number(versioned[2]);
    return sameNonce(given, formNonce(secret, linkToken, { step, payload_version: version }))
      ? { ok: true, step, version }
      : { ok: false };
  }
  const stepped = /^(0|[1-9][0-9]{0,2})\.[A-Za-z0-9_-]+$/.exec(given);
  if (stepped?.[1] !== undefined) {
    const step = Number(stepped[1]);
    return sameNonce(given, `${step}.${mac(secret, `review-form.v2.${linkToken}.${step}`)}`)
      ? { ok: true, step }
      : { ok: false };
  }
  return sameNonce(given, mac(secret, `review-form.v1.${linkToken}`))
    ? { ok: true, step: null }
    : { ok: false };
}

/**
 * The edits of an "Edit and approve" form: each editable value's field, read as the type the
 * value has (a number, true/false, text); the domain checks the rest (`editIssues`).
 */
export function editsFromForm(
  intent: IntentState,
  form: URLSearchParams,
): { edits: Record<string, unknown> } | { problem: string } {
  const shown = currentPayload(intent);
  const edits: Record<string, unknown> = {};
  for (const pointer of intent.editable ?? []) {
    const raw = form.get(`edit:${pointer}`);
    if (raw === null) continue;
    const parsed = editFromText(valueAt(shown, pointer), raw);
    if ('problem' in parsed) return { problem: `${pointer} ${parsed.problem}.` };
    edits[pointer] = parsed.value;
  }
  return { edits };
}

function mac(secret: string, text: string): string {
  return createHmac('sha256', secret).update(text).digest('base64url');
}

function sameNonce(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
