import { describe, expect, it } from 'vitest';
import { type IntentState, toView } from '../../lambdas/domain/intent';
import {
  audienceFromBlockId,
  decisionButtonValue,
  ephemeralRefusal,
  escapeMrkdwn,
  parseDecisionButtonValue,
  renderEditModal,
  renderRejectModal,
  renderSlackNotification,
  renderSlackOutcome,
  SLACK_ACTIONS,
  SLACK_LIMITS,
  type SlackBlock,
} from '../../lambdas/domain/slack-blocks';
import { pendingIntent, T0 } from './fixtures';

const REVIEW_URL = 'https://approvals.example.com/review/abc.def';

/** Every string a reader of the message would see (or Slack would parse), in order. */
function texts(blocks: SlackBlock[]): string[] {
  return JSON.stringify(blocks)
    .match(/"text":"(?:[^"\\]|\\.)*"/g)
    ?.map((match) => JSON.parse(match.slice(7)) as string) as string[];
}

function buttons(blocks: SlackBlock[]) {
  return blocks.flatMap((block) => (block.type === 'actions' ? block.elements : []));
}

function hostile(): IntentState {
  return pendingIntent({
    summary: 'Pay <!channel> now <https://evil.example|the invoice>',
    payload: {
      vendor: '<@U0ADMIN> & <!here>',
      amount: 1200,
      reviewer: 'cfo@company.com',
    },
  });
}

describe('renderSlackNotification', () => {
  it('shows the summary, the payload as labelled fields, and the plan in the reader’s zone', () => {
    const intent = pendingIntent({
      summary: 'Email the Q1 summary to the board',
      reviewers: ['ap@company.com'],
      payload: { report: 'Q1 Financial Summary', reviewer: 'cfo@company.com', page_count: 12 },
      policy: { escalate: [{ after: '2h', to: ['controller@company.com'] }] },
    });
    const { text, blocks } = renderSlackNotification(toView(intent), 'notify', {
      audience: { kind: 'user' },
      reviewUrl: REVIEW_URL,
      now: T0,
    });
    const shown = texts(blocks).join('\n');
    expect(text).toBe('Approval needed: Email the Q1 summary to the board');
    expect(shown).toContain('*Email the Q1 summary to the board*');
    expect(shown).toContain('*Report*\nQ1 Financial Summary');
    expect(shown).toContain('*Reviewer*\ncfo@company.com');
    // The raw key in a code span, where its underscore shows as typed.
    expect(shown).toContain('*Page count* `page_count`\n12');
    // Each moment in the reader's own time zone, with the UTC time (said so) as the fallback.
    const escalation = Math.floor(T0.getTime() / 1000) + 7200;
    const deadline = Math.floor(Date.parse(intent.deadline_at) / 1000);
    expect(shown).toContain(
      `If nobody decides by <!date^${escalation}^{date_short_pretty} at {time}|24 Nov 2026, 11:00 UTC> (in 2 h), controller@company.com is asked too.\nAt <!date^${deadline}^{date_short_pretty} at {time}|24 Nov 2026, 17:00 UTC> (in 8 h) this request times out and is rejected.`,
    );
  });

  it('escapes agent-controlled text, so a payload cannot ping the channel or disguise a link', () => {
    const { text, blocks } = renderSlackNotification(toView(hostile()), 'notify', {
      audience: { kind: 'user' },
      reviewUrl: REVIEW_URL,
      now: T0,
    });
    const all = [text, ...texts(blocks)].join('\n');
    expect(all).not.toMatch(/<!channel>|<!here>|<@U0ADMIN>|<https:\/\/evil/);
    expect(all).toContain('Pay &lt;!channel&gt; now &lt;https://evil.example|the invoice&gt;');
    expect(all).toContain('&lt;@U0ADMIN&gt; &amp; &lt;!here&gt;');
    // mrkdwn is verbatim: Slack does not auto-link or auto-mention inside it.
    for (const block of blocks) {
      if (block.type === 'section' && block.text?.type === 'mrkdwn') {
        expect(block.text.verbatim).toBe(true);
      }
    }
  });

  it('offers Approve and Reject carrying only the intent id and its step, and a link to the review page', () => {
    const intent = pendingIntent();
    const { blocks } = renderSlackNotification(
      toView({ ...intent, step: 1, task_token: 'SECRET-TASK-TOKEN' }),
      'remind',
      { audience: { kind: 'user' }, reviewUrl: REVIEW_URL, now: T0 },
    );
    expect(buttons(blocks).map((b) => [b.action_id, b.value, b.url, b.style])).toEqual([
      [SLACK_ACTIONS.approve, 'int_TEST:1', undefined, 'primary'],
      [SLACK_ACTIONS.reject, 'int_TEST:1', undefined, 'danger'],
      [SLACK_ACTIONS.openReview, undefined, REVIEW_URL, undefined],
    ]);
    expect(JSON.stringify(blocks)).not.toContain('SECRET-TASK-TOKEN');
    expect(blocks[0]).toMatchObject({
      type: 'header',
      text: { text: 'Reminder: approval needed' },
    });
  });

  it("addresses a team's channel: any member may decide, and no personal review link", () => {
    const { blocks } = renderSlackNotification(toView(pendingIntent()), 'escalate', {
      audience: { kind: 'team', team: 'finance' },
      reviewUrl: null,
      now: T0,
    });
    expect(texts(blocks)).toContain('Any member of team:finance may decide.');
    expect(blocks[0]).toMatchObject({ text: { text: 'Escalated to team:finance' } });
    expect(buttons(blocks).map((b) => b.action_id)).toEqual([
      SLACK_ACTIONS.approve,
      SLACK_ACTIONS.reject,
    ]);
    const actions = blocks.find((block) => block.type === 'actions');
    expect(audienceFromBlockId(actions?.block_id)).toEqual({ kind: 'team', team: 'finance' });
  });
});

