import { valueAt } from './edits';
import { currentPayload, type IntentState, type IntentView, type RequestKind } from './intent';
import {
  addedByRequestLine,
  editedLine,
  rawNameOf,
  singleLine,
  withoutBidiControls,
} from './messages';
import { requiredApprovalsFor } from './policy';
import {
  cut,
  describePlan,
  type FittedPayload,
  fitPayload,
  formatFullTime,
  formatRelative,
  type PayloadBudget,
  type PlanEntry,
} from './readable';

/**
 * Slack Block Kit for reviewers: the notification with Approve / Reject buttons, the message that
 * replaces it once someone decided, and the modal that asks why on Reject. Pure: the Slack Web
 * API lives behind `SlackGateway` (core/ports.ts).
 *
 * Everything that comes from an agent (summary, payload, names) is escaped for mrkdwn and
 * shown `verbatim`, so a payload cannot ping `<!channel>`, mention people or disguise a link.
 * Buttons carry the intent id and the chain step they were shown for (`<id>:<step>`), never a
 * task token or a review link's secret.
 *
 * Messages stay within Slack's limits (`SLACK_LIMITS`) whatever the agent sent: the payload
 * shows its first values within `SLACK_PAYLOAD` (escaping can make a character five), agent
 * text that could outgrow a block gets a block of its own, and a message that leaves anything
 * out says so before the buttons and in the Approve confirmation. Times are `<!date^…>`, which
 * Slack shows in each reader's own time zone, with a UTC fallback that says UTC.
 */
interface PlainText {
  type: 'plain_text';
  text: string;
  emoji?: boolean;
}

interface Mrkdwn {
  type: 'mrkdwn';
  text: string;
  verbatim?: boolean;
}

type TextObject = PlainText | Mrkdwn;

interface ButtonElement {
  type: 'button';
  action_id: string;
  text: PlainText;
  value?: string;
  url?: string;
  style?: 'primary' | 'danger';
  confirm?: {
    title: PlainText;
    text: TextObject;
    confirm: PlainText;
    deny: PlainText;
  };
}

export type SlackBlock =
  | { type: 'header'; block_id?: string; text: PlainText }
  | { type: 'section'; block_id?: string; text?: TextObject; fields?: TextObject[] }
  | { type: 'context'; block_id?: string; elements: TextObject[] }
  | { type: 'actions'; block_id: string; elements: ButtonElement[] }
  | { type: 'divider'; block_id?: string }
  | {
      type: 'input';
      block_id: string;
      label: PlainText;
      hint?: PlainText;
      element: {
        type: 'plain_text_input';
        action_id: string;
        multiline: boolean;
        min_length?: number;
        max_length: number;
        placeholder?: PlainText;
        initial_value?: string;
      };
      optional?: boolean;
    };

export interface SlackModalView {
  type: 'modal';
  callback_id: string;
  title: PlainText;
  submit: PlainText;
  close: PlainText;
  private_metadata: string;
  blocks: SlackBlock[];
}

export interface SlackMessageContent {
  /** The notification and fallback text; escaped like the blocks. */
  text: string;
  blocks: SlackBlock[];
}

/** Who a message was posted to: one reviewer (a DM), or a team's channel (any member may decide). */
export type SlackAudience = { kind: 'user' } | { kind: 'team'; team: string };

export const SLACK_ACTIONS = {
  approve: 'countersign.approve',
  reject: 'countersign.reject',
  edit: 'countersign.edit',
  openReview: 'countersign.open_review',
} as const;

export const SLACK_EDIT_CALLBACK_ID = 'countersign.edit_approve';
/** The input block of the editable value at this index of `editable` (pointers may be long). */
export const editBlockId = (index: number) => `edit.${index}`;
export const SLACK_EDIT_ACTION = 'value';
export const SLACK_COMMENT_BLOCK = 'comment';
/** Slack's limit for a plain text input. */
const SLACK_INPUT_MAX = 3000;

export const SLACK_REJECT_CALLBACK_ID = 'countersign.reject_reason';
export const SLACK_REASON_BLOCK = 'reason';
export const SLACK_REASON_ACTION = 'reason';
export const SLACK_REASON_MAX = 2000;

/** The actions block id names the audience, so that a click tells whom the message was for. */
const ACTIONS_BLOCK_PREFIX = 'countersign.decide';

