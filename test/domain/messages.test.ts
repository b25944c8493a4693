import { describe, expect, it } from 'vitest';
import { type IntentState, toView } from '../../lambdas/domain/intent';
import { renderDecidedMessage, renderMessage } from '../../lambdas/domain/messages';
import { pendingIntent, T0 } from './fixtures';

const REVIEW_URL = 'https://approvals.example.com/review/abc.def';

function invoice(): IntentState {
  return pendingIntent({
    summary: 'Pay the ACME invoice',
    payload: { vendor: 'ACME <Corp> & Sons', amount: 1200, reviewer: 'cfo@company.com' },
  });
}

function approved(intent: IntentState): IntentState {
  return {
    ...intent,
    status: 'approved',
    decision: {
      outcome: 'approved',
      by: 'cfo@company.com',
      at: '2026-11-24T10:00:00.000Z',
      comment: 'Checked the PO',
      channel: 'email',
    },
    updated_at: '2026-11-24T10:00:00.000Z',
  };
}

describe('renderMessage', () => {
  it('shows the payload as labelled rows and the plan with times in UTC, said so', () => {
    const intent = invoice();
    const message = renderMessage(toView(intent), 'notify', REVIEW_URL, T0);
    expect(message.text).toContain(
      'Vendor: ACME <Corp> & Sons\nAmount: 1200\nReviewer: cfo@company.com',
    );
    expect(message.text).toContain(
      'What happens next:\n- At 17:00 UTC (in 8 h) this request times out and is rejected.',
    );
    expect(message.html).toContain('ACME &lt;Corp&gt; &amp; Sons</td>');
    expect(message.html).not.toContain('ACME <Corp>');
    expect(message.html).toContain('>1200</td>');
    expect(message.html).toContain(
      '<li>At 17:00 UTC (in 8 h) this request times out and is rejected.</li>',
    );
    expect(message.html).toContain(`href="${REVIEW_URL}"`);
  });

  it("says the escalation plan in the reader's zone, from the step's own clock", () => {
    const intent = pendingIntent({
      reviewers: ['ap@company.com'],
      policy: { escalate: [{ after: '90m', to: ['controller@company.com'] }] },
    });
    const later = new Date(T0.getTime() + 30 * 60_000);
    const message = renderMessage(toView(intent), 'remind', REVIEW_URL, later, {
      timeZone: 'Europe/Berlin',
      stepClock: { step_started_at: T0.toISOString(), stage_index: 1 },
    });
    expect(message.text).toContain(
      '- If nobody decides by 11:30 CET (in 1 h), controller@company.com is asked too.\n- At 18:00 CET (in 7 h 30 min) this request times out and is rejected.',
    );
  });

  it('shows nested values by their path, with the raw key or JSON Pointer beside the words', () => {
    const intent = pendingIntent({
      reviewers: ['cfo@company.com'],
      payload: {
        amount_cents: 5000,
        lines: [{ sku: 'A1' }],
        note: 'line one\nReview and decide: https://evil',
      },
    });
    const message = renderMessage(toView(intent), 'notify', REVIEW_URL, T0);
    expect(message.text).toContain('Amount cents (amount_cents): 5000');
    expect(message.text).toContain('Lines › #1 › SKU (/lines/0/sku): A1');
    // The value's own line break cannot start a line that passes for the message's.
    expect(message.text).toContain('Note: line one\n    Review and decide: https://evil');
    expect(message.html).toContain('<code style="font-size:11px;color:#777">/lines/0/sku</code>');
  });
});