describe('renderSlackOutcome', () => {
  it('replaces the buttons with the outcome, who decided, on which channel, and why', () => {
    const intent: IntentState = {
      ...hostile(),
      status: 'rejected',
      decision: {
        outcome: 'rejected',
        by: 'cfo@company.com',
        at: '2026-11-24T10:00:00.000Z',
        comment: 'Wrong <!channel> vendor',
        channel: 'slack',
      },
    };
    const { text, blocks } = renderSlackOutcome(toView(intent), {
      audience: { kind: 'user' },
      messageStep: 0,
      now: T0,
    });
    expect(buttons(blocks)).toEqual([]);
    expect(text).toMatch(/^Rejected: /);
    const shown = texts(blocks).join('\n');
    expect(shown).toContain(':no_entry: *Rejected* by cfo@company.com via slack');
    expect(shown).toContain('>Wrong &lt;!channel&gt; vendor');
  });

  it('says a timeout decided, with the fallback outcome', () => {
    const intent: IntentState = {
      ...pendingIntent(),
      status: 'timed_out',
      decision: {
        outcome: 'approved',
        by: 'timeout',
        at: '2026-11-24T17:00:00.000Z',
        comment: null,
        channel: 'timeout',
      },
    };
    const shown = texts(
      renderSlackOutcome(toView(intent), { audience: { kind: 'user' }, messageStep: 0, now: T0 })
        .blocks,
    );
    expect(shown.join('\n')).toContain('so it was approved automatically');
  });

  it('while a quorum still waits, a team channel keeps its buttons and a reviewer sees the count', () => {
    const base = pendingIntent({
      reviewers: ['a@x.com', 'b@x.com', 'c@x.com'],
      policy: { required_approvals: 2 },
    });
    const intent: IntentState = {
      ...base,
      approvals: [
        { by: 'a@x.com', at: T0.toISOString(), comment: null, channel: 'slack', step: 0 },
      ],
    };
    const team = renderSlackOutcome(toView(intent), {
      audience: { kind: 'team', team: 'finance' },
      messageStep: 0,
      now: T0,
    });
    const own = renderSlackOutcome(toView(intent), {
      audience: { kind: 'user' },
      messageStep: 0,
      now: T0,
    });
    expect(buttons(team.blocks).map((b) => b.action_id)).toEqual([
      SLACK_ACTIONS.approve,
      SLACK_ACTIONS.reject,
    ]);
    expect(buttons(own.blocks)).toEqual([]);
    expect(texts(own.blocks).join('\n')).toContain(
      'Approved so far by a@x.com (1 of 2). Waiting for 1 more approval.',
    );
  });

  it("a team's message whose step is over loses its buttons: they would vote in the next step", () => {
    const base = pendingIntent({
      policy: {
        steps: [{ reviewers: ['team:finance'] }, { reviewers: ['team:finance', 'cfo@x.com'] }],
      },
    });
    const intent: IntentState = {
      ...base,
      step: 1,
      approvals: [
        { by: 'a@x.com', at: T0.toISOString(), comment: null, channel: 'slack', step: 0 },
      ],
    };
    const team = { kind: 'team', team: 'finance' } as const;
    const stepOne = renderSlackOutcome(toView(intent), { audience: team, messageStep: 0, now: T0 });
    expect(buttons(stepOne.blocks)).toEqual([]);
    expect(texts(stepOne.blocks).join('\n')).toContain(
      'Step 1 approved by a@x.com. Step 2 of 2 now waits for its reviewers.',
    );
    // Unknown step (a message posted before buttons carried it): no buttons either.
    const unknown = renderSlackOutcome(toView(intent), {
      audience: team,
      messageStep: null,
      now: T0,
    });
    expect(buttons(unknown.blocks)).toEqual([]);
  });
});