function actionsBlockId(audience: SlackAudience): string {
  return audience.kind === 'team'
    ? `${ACTIONS_BLOCK_PREFIX}:team:${audience.team}`
    : `${ACTIONS_BLOCK_PREFIX}:user`;
}

export function audienceFromBlockId(blockId: string | undefined): SlackAudience {
  const team = blockId?.startsWith(`${ACTIONS_BLOCK_PREFIX}:team:`)
    ? blockId.slice(`${ACTIONS_BLOCK_PREFIX}:team:`.length)
    : '';
  return team ? { kind: 'team', team } : { kind: 'user' };
}

/**
 * What Approve, Reject and Edit carry: the intent, the step the message asks about, so that a
 * click counts in that step only (`isStepOver` in decisions.ts), and, once reviewers edited it,
 * the version of the payload the message showed (`:v<n>`), so that a message shown before an
 * edit cannot approve the edited version.
 */
export function decisionButtonValue(
  intent: Pick<IntentView, 'id' | 'step' | 'payload_version'>,
): string {
  const version = intent.payload_version ?? 0;
  return `${intent.id}:${intent.step}${version > 0 ? `:v${version}` : ''}`;
}

/**
 * The intent, step and payload version of a decision button; `step` is null on buttons posted
 * before they carried it (the value was the intent id alone), and a button without a version
 * was shown for the payload as asked (0). Null for anything Countersign did not post.
 */
export function parseDecisionButtonValue(
  value: string | undefined,
): { intentId: string; step: number | null; version: number } | null {
  const match = /^(int_[0-9A-Za-z]{1,64})(?::(0|[1-9][0-9]{0,2})(?::v([1-9][0-9]{0,5}))?)?$/.exec(
    value ?? '',
  );
  if (!match?.[1]) return null;
  return {
    intentId: match[1],
    step: match[2] === undefined ? null : Number(match[2]),
    version: match[3] === undefined ? 0 : Number(match[3]),
  };
}

/**
 * Escapes text for mrkdwn: `&`, `<` and `>` are the control characters Slack parses for
 * mentions (`<!channel>`, `<@U123>`) and links (`<https://x|label>`); escaped, they show as
 * typed. Slack has no escape for its formatting marks (`*bold*`, `_italic_`, `~strike~`,
 * `` `code` ``), with which an agent could bold a false line or strike the true amount: each is
 * shown as a look-alike that Slack does not format (∗ ˍ ∼ ˋ). Bidi controls are neutralised as
 * in email (`withoutBidiControls`).
 */
export function escapeMrkdwn(value: string): string {
  return withoutBidiControls(value)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/[*_~`]/g, (mark) => MRKDWN_LOOKALIKES[mark] ?? mark);
}

/**
 * Text in a code span, where Slack formats nothing: `*`, `_` and `~` show as typed (a raw key
 * such as `amount_cents` reads as it is), `&`, `<` and `>` are escaped as everywhere, and a
 * backtick, which would end the span, shows as its look-alike.
 */
export function codeSpan(value: string): string {
  const inner = withoutBidiControls(singleLine(value))
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/`/g, '\u02CB');
  return `\`${inner}\``;
}

const MRKDWN_LOOKALIKES: Record<string, string> = {
  '*': '\u2217',
  _: '\u02CD',
  '~': '\u223C',
  '`': '\u02CB',
};

const HEADLINE: Record<RequestKind, string> = {
  notify: 'Approval needed',
  remind: 'Reminder: approval needed',
  escalate: 'Escalated: approval needed',
};

/** The notification: what is asked, the key payload fields, the deadline, and the buttons. */
export function renderSlackNotification(
  intent: IntentView,
  kind: RequestKind,
  options: {
    audience: SlackAudience;
    reviewUrl: string | null;
    now: Date;
    /** When the current step's clock started, from the stored intent (`describePlan`). */
    stepClock?: Pick<IntentState, 'step_started_at' | 'stage_index'>;
  },
): SlackMessageContent {
  const headline =
    options.audience.kind === 'team' && kind === 'escalate'
      ? `Escalated to team:${options.audience.team}`
      : HEADLINE[kind];
  const blocks: SlackBlock[] = [
    header(headline),
    ...describeIntent(intent),
    ...planBlocks(intent, options.now, options.stepClock),
  ];
  if (options.audience.kind === 'team') {
    blocks.push({
      type: 'context',
      elements: [
        mrkdwn(`Any member of ${escapeMrkdwn(`team:${options.audience.team}`)} may decide.`),
      ],
    });
  }
  const addedLine = addedByRequestLine(intent, SLACK_NAMES);
  if (addedLine) {
    blocks.push({ type: 'context', elements: [mrkdwn(`:warning: ${escapeMrkdwn(addedLine)}`)] });
  }
  blocks.push(...editedBlock(intent));
  blocks.push({
    type: 'actions',
    block_id: actionsBlockId(options.audience),
    elements: decisionButtons(intent, options.reviewUrl),
  });
  return { text: escapeMrkdwn(`${headline}: ${plainSummary(intent)}`), blocks };
}

