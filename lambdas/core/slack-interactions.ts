import { z } from 'zod';
import { approvedCurrentVersion, isStepOver, stepShownFor } from '../domain/decisions';
import { editFromText, valueAt } from '../domain/edits';
import { DomainError } from '../domain/errors';
import { currentPayload, type IntentState, type IntentView, toView } from '../domain/intent';
import { normalizeReviewer } from '../domain/policy';
import {
  audienceFromBlockId,
  editBlockId,
  ephemeralRefusal,
  parseDecisionButtonValue,
  renderEditModal,
  renderNoticeModal,
  renderRejectModal,
  renderSlackOutcome,
  SLACK_ACTIONS,
  SLACK_COMMENT_BLOCK,
  SLACK_EDIT_ACTION,
  SLACK_EDIT_CALLBACK_ID,
  SLACK_REASON_ACTION,
  SLACK_REASON_BLOCK,
  SLACK_REASON_MAX,
  SLACK_REJECT_CALLBACK_ID,
  type SlackAudience,
} from '../domain/slack-blocks';
import { type IntentServiceDeps, recordVote } from './intents';
import { type SlackGateway, SlackUnavailableError } from './ports';

/**
 * Slack's interactivity requests, once their signature is verified (handlers/slack-interactions.ts):
 * a click on Approve decides at once; a click on Reject opens a modal asking why, and one on
 * "Edit and approve" a modal with the editable values, whose submission decides. Both go through `recordVote`, the same exactly-once path as the API, with
 * channel `slack`. The clicking Slack user must map (by the email Slack holds for them) to a
 * current recipient, and a button counts only in the chain step its message was for, so that a
 * double click or a replayed request cannot become a vote in the next step. A click that
 * changes nothing (outsider, already decided, already voted, step over) is answered with a
 * message only that person sees; the original message is updated so that its buttons give way
 * to the outcome and who decided.
 *
 * Slack shows the clicker an error when the answer takes more than 3 seconds, and a Lambda
 * function cannot keep working once it answered, so everything happens within a `Deadline`.
 * The decision (one conditional write) and the wake of the waiting execution are never cut
 * short: they are what the click is for, and the waiting agent resumes through the wake.
 * users.info comes before them and must leave them time; the Slack calls after them
 * (chat.update, chat.postEphemeral) get what is left, and are cancelled when it runs out. That
 * loses nothing that matters: once the intent ends, the workflow's `decided` notice rewrites
 * every message posted for it (core/stage-runner.ts), this one included.
 */
export interface SlackInteractionDeps
  extends Pick<IntentServiceDeps, 'intents' | 'workflow' | 'clock' | 'signer'> {
  slack: SlackGateway;
}

/**
 * How long an interaction may take, from the moment the request arrived: Slack waits 3 seconds,
 * measured on its side, so some is left for the network and API Gateway.
 */
export const SLACK_ANSWER_BUDGET_MS = 2500;
/** What users.info leaves for the decision after it: a conditional write and SendTaskSuccess. */
const DECISION_RESERVE_MS = 700;
/** A follow-up call is not started with less time than this: it could not finish. */
const MIN_CALL_MS = 100;

/** The moment the answer must be on its way to Slack. */
export class Deadline {
  constructor(
    readonly at: number,
    private readonly now: () => number = Date.now,
  ) {}

  static after(ms: number, now: () => number = Date.now): Deadline {
    return new Deadline(now() + ms, now);
  }

  /** Milliseconds left, keeping `reserveMs` for what must come after. */
  remaining(reserveMs = 0): number {
    return this.at - reserveMs - this.now();
  }
}

/** What the handler answers Slack: an empty 200, or a JSON body (a modal's response_action). */
export type SlackReply = {
  body: Record<string, unknown> | null;
  /** Slack calls that failed or ran out of time; logged, never fatal to a decision. */
  problems: string[];
};

const slackId = z.string().min(1).max(255);