describe('decision button values', () => {
  it('carry the intent, the step and an edited version, and old values (the id alone) still parse', () => {
    expect(decisionButtonValue({ id: 'int_01ABC', step: 2 })).toBe('int_01ABC:2');
    expect(decisionButtonValue({ id: 'int_01ABC', step: 2, payload_version: 3 })).toBe(
      'int_01ABC:2:v3',
    );
    expect(parseDecisionButtonValue('int_01ABC:2')).toEqual({
      intentId: 'int_01ABC',
      step: 2,
      version: 0,
    });
    expect(parseDecisionButtonValue('int_01ABC:2:v3')).toEqual({
      intentId: 'int_01ABC',
      step: 2,
      version: 3,
    });
    expect(parseDecisionButtonValue('int_01ABC')).toEqual({
      intentId: 'int_01ABC',
      step: null,
      version: 0,
    });
    for (const foreign of [
      undefined,
      '',
      'int_',
      'int_01ABC:',
      'int_01ABC:01',
      'int_01ABC:1:v0',
      'int_01ABC:1:3',
      'x:1',
      'int_a:-1',
    ]) {
      expect(parseDecisionButtonValue(foreign)).toBeNull();
    }
  });

  it('tell a reviewer whose click comes after its step what happened', () => {
    const intent = toView({
      ...pendingIntent({
        policy: { steps: [{ reviewers: ['cfo@x.com'] }, { reviewers: ['cfo@x.com'] }] },
      }),
      step: 1,
    });
    expect(ephemeralRefusal({ kind: 'step_over', intent, shownFor: 0, approvedIt: true })).toBe(
      'Your approval of step 1 of 2 is already recorded; nothing was changed. Step 2 of 2 now waits for its reviewers; it has its own message.',
    );
    expect(ephemeralRefusal({ kind: 'step_over', intent, shownFor: 0, approvedIt: false })).toBe(
      'Nothing was changed: this message was for step 1 of 2, which is over. Step 2 of 2 now waits for its reviewers; it has its own message.',
    );
  });
});

describe('renderRejectModal', () => {
  it('asks for a required reason and keeps the context it is given', () => {
    const view = renderRejectModal(toView(hostile()), '{"intent_id":"int_TEST"}');
    expect(view.private_metadata).toBe('{"intent_id":"int_TEST"}');
    const input = view.blocks.find((block) => block.type === 'input');
    expect(input).toMatchObject({
      block_id: 'reason',
      element: { type: 'plain_text_input', action_id: 'reason', min_length: 1, max_length: 2000 },
    });
    expect(JSON.stringify(view)).not.toContain('<!channel>');
    expect(view.title.text.length).toBeLessThanOrEqual(24);
  });
});

describe('escapeMrkdwn', () => {
  it('escapes what Slack parses, and shows formatting marks as look-alikes it does not format', () => {
    expect(escapeMrkdwn('a & b < c > d *e* _f_ ~g~ `h`')).toBe(
      'a &amp; b &lt; c &gt; d \u2217e\u2217 \u02CDf\u02CD \u223Cg\u223C \u02CBh\u02CB',
    );
  });

  it('neutralises bidi embedding, override and isolate controls', () => {
    const reversed = 'IBAN \u202EDE89 3704\u202C and \u2066x\u2069';
    expect(escapeMrkdwn(reversed)).toBe('IBAN \uFFFDDE89 3704\uFFFD and \uFFFDx\uFFFD');
  });
});