/**
 * The message after a vote (or a click on a request already decided): the same description, the
 * outcome and who decided instead of the buttons. A team's message keeps its buttons while the
 * step it was posted for (`messageStep`; null when unknown) still waits for other members'
 * approvals; a reviewer's own message does not, nor one whose step is over: its buttons would
 * otherwise vote in a step the message never asked about.
 */
export function renderSlackOutcome(
  intent: IntentView,
  options: { audience: SlackAudience; messageStep: number | null; now: Date },
): SlackMessageContent {
  const line = outcomeLine(intent);
  const blocks: SlackBlock[] = [
    header(intent.status === 'pending' ? 'Approval in progress' : titleFor(intent)),
    ...describeIntent(intent),
    { type: 'section', text: mrkdwn(line.mrkdwn) },
  ];
  if (intent.status === 'pending') {
    blocks.push(...planBlocks(intent, options.now));
    if (options.audience.kind === 'team' && options.messageStep === intent.step) {
      blocks.push({
        type: 'actions',
        block_id: actionsBlockId(options.audience),
        elements: decisionButtons(intent, null),
      });
    }
  }
  return { text: escapeMrkdwn(`${line.plain}: ${plainSummary(intent)}`), blocks };
}

/** The modal Reject opens: the request in one line and a required reason. */
export function renderRejectModal(intent: IntentView, privateMetadata: string): SlackModalView {
  return {
    type: 'modal',
    callback_id: SLACK_REJECT_CALLBACK_ID,
    title: plain('Reject request'),
    submit: plain('Reject'),
    close: plain('Cancel'),
    private_metadata: privateMetadata,
    blocks: [
      {
        type: 'section',
        text: mrkdwn(`*${escapeMrkdwn(plainSummary(intent))}*`),
      },
      {
        type: 'input',
        block_id: SLACK_REASON_BLOCK,
        label: plain('Why do you reject it?'),
        hint: plain('The agent and the audit trail will show this reason.'),
        element: {
          type: 'plain_text_input',
          action_id: SLACK_REASON_ACTION,
          multiline: true,
          min_length: 1,
          max_length: SLACK_REASON_MAX,
        },
      },
    ],
  };
}

/**
 * The modal "Edit and approve" opens: the request in one line, one field per editable value
 * filled with the version the message showed (read back as the value's type), and a comment.
 */
export function renderEditModal(intent: IntentView, privateMetadata: string): SlackModalView {
  const shown = currentPayload(intent);
  const fields: SlackBlock[] = (intent.editable ?? []).map((pointer, index) => {
    const value = valueAt(shown, pointer);
    const text = String(value);
    return {
      type: 'input',
      block_id: editBlockId(index),
      label: plain(pointer.slice(0, 2000)),
      hint: plain(
        typeof value === 'number'
          ? 'A number.'
          : typeof value === 'boolean'
            ? 'true or false.'
            : 'Text.',
      ),
      element: {
        type: 'plain_text_input',
        action_id: SLACK_EDIT_ACTION,
        multiline: typeof value === 'string' && text.length > 80,
        max_length: SLACK_INPUT_MAX,
        initial_value: text.slice(0, SLACK_INPUT_MAX),
      },
      ...(typeof value === 'string' ? { optional: true } : {}),
    };
  });
  return {
    type: 'modal',
    callback_id: SLACK_EDIT_CALLBACK_ID,
    title: plain('Edit and approve'),
    submit: plain('Approve'),
    close: plain('Cancel'),
    private_metadata: privateMetadata,
    blocks: [
      { type: 'section', text: mrkdwn(`*${escapeMrkdwn(plainSummary(intent))}*`) },
      ...fields,
      {
        type: 'input',
        block_id: SLACK_COMMENT_BLOCK,
        label: plain('Comment'),
        element: {
          type: 'plain_text_input',
          action_id: SLACK_REASON_ACTION,
          multiline: true,
          max_length: SLACK_REASON_MAX,
        },
        optional: true,
      },
    ],
  };
}