export const blockActionsSchema = z.object({
  type: z.literal('block_actions'),
  user: z.object({ id: slackId }),
  trigger_id: z.string().max(255).optional(),
  container: z
    .object({
      channel_id: z.string().max(255).optional(),
      message_ts: z.string().max(64).optional(),
    })
    .optional(),
  channel: z.object({ id: slackId }).optional(),
  message: z.object({ ts: z.string().max(64) }).optional(),
  actions: z
    .array(
      z.object({
        action_id: z.string().max(255),
        block_id: z.string().max(255).optional(),
        value: z.string().max(2000).optional(),
      }),
    )
    .min(1),
});

export const viewSubmissionSchema = z.object({
  type: z.literal('view_submission'),
  user: z.object({ id: slackId }),
  view: z.object({
    callback_id: z.string().max(255),
    private_metadata: z.string().max(3000),
    state: z.object({
      values: z.record(
        z.string(),
        z.record(z.string(), z.object({ value: z.string().nullable().optional() })),
      ),
    }),
  }),
});

/**
 * What the Reject and Edit modals remember of the click: where the message is, whom, which step
 * and which version of the payload it was for (`step` is absent from modals opened before it was
 * kept, `version` from Reject modals opened before edits existed).
 */
const modalContextSchema = z.object({
  intent_id: z.string().min(1).max(100),
  channel: slackId,
  ts: z.string().min(1).max(64),
  block_id: z.string().max(255).optional(),
  step: z.number().int().min(0).max(999).optional(),
  version: z.number().int().min(0).optional(),
});

const payloadTypeSchema = z.object({ type: z.string().max(100) });

/** Parses the `payload` form field Slack posts. Throws invalid_request when it is not one. */
export function parseSlackPayload(form: URLSearchParams): unknown {
  const raw = form.get('payload');
  if (!raw) throw new DomainError('invalid_request', 'Slack interactions carry a payload field.');
  try {
    return JSON.parse(raw);
  } catch {
    throw new DomainError('invalid_request', 'The Slack payload is not valid JSON.');
  }
}

export async function handleSlackInteraction(
  deps: SlackInteractionDeps,
  payload: unknown,
  deadline: Deadline = Deadline.after(SLACK_ANSWER_BUDGET_MS),
): Promise<SlackReply> {
  const { type } = payloadTypeSchema.parse(payload);
  if (type === 'block_actions') {
    return onBlockActions(deps, blockActionsSchema.parse(payload), deadline);
  }
  if (type === 'view_submission') {
    return onViewSubmission(deps, viewSubmissionSchema.parse(payload), deadline);
  }
  // view_closed, shortcuts, …: nothing to do, but Slack wants its 200.
  return { body: null, problems: [] };
}