describe('fields a message does not show', () => {
  const notice = (intent: IntentState) =>
    renderSlackNotification(toView(intent), 'notify', {
      audience: { kind: 'user' },
      reviewUrl: REVIEW_URL,
      now: T0,
    });
  const manyFields = () =>
    pendingIntent({
      reviewers: ['cfo@company.com'],
      summary: 'Wire *all* funds',
      payload: {
        ...Object.fromEntries(Array.from({ length: 19 }, (_, i) => [`f${i}`, `v${i}`])),
        note: '~amount 100~ *amount 1,000,000*',
        destination_account: 'attacker IBAN',
        bic: 'ATTACKER',
      },
    });

  it('says before the buttons how many values the message leaves out, and in the Approve confirmation', () => {
    const { blocks } = notice(manyFields());
    const shown = texts(blocks).join('\n');
    expect(shown).toContain('*F18*');
    expect(shown).toContain('*Note*');
    expect(shown).not.toContain('attacker IBAN');
    const warning = blocks.findIndex((block) =>
      JSON.stringify(block).includes('2 more values not shown'),
    );
    expect(warning).toBeGreaterThan(-1);
    expect(warning).toBeLessThan(blocks.findIndex((block) => block.type === 'actions'));
    const approve = buttons(blocks).find((button) => button.action_id === SLACK_ACTIONS.approve);
    expect(approve?.confirm?.text.text).toContain('2 more values not shown');
  });

  it('says a value was shortened, and says nothing when all is shown', () => {
    const long = pendingIntent({
      reviewers: ['cfo@company.com'],
      payload: { terms: 'x'.repeat(500) },
    });
    const { blocks } = notice(long);
    expect(texts(blocks).join('\n')).toContain('1 value shortened');
    const short = notice(pendingIntent());
    expect(texts(short.blocks).join('\n')).not.toContain('not shown');
  });

  it('formats nothing an agent wrote: no bold, italics, strike or code from the payload', () => {
    const { blocks } = notice(manyFields());
    const shown = texts(blocks).join('\n');
    expect(shown).toContain('Wire \u2217all\u2217 funds');
    expect(shown).not.toContain('*all*');
  });
});

/** What in a message Slack would refuse (`invalid_blocks`): the limits agent text could reach. */
function limitViolations(blocks: SlackBlock[]): string[] {
  const found: string[] = [];
  if (blocks.length > SLACK_LIMITS.blocks) found.push(`${blocks.length} blocks`);
  blocks.forEach((block, index) => {
    const over = (what: string, text: string, max: number) => {
      if (text.length > max) found.push(`block ${index} ${what}: ${text.length} > ${max}`);
    };
    if (block.type === 'header') over('header', block.text.text, SLACK_LIMITS.headerChars);
    if (block.type === 'section') {
      if (block.text) over('text', block.text.text, SLACK_LIMITS.textChars);
      if ((block.fields?.length ?? 0) > SLACK_LIMITS.fieldsPerSection)
        found.push(`block ${index} fields`);
      for (const field of block.fields ?? []) over('field', field.text, SLACK_LIMITS.fieldChars);
    }
    if (block.type === 'context') {
      if (block.elements.length > SLACK_LIMITS.contextElements)
        found.push(`block ${index} elements`);
      for (const element of block.elements) over('context', element.text, SLACK_LIMITS.textChars);
    }
    if (block.type === 'actions') {
      for (const button of block.elements) {
        if (button.confirm)
          over('confirm', button.confirm.text.text, SLACK_LIMITS.confirmTextChars);
      }
    }
  });
  return found;
}