/** What reviewers changed so far, said above the buttons: later approvers approve the edit. */
function editedBlock(intent: IntentView): SlackBlock[] {
  const line = editedLine(intent);
  return line ? [{ type: 'context', elements: [mrkdwn(`:pencil2: *${escapeMrkdwn(line)}*`)] }] : [];
}

/** A modal that only says something (after a submission that changed nothing). */
export interface SlackNoticeView {
  type: 'modal';
  title: PlainText;
  close: PlainText;
  blocks: SlackBlock[];
}

export function renderNoticeModal(title: string, text: string): SlackNoticeView {
  return {
    type: 'modal',
    title: plain(title.slice(0, 24)),
    close: plain('Close'),
    blocks: [{ type: 'section', text: mrkdwn(text) }],
  };
}

/** What a reviewer is told, only to them, when a click changes nothing. */
export function ephemeralRefusal(
  reason:
    | { kind: 'not_a_reviewer'; email: string | null }
    | { kind: 'already_voted' }
    | { kind: 'not_pending'; intent: IntentView }
    | {
        kind: 'step_over';
        intent: IntentView;
        /** The step the message was for; null when the message does not say. */
        shownFor: number | null;
        /** Whether the clicker approved that step (a double click, a replay). */
        approvedIt: boolean;
      }
    | { kind: 'unknown_intent' },
): string {
  switch (reason.kind) {
    case 'not_a_reviewer':
      return reason.email
        ? `You (${escapeMrkdwn(reason.email)}) are not asked to decide this request, so nothing was changed.`
        : 'Your Slack account has no email address Countersign can match to a reviewer, so nothing was changed.';
    case 'already_voted':
      return 'You have already approved this request; it waits for other approvals. Nothing was changed.';
    case 'not_pending':
      return `Nothing was changed: ${outcomeLine(reason.intent).mrkdwn}`;
    case 'step_over': {
      const steps = reason.intent.policy.steps?.length ?? 1;
      const now = `Step ${reason.intent.step + 1} of ${steps} now waits for its reviewers; it has its own message.`;
      if (reason.shownFor === null) {
        return `Nothing was changed: this message does not say which step it was for, and you already approved an earlier step, so this click could repeat that approval. ${now}`;
      }
      const was = `step ${reason.shownFor + 1} of ${steps}`;
      return reason.approvedIt
        ? `Your approval of ${was} is already recorded; nothing was changed. ${now}`
        : `Nothing was changed: this message was for ${was}, which is over. ${now}`;
    }
    case 'unknown_intent':
      return 'This request no longer exists. Nothing was changed.';
  }
}

/**
 * How much of the payload a Slack message shows: two sections of ten fields (Slack's most), and
 * per field a label, a raw name and a value that stay under Slack's 2,000 characters even when
 * escaping makes each character five (`&` is `&amp;`).
 */
export const SLACK_PAYLOAD: PayloadBudget = { rows: 20, labelChars: 80, valueChars: 200 };
const SLACK_RAW_NAME_CHARS = 80;
/** Addresses named per sentence: ten of 254 characters stay within one text's 3,000. */
const SLACK_NAMES = 10;

/** Slack's Block Kit limits that agent text could reach. */
export const SLACK_LIMITS = {
  blocks: 50,
  textChars: 3000,
  fieldChars: 2000,
  fieldsPerSection: 10,
  contextElements: 10,
  headerChars: 150,
  confirmTextChars: 300,
} as const;