async function onBlockActions(
  deps: SlackInteractionDeps,
  payload: z.infer<typeof blockActionsSchema>,
  deadline: Deadline,
): Promise<SlackReply> {
  const reply: SlackReply = { body: null, problems: [] };
  const action = payload.actions[0];
  // The review-page link button also reports its clicks; it needs nothing but the 200.
  if (
    !action ||
    (action.action_id !== SLACK_ACTIONS.approve &&
      action.action_id !== SLACK_ACTIONS.reject &&
      action.action_id !== SLACK_ACTIONS.edit)
  ) {
    return reply;
  }
  const message = {
    channel: payload.container?.channel_id ?? payload.channel?.id ?? '',
    ts: payload.container?.message_ts ?? payload.message?.ts ?? '',
  };
  const audience = audienceFromBlockId(action.block_id);
  const button = parseDecisionButtonValue(action.value);
  /** The step the message asked about, once the intent says whether it is certain. */
  let messageStep: number | null = null;
  const tell = (text: string) =>
    followUp(reply, deadline, 'chat.postEphemeral', (signal) =>
      message.channel
        ? deps.slack.postEphemeral(
            { channel: message.channel, user: payload.user.id, text },
            { signal },
          )
        : Promise.resolve(),
    );
  const show = (intent: IntentView) =>
    followUp(reply, deadline, 'chat.update', (signal) =>
      message.channel && message.ts
        ? deps.slack.updateMessage(
            {
              channel: message.channel,
              ts: message.ts,
              ...renderSlackOutcome(intent, { audience, messageStep, now: deps.clock.now() }),
            },
            { signal },
          )
        : Promise.resolve(),
    );

  if (!button) {
    await tell(ephemeralRefusal({ kind: 'unknown_intent' }));
    return reply;
  }
  // Slack is asked who clicked while the intent is read: users.info is the slow part.
  const asking = whoClicked(deps.slack, payload.user.id, deadline);
  // Not awaited when the intent needs no clicker (gone, decided); awaited below otherwise.
  asking.catch(() => undefined);
  const intent = await deps.intents.get(button.intentId);
  if (!intent) {
    await tell(ephemeralRefusal({ kind: 'unknown_intent' }));
    return reply;
  }
  if (intent.status !== 'pending') {
    await show(toView(intent));
    await tell(ephemeralRefusal({ kind: 'not_pending', intent: toView(intent) }));
    return reply;
  }
  const clicker = await asking;
  if (clicker.kind === 'late') {
    reply.problems.push(`users.info: ${clicker.problem}`);
    await tell(SLACK_TOO_SLOW);
    return reply;
  }
  const email = clicker.email;
  messageStep = stepShownFor(intent, button.step);
  // Before the recipient check: a step's reviewer who is not asked in the next one would
  // otherwise hear "not asked" about a message that did ask them.
  if (email && isStepOver(intent, email, messageStep)) {
    await tell(stepOverRefusal(toView(intent), email, messageStep));
    return reply;
  }
  if (!email || !intent.recipients.includes(email)) {
    await tell(ephemeralRefusal({ kind: 'not_a_reviewer', email }));
    return reply;
  }
  if (button.version !== (intent.payload_version ?? 0)) {
    await tell(EDITED_SINCE_SHOWN);
    return reply;
  }

  if (action.action_id === SLACK_ACTIONS.reject || action.action_id === SLACK_ACTIONS.edit) {
    const editing = action.action_id === SLACK_ACTIONS.edit;
    if (approvedCurrentVersion(intent, email)) {
      await tell(ephemeralRefusal({ kind: 'already_voted' }));
      return reply;
    }
    if (!payload.trigger_id) {
      await tell('Slack did not send what is needed to open a form; use the review page.');
      return reply;
    }
    const context: z.infer<typeof modalContextSchema> = {
      intent_id: intent.id,
      channel: message.channel,
      ts: message.ts,
      ...(action.block_id ? { block_id: action.block_id } : {}),
      ...(messageStep !== null ? { step: messageStep } : {}),
      version: button.version,
    };
    const render = editing ? renderEditModal : renderRejectModal;
    const opened = await followUp(reply, deadline, 'views.open', (signal) =>
      deps.slack.openView(
        payload.trigger_id ?? '',
        render(toView(intent), JSON.stringify(context)),
        {
          signal,
        },
      ),
    );
    if (!opened) {
      await tell(
        `Slack could not open the form ${editing ? 'to edit the request' : 'to ask for a reason'}. Try again, or use the review page.`,
      );
    }
    return reply;
  }

  const outcome = await vote(deps, intent.id, email, 'approve', null, messageStep, {
    version: button.version,
  });
  if (outcome.ok) {
    await show(outcome.intent);
  } else {
    if (outcome.current && outcome.current.status !== 'pending') await show(outcome.current);
    await tell(outcome.refusal);
  }
  return reply;
}