describe("Slack's block limits, whatever the agent sends", () => {
  function hostileAtTheLimits(): IntentState {
    const address = (i: number) => `${'a'.repeat(60)}${i}@${'b'.repeat(60)}.${'c'.repeat(60)}.com`;
    const base = pendingIntent({
      summary: '&'.repeat(500),
      to_agent: '<&'.repeat(250),
      reviewers: [address(0)],
      policy: {
        required_approvals: 1,
        escalate: Array.from({ length: 10 }, (_, e) => ({
          after: `${e + 1}m`,
          to: Array.from({ length: 50 }, (_, i) => address(1 + e * 50 + i)),
        })),
      },
    });
    let deep: unknown = `${'&'.repeat(5000)}<!channel>`;
    for (let i = 0; i < 60; i += 1) deep = [deep];
    return {
      ...base,
      // Past create's limits on purpose: the renderer must hold on its own.
      payload: {
        deep,
        ...Object.fromEntries(
          Array.from({ length: 1000 }, (_, i) => [`${'&_*'.repeat(100)}${i}`, '&'.repeat(10_000)]),
        ),
      },
      added_by_request: Array.from({ length: 500 }, (_, i) => address(i)),
    };
  }

  it('stays within 50 blocks and every text limit, and says what it left out', () => {
    const intent = hostileAtTheLimits();
    for (const { blocks } of [
      renderSlackNotification(toView(intent), 'escalate', {
        audience: { kind: 'team', team: 'finance' },
        reviewUrl: REVIEW_URL,
        now: T0,
      }),
      renderSlackNotification(toView(intent), 'notify', {
        audience: { kind: 'user' },
        reviewUrl: REVIEW_URL,
        now: T0,
      }),
      renderSlackOutcome(toView(intent), {
        audience: { kind: 'team', team: 'finance' },
        messageStep: 0,
        now: T0,
      }),
    ]) {
      expect(limitViolations(blocks)).toEqual([]);
      const shown = texts(blocks).join('\n');
      expect(shown).toContain('981 more values not shown, 20 values shortened');
      expect(shown).toContain('and 40 more');
      expect(shown).not.toMatch(/<!channel>/);
      expect(buttons(blocks).length).toBeGreaterThan(0);
    }
    const approve = buttons(
      renderSlackNotification(toView(intent), 'notify', {
        audience: { kind: 'user' },
        reviewUrl: REVIEW_URL,
        now: T0,
      }).blocks,
    ).find((button) => button.action_id === SLACK_ACTIONS.approve);
    expect(approve?.confirm?.text.text).toMatch(/^\*(&amp;)+…\*\n981 more values not shown/);
  });
});

describe('Edit and approve in Slack', () => {
  const payment = { amount: 1200, memo: 'March', reviewer: 'cfo@company.com' };

  it('offers "Edit and approve" only where the request made values editable', () => {
    const plain = renderSlackNotification(toView(pendingIntent()), 'notify', {
      audience: { kind: 'user' },
      reviewUrl: null,
      now: T0,
    });
    expect(buttons(plain.blocks).map((b) => b.action_id)).not.toContain(SLACK_ACTIONS.edit);
    const editable = pendingIntent({ payload: payment, editable: ['/amount', '/memo'] });
    const { blocks } = renderSlackNotification(toView(editable), 'notify', {
      audience: { kind: 'user' },
      reviewUrl: null,
      now: T0,
    });
    const edit = buttons(blocks).find((b) => b.action_id === SLACK_ACTIONS.edit);
    expect(edit?.text.text).toBe('Edit and approve…');
    expect(edit?.value).toBe('int_TEST:0');
  });

  it('a message after an edit says what changed, and its buttons carry the version', () => {
    const edited = {
      ...pendingIntent({ payload: payment, editable: ['/amount', '/memo'] }),
      edits: { '/amount': 1000 },
      payload_version: 1,
    };
    const { blocks } = renderSlackNotification(toView(edited), 'notify', {
      audience: { kind: 'user' },
      reviewUrl: null,
      now: T0,
    });
    expect(texts(blocks).join('\n')).toContain(
      '*Edited by reviewers (the payload below is as asked): /amount: 1200 → 1000*',
    );
    expect(buttons(blocks).every((b) => b.url || b.value === 'int_TEST:0:v1')).toBe(true);
  });

  it('the modal has one field per editable value, filled with the current version', () => {
    const edited = {
      ...pendingIntent({ payload: payment, editable: ['/amount', '/memo'] }),
      edits: { '/amount': 1000 },
      payload_version: 1,
    };
    const modal = renderEditModal(toView(edited), '{}');
    const inputs = modal.blocks.flatMap((block) => (block.type === 'input' ? [block] : []));
    expect(inputs.map((b) => [b.block_id, b.label.text, b.element.initial_value])).toEqual([
      ['edit.0', '/amount', '1000'],
      ['edit.1', '/memo', 'March'],
      ['comment', 'Comment', undefined],
    ]);
  });
});