function describeIntent(intent: IntentView): SlackBlock[] {
  const fitted = slackPayload(intent);
  const fields = fitted.rows.map((row) => {
    const raw = rawNameOf(row);
    return mrkdwn(
      `*${escapeMrkdwn(row.label)}*${raw ? ` ${codeSpan(cut(raw, SLACK_RAW_NAME_CHARS))}` : ''}\n${escapeMrkdwn(row.value)}`,
    );
  });
  const sections: SlackBlock[] = [];
  for (let at = 0; at < fields.length; at += SLACK_LIMITS.fieldsPerSection) {
    sections.push({
      type: 'section',
      fields: fields.slice(at, at + SLACK_LIMITS.fieldsPerSection),
    });
  }
  return [
    { type: 'section', text: mrkdwn(`*${escapeMrkdwn(plainSummary(intent))}*`) },
    {
      type: 'context',
      elements: [
        mrkdwn(`Requested by ${escapeMrkdwn(singleLine(intent.from_agent))}`),
        mrkdwn(`for ${escapeMrkdwn(singleLine(intent.to_agent))}`),
      ],
    },
    ...(fitted.rows.length === 0
      ? [{ type: 'context' as const, elements: [mrkdwn('The payload is empty.')] }]
      : sections),
    ...notShownBlock(fitted),
  ];
}

function slackPayload(intent: IntentView): FittedPayload {
  return fitPayload(intent.payload, SLACK_PAYLOAD);
}

/** Said before the buttons: Approve must not approve values the message never showed. */
function notShownBlock(fitted: FittedPayload): SlackBlock[] {
  return fitted.notShown
    ? [{ type: 'context', elements: [mrkdwn(`:warning: *${escapeMrkdwn(fitted.notShown)}*`)] }]
    : [];
}

/**
 * What happens next (`describePlan`), one line each, as few sections as Slack's 3,000
 * characters per text allow: an escalation may name 50 addresses.
 */
function planBlocks(
  intent: IntentView,
  now: Date,
  stepClock?: Pick<IntentState, 'step_started_at' | 'stage_index'>,
): SlackBlock[] {
  const lines = describePlan(
    stepClock
      ? {
          ...intent,
          step_started_at: stepClock.step_started_at,
          stage_index: stepClock.stage_index,
        }
      : intent,
    now,
    { maxNames: SLACK_NAMES },
  ).map((entry) => planLine(entry, now));
  const blocks: SlackBlock[] = [];
  let text = '';
  for (const line of lines) {
    if (text && text.length + 1 + line.length > SLACK_LIMITS.textChars) {
      blocks.push({ type: 'section', text: mrkdwn(text) });
      text = '';
    }
    text = text ? `${text}\n${line}` : line;
  }
  if (text) blocks.push({ type: 'section', text: mrkdwn(text) });
  return blocks;
}

/** A plan sentence in mrkdwn: its moment in the reader's zone, how far, the rest escaped. */
function planLine(entry: PlanEntry, now: Date): string {
  if (entry.at === null) return escapeMrkdwn(entry.before);
  return `${escapeMrkdwn(entry.before)}${slackDate(entry.at)} (${escapeMrkdwn(formatRelative(entry.at, now))})${escapeMrkdwn(entry.after)}`;
}

function decisionButtons(intent: IntentView, reviewUrl: string | null): ButtonElement[] {
  const notShown = slackPayload(intent).notShown;
  const buttons: ButtonElement[] = [
    {
      type: 'button',
      action_id: SLACK_ACTIONS.approve,
      text: plain('Approve'),
      style: 'primary',
      value: decisionButtonValue(intent),
      confirm: {
        title: plain('Approve this request?'),
        text: mrkdwn(approveConfirmation(intent, notShown)),
        confirm: plain('Approve'),
        deny: plain('Cancel'),
      },
    },
    {
      type: 'button',
      action_id: SLACK_ACTIONS.reject,
      text: plain('Reject…'),
      style: 'danger',
      value: decisionButtonValue(intent),
    },
  ];
  if ((intent.editable ?? []).length > 0) {
    buttons.push({
      type: 'button',
      action_id: SLACK_ACTIONS.edit,
      text: plain('Edit and approve…'),
      value: decisionButtonValue(intent),
    });
  }
  if (reviewUrl) {
    buttons.push({
      type: 'button',
      action_id: SLACK_ACTIONS.openReview,
      text: plain('Open review page'),
      url: reviewUrl,
    });
  }
  return buttons;
}

/**
 * The Approve confirmation within Slack's 300 characters: what is left out and what approving
 * does always; the summary as far as it fits, ending with `…` when cut.
 */
function approveConfirmation(intent: IntentView, notShown: string | null): string {
  const rest = `${notShown ? `${escapeMrkdwn(notShown)}\n` : ''}The agent proceeds once approved.`;
  const room = SLACK_LIMITS.confirmTextChars - rest.length - 3;
  const summary = plainSummary(intent);
  let shown = escapeMrkdwn(summary);
  for (let chars = summary.length; shown.length > room && chars > 0; chars -= 1) {
    shown = escapeMrkdwn(cut(summary, chars));
  }
  return `*${shown}*\n${rest}`;
}