async function onViewSubmission(
  deps: SlackInteractionDeps,
  payload: z.infer<typeof viewSubmissionSchema>,
  deadline: Deadline,
): Promise<SlackReply> {
  const reply: SlackReply = { body: null, problems: [] };
  const editing = payload.view.callback_id === SLACK_EDIT_CALLBACK_ID;
  if (payload.view.callback_id !== SLACK_REJECT_CALLBACK_ID && !editing) return reply;
  const context = modalContextSchema.safeParse(safeJson(payload.view.private_metadata));
  if (!context.success) {
    reply.body = notice(
      'Nothing changed',
      `This form is no longer valid. Click ${editing ? 'Edit and approve' : 'Reject'} again.`,
    );
    return reply;
  }
  const values = payload.view.state.values;
  const text = (block: string, action: string) =>
    (values[block]?.[action]?.value ?? '').trim().slice(0, SLACK_REASON_MAX);
  const reason = editing
    ? text(SLACK_COMMENT_BLOCK, SLACK_REASON_ACTION)
    : text(SLACK_REASON_BLOCK, SLACK_REASON_ACTION);
  if (!editing && !reason) {
    reply.body = {
      response_action: 'errors',
      errors: { [SLACK_REASON_BLOCK]: 'Say why you reject: a reason is required.' },
    };
    return reply;
  }
  const { intent_id: intentId, channel, ts, block_id: blockId, step, version } = context.data;
  let edits: Record<string, unknown> | undefined;
  if (editing) {
    const shown = await deps.intents.get(intentId);
    const parsed = shown ? editsFromModal(shown, values) : { edits: {} };
    if ('errors' in parsed) {
      reply.body = { response_action: 'errors', errors: parsed.errors };
      return reply;
    }
    edits = parsed.edits;
  }
  const audience: SlackAudience = audienceFromBlockId(blockId);
  const messageStep = step ?? null;
  const show = (intent: IntentView) =>
    followUp(reply, deadline, 'chat.update', (signal) =>
      deps.slack.updateMessage(
        {
          channel,
          ts,
          ...renderSlackOutcome(intent, { audience, messageStep, now: deps.clock.now() }),
        },
        { signal },
      ),
    );

  const clicker = await whoClicked(deps.slack, payload.user.id, deadline);
  if (clicker.kind === 'late') {
    reply.problems.push(`users.info: ${clicker.problem}`);
    reply.body = notice('Nothing changed', SLACK_TOO_SLOW);
    return reply;
  }
  const email = clicker.email;
  if (!email) {
    reply.body = notice('Nothing changed', ephemeralRefusal({ kind: 'not_a_reviewer', email }));
    return reply;
  }
  const outcome = await vote(
    deps,
    intentId,
    email,
    editing ? 'approve' : 'reject',
    reason || null,
    messageStep,
    { ...(version === undefined ? {} : { version }), ...(edits ? { edits } : {}) },
  );
  if (outcome.ok) {
    await show(outcome.intent);
    reply.body = { response_action: 'clear' };
    return reply;
  }
  if (outcome.current && outcome.current.status !== 'pending') await show(outcome.current);
  reply.body = notice('Nothing changed', outcome.refusal);
  return reply;
}

const EDITED_SINCE_SHOWN =
  'Nothing was changed: the request was edited after this message was shown. The new version was sent to you; decide on it.';

/**
 * The edits of an "Edit and approve" modal: each editable value's field, read as the type the
 * value has; a field that is not of it is shown next to that field (`response_action: errors`).
 */
function editsFromModal(
  intent: IntentState,
  values: z.infer<typeof viewSubmissionSchema>['view']['state']['values'],
): { edits: Record<string, unknown> } | { errors: Record<string, string> } {
  const shown = currentPayload(intent);
  const edits: Record<string, unknown> = {};
  const errors: Record<string, string> = {};
  (intent.editable ?? []).forEach((pointer, index) => {
    const field = values[editBlockId(index)]?.[SLACK_EDIT_ACTION];
    if (!field) return;
    const parsed = editFromText(valueAt(shown, pointer), field.value ?? '');
    if ('problem' in parsed) errors[editBlockId(index)] = `This ${parsed.problem}.`;
    else edits[pointer] = parsed.value;
  });
  return Object.keys(errors).length > 0 ? { errors } : { edits };
}

const SLACK_TOO_SLOW =
  'Slack took too long to tell Countersign who you are, so nothing was changed. Please try again.';

type VoteOutcome =
  | { ok: true; intent: IntentView }
  | { ok: false; refusal: string; current: IntentView | null };