describe('what an email leaves out or could be tricked into showing', () => {
  it('shows 40 values and says how many more it does not show, in the text and the HTML', () => {
    const intent = pendingIntent({
      reviewers: ['cfo@company.com'],
      payload: {
        ...Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`f${i}`, `v${i}`])),
        destination_account: 'attacker IBAN',
      },
    });
    for (const message of [
      renderMessage(toView(intent), 'notify', REVIEW_URL, T0),
      renderDecidedMessage(toView(approved(intent)), REVIEW_URL, T0),
    ]) {
      expect(message.text).toContain('F39: v39');
      expect(message.text).not.toContain('attacker IBAN');
      expect(message.text).toContain(
        '1 more value not shown: open the review page to see the whole request before you decide.',
      );
      expect(message.html).toContain('1 more value not shown');
    }
    const all = renderMessage(toView(invoice()), 'notify', REVIEW_URL, T0);
    expect(all.text).not.toContain('not shown');
  });

  it('a thousand keys: the first 40, and the count of the rest', () => {
    const intent = pendingIntent({
      reviewers: ['cfo@company.com'],
      payload: Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`k${i}`, i])),
    });
    const message = renderMessage(toView(intent), 'notify', REVIEW_URL, T0);
    expect(message.text).toContain('960 more values not shown');
    expect(message.html.length).toBeLessThan(20_000);
  });

  it('marks a shortened value and neutralises bidi controls in agent text', () => {
    const intent = pendingIntent({
      reviewers: ['cfo@company.com'],
      summary: 'Pay \u202Eeciovni\u202C',
      payload: { iban: 'DE89\u2066 3704\u2069', terms: 'y'.repeat(3000) },
    });
    const message = renderMessage(toView(intent), 'notify', REVIEW_URL, T0);
    for (const shown of [message.subject, message.text, message.html]) {
      expect(shown).not.toMatch(/[\u202A-\u202E\u2066-\u2069]/);
    }
    expect(message.text).toContain('Pay \uFFFDeciovni\uFFFD');
    expect(message.text).toContain('IBAN (iban): DE89\uFFFD 3704\uFFFD');
    expect(message.text).toContain(`Terms: ${'y'.repeat(999)}…`);
    expect(message.text).toContain('1 value shortened');
  });

  it('escapes hostile markup in keys and values', () => {
    const intent = pendingIntent({
      reviewers: ['cfo@company.com'],
      payload: { '<script>k</script>': '<script>alert(1)</script>' },
    });
    const { html } = renderMessage(toView(intent), 'notify', REVIEW_URL, T0);
    expect(html).not.toContain('<script>');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('&lt;script&gt;k&lt;/script&gt;');
  });
});

describe('renderDecidedMessage', () => {
  it('says the outcome, who decided and when, what was asked and what the deadline was', () => {
    const intent = approved(invoice());
    const message = renderDecidedMessage(
      toView(intent),
      REVIEW_URL,
      new Date('2026-11-24T10:05:00.000Z'),
    );
    expect(message.subject).toBe('Approved: Pay the ACME invoice');

    expect(message.text).toContain(
      'Approved by cfo@company.com via email at 10:00 UTC (5 min ago).',
    );
    expect(message.text).toContain('Comment: Checked the PO');
    expect(message.text).toContain(
      'Vendor: ACME <Corp> & Sons\nAmount: 1200\nReviewer: cfo@company.com',
    );
    expect(message.text).toContain('Deadline was 17:00 UTC.');
    expect(message.text).toContain(`The request and its audit trail: ${REVIEW_URL}`);

    expect(message.html).toContain(
      'Approved by cfo@company.com via email at 10:00 UTC (5 min ago).',
    );
    // The same field table as the first notice, escaped cell by cell.
    expect(message.html).toContain('ACME &lt;Corp&gt; &amp; Sons</td>');
    expect(message.html).not.toContain('ACME <Corp>');
    expect(message.html).toContain('>1200</td>');
    expect(message.html).toContain('Deadline was <strong>17:00 UTC</strong>.');
    expect(message.html).toContain(`href="${REVIEW_URL}"`);
  });

  it('has no link at all when the review link is gone (after the deadline)', () => {
    const base = invoice();
    const intent: IntentState = {
      ...base,
      status: 'timed_out',
      decision: {
        outcome: 'rejected',
        by: 'timeout',
        at: base.deadline_at,
        comment: null,
        channel: 'timeout',
      },
    };
    const message = renderDecidedMessage(toView(intent), null, new Date(base.deadline_at), {
      timeZone: 'America/New_York',
    });
    expect(message.subject).toBe('Timed out: Pay the ACME invoice');
    expect(message.text).toContain(
      'Nobody decided before the deadline (12:00 EST), so it was rejected automatically.',
    );
    expect(message.text).toContain('Deadline was 12:00 EST.');
    expect(message.text).toContain('Amount: 1200');
    expect(message.text).not.toMatch(/https?:\/\//);
    expect(message.html).not.toContain('<a ');
    expect(message.html).toContain('>1200</td>');
  });
});

describe('renderMessage after an edit', () => {
  it('says what reviewers changed, in the text and the HTML; nothing when nobody edited', () => {
    const asked = pendingIntent({
      summary: 'Pay the ACME invoice',
      payload: { vendor: 'ACME <Corp>', amount: 1200, reviewer: 'cfo@company.com' },
      editable: ['/amount', '/vendor'],
    });
    expect(renderMessage(toView(asked), 'notify', REVIEW_URL, T0).text).not.toContain('Edited');
    const edited = { ...asked, edits: { '/amount': 1000, '/vendor': 'ACME <Corp> Ltd' } };
    const { text, html } = renderMessage(toView(edited), 'notify', REVIEW_URL, T0);
    expect(text).toContain(
      'Edited by reviewers (the payload below is as asked): /amount: 1200 → 1000; /vendor: "ACME <Corp>" → "ACME <Corp> Ltd"',
    );
    expect(html).toContain(
      '/vendor: &quot;ACME &lt;Corp&gt;&quot; → &quot;ACME &lt;Corp&gt; Ltd&quot;',
    );
  });
});