function outcomeLine(intent: IntentView): { mrkdwn: string; plain: string } {
  const decision = intent.decision;
  const at = decision ? slackDate(decision.at) : '';
  const comment = decision?.comment ? `\n>${escapeMrkdwn(singleLine(decision.comment))}` : '';
  switch (intent.status) {
    case 'approved':
    case 'rejected': {
      const verb = intent.status === 'approved' ? 'Approved' : 'Rejected';
      const icon = intent.status === 'approved' ? ':white_check_mark:' : ':no_entry:';
      const by = escapeMrkdwn(decision?.by ?? 'someone');
      const via = decision ? ` via ${escapeMrkdwn(decision.channel)}` : '';
      return { mrkdwn: `${icon} *${verb}* by ${by}${via} ${at}${comment}`, plain: verb };
    }
    case 'timed_out': {
      const outcome = decision?.outcome === 'approved' ? 'approved' : 'rejected';
      return {
        mrkdwn: `:hourglass: *Timed out*: nobody decided before the deadline, so it was ${outcome} automatically ${at}`,
        plain: 'Timed out',
      };
    }
    case 'cancelled':
      return {
        mrkdwn: `:heavy_minus_sign: *Cancelled* by ${escapeMrkdwn(decision?.by ?? 'the agent')} ${at}${comment}`,
        plain: 'Cancelled',
      };
    case 'pending': {
      const required = requiredApprovalsFor(intent.policy, intent.step);
      // Only approvals of the current version count (an edit makes a new one).
      const version = intent.payload_version ?? 0;
      const counted = intent.approvals.filter((a) => (a.payload_version ?? 0) === version);
      const current = counted.filter((a) => a.step === intent.step);
      const previous = counted.filter((a) => a.step === intent.step - 1);
      const who = (approvals: typeof current) =>
        approvals.map((a) => escapeMrkdwn(a.by)).join(', ');
      if (current.length > 0) {
        const missing = Math.max(0, required - current.length);
        return {
          mrkdwn: `:white_check_mark: Approved so far by ${who(current)} (${current.length} of ${required}). Waiting for ${missing} more approval${missing === 1 ? '' : 's'}.`,
          plain: 'Approval in progress',
        };
      }
      if (previous.length > 0) {
        return {
          mrkdwn: `:white_check_mark: Step ${intent.step} approved by ${who(previous)}. Step ${intent.step + 1} of ${intent.policy.steps?.length ?? intent.step + 1} now waits for its reviewers.`,
          plain: 'Approval in progress',
        };
      }
      return { mrkdwn: 'Still waiting for a decision.', plain: 'Approval in progress' };
    }
  }
}

function titleFor(intent: IntentView): string {
  switch (intent.status) {
    case 'approved':
      return 'Approved';
    case 'rejected':
      return 'Rejected';
    case 'timed_out':
      return 'Timed out';
    case 'cancelled':
      return 'Cancelled';
    case 'pending':
      return 'Approval in progress';
  }
}

/**
 * Slack shows `<!date^…>` in the reader's own time zone; the fallback, for clients that cannot,
 * is the time in UTC with its date, said so (a message is read on later days too).
 */
function slackDate(iso: string): string {
  const seconds = Math.floor(Date.parse(iso) / 1000);
  if (!Number.isFinite(seconds)) return escapeMrkdwn(iso);
  return `<!date^${seconds}^{date_short_pretty} at {time}|${escapeMrkdwn(formatFullTime(iso))}>`;
}

/** The summary on one line; at most 500 characters (create's limit), so never cut here. */
function plainSummary(intent: IntentView): string {
  return singleLine(intent.summary);
}

function header(text: string): SlackBlock {
  return { type: 'header', text: plain(text.slice(0, 150)) };
}

function plain(text: string): PlainText {
  return { type: 'plain_text', text, emoji: true };
}

/** The budgets above keep texts within Slack's limit; the cut here is a last resort, marked. */
function mrkdwn(text: string): Mrkdwn {
  return { type: 'mrkdwn', text: cut(text, SLACK_LIMITS.textChars), verbatim: true };
}