/** The API's own exactly-once vote; the contract's refusals become words for the person. */
async function vote(
  deps: SlackInteractionDeps,
  intentId: string,
  email: string,
  outcome: 'approve' | 'reject',
  comment: string | null,
  messageStep: number | null,
  shown: { version?: number; edits?: Record<string, unknown> } = {},
): Promise<VoteOutcome> {
  try {
    const intent = await recordVote(deps, intentId, {
      by: email,
      outcome,
      comment,
      channel: 'slack',
      override: false,
      shownFor: {
        step: messageStep,
        ...(shown.version === undefined ? {} : { version: shown.version }),
      },
      ...(shown.edits ? { edits: shown.edits } : {}),
    });
    return { ok: true, intent };
  } catch (error) {
    if (!(error instanceof DomainError)) throw error;
    const stored = await deps.intents.get(intentId);
    const current = stored ? toView(stored) : null;
    switch (error.code) {
      case 'already_decided':
        return current
          ? {
              ok: false,
              current,
              refusal: ephemeralRefusal({ kind: 'not_pending', intent: current }),
            }
          : { ok: false, current, refusal: ephemeralRefusal({ kind: 'unknown_intent' }) };
      case 'already_voted':
        return { ok: false, current, refusal: ephemeralRefusal({ kind: 'already_voted' }) };
      case 'step_over':
        if (current && shown.version !== undefined && current.payload_version !== shown.version) {
          return { ok: false, current, refusal: EDITED_SINCE_SHOWN };
        }
        return current
          ? { ok: false, current, refusal: stepOverRefusal(current, email, messageStep) }
          : { ok: false, current, refusal: ephemeralRefusal({ kind: 'unknown_intent' }) };
      case 'not_a_reviewer':
      case 'forbidden':
        return { ok: false, current, refusal: ephemeralRefusal({ kind: 'not_a_reviewer', email }) };
      case 'not_found':
        return { ok: false, current, refusal: ephemeralRefusal({ kind: 'unknown_intent' }) };
      default:
        return {
          ok: false,
          current,
          refusal: [
            `Nothing was changed: ${error.message}`,
            ...error.details.map((d) => `${d.field}: ${d.message}.`),
          ].join(' '),
        };
    }
  }
}

function stepOverRefusal(intent: IntentView, email: string, shownFor: number | null): string {
  return ephemeralRefusal({
    kind: 'step_over',
    intent,
    shownFor,
    approvedIt: intent.approvals.some((a) => a.by === email && a.step === shownFor),
  });
}

type Clicker = { kind: 'known'; email: string | null } | { kind: 'late'; problem: string };

/**
 * The email Slack holds for the clicking user, as reviewers are stored (lower case). Asked with
 * the time the decision can spare: when Slack cannot say in time who clicked, nothing is
 * decided, and the clicker is told so rather than shown Slack's own timeout error.
 */
async function whoClicked(
  slack: SlackGateway,
  userId: string,
  deadline: Deadline,
): Promise<Clicker> {
  const time = deadline.remaining(DECISION_RESERVE_MS);
  if (time < MIN_CALL_MS) return { kind: 'late', problem: 'no time left to ask' };
  try {
    const email = await slack.emailOfUser(userId, { signal: AbortSignal.timeout(time) });
    return { kind: 'known', email: email ? normalizeReviewer(email) : null };
  } catch (error) {
    if (error instanceof SlackUnavailableError) return { kind: 'late', problem: error.message };
    throw error;
  }
}

/**
 * A Slack call after the decision (or instead of one), within the time left before Slack's
 * answer is due: its failure or lateness is reported, and never undoes or hides the decision.
 */
async function followUp(
  reply: SlackReply,
  deadline: Deadline,
  what: string,
  call: (signal: AbortSignal) => Promise<void>,
): Promise<boolean> {
  const time = deadline.remaining();
  if (time < MIN_CALL_MS) {
    reply.problems.push(`${what}: not sent, no time left before Slack's answer is due`);
    return false;
  }
  try {
    await call(AbortSignal.timeout(time));
    return true;
  } catch (error) {
    reply.problems.push(`${what}: ${error instanceof Error ? error.message : String(error)}`);
    return false;
  }
}

function notice(title: string, text: string): Record<string, unknown> {
  return { response_action: 'update', view: renderNoticeModal(title, text) };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
