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
  it('shows the key payload fields and the deadline, in the text and the HTML', () => {
    const intent = invoice();
    const message = renderMessage(toView(intent), 'notify', REVIEW_URL, T0);
    expect(message.text).toContain('vendor: ACME <Corp> & Sons\namount: 1200');
    expect(message.text).toContain(`Decide before ${intent.deadline_at} (in 8h)`);
    expect(message.html).toContain('<td>ACME &lt;Corp&gt; &amp; Sons</td>');
    expect(message.html).toContain('<td>1200</td>');
    expect(message.html).toContain(`href="${REVIEW_URL}"`);
  });
});

describe('what an email leaves out or could be tricked into showing', () => {
  it('says how many fields it does not show, in the text and the HTML', () => {
    const intent = pendingIntent({
      reviewers: ['cfo@company.com'],
      payload: {
        ...Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`f${i}`, `v${i}`])),
        destination_account: 'attacker IBAN',
      },
    });
    for (const message of [
      renderMessage(toView(intent), 'notify', REVIEW_URL, T0),
      renderDecidedMessage(toView(approved(intent)), REVIEW_URL),
    ]) {
      expect(message.text).not.toContain('attacker IBAN');
      expect(message.text).toContain('1 more field not shown');
      expect(message.html).toContain('1 more field not shown');
    }
    const all = renderMessage(toView(invoice()), 'notify', REVIEW_URL, T0);
    expect(all.text).not.toContain('not shown');
  });

  it('marks a shortened value and neutralises bidi controls in agent text', () => {
    const intent = pendingIntent({
      reviewers: ['cfo@company.com'],
      summary: 'Pay \u202Eeciovni\u202C',
      payload: { iban: 'DE89\u2066 3704\u2069', terms: 'y'.repeat(300) },
    });
    const message = renderMessage(toView(intent), 'notify', REVIEW_URL, T0);
    for (const shown of [message.subject, message.text, message.html]) {
      expect(shown).not.toMatch(/[\u202A-\u202E\u2066-\u2069]/);
    }
    expect(message.text).toContain('Pay \uFFFDeciovni\uFFFD');
    expect(message.text).toContain(`terms: ${'y'.repeat(199)}…`);
    expect(message.text).toContain('1 value shortened');
  });
});

describe('renderDecidedMessage', () => {
  it('says the outcome, who decided and when, what was asked and what the deadline was', () => {
    const intent = approved(invoice());
    const message = renderDecidedMessage(toView(intent), REVIEW_URL);
    expect(message.subject).toBe('Approved: Pay the ACME invoice');

    expect(message.text).toContain(
      'Approved by cfo@company.com via email at 2026-11-24T10:00:00.000Z.',
    );
    expect(message.text).toContain('Comment: Checked the PO');
    expect(message.text).toContain(
      'vendor: ACME <Corp> & Sons\namount: 1200\nreviewer: cfo@company.com',
    );
    expect(message.text).toContain(`Deadline was ${intent.deadline_at}.`);
    expect(message.text).toContain(`The request and its audit trail: ${REVIEW_URL}`);

    expect(message.html).toContain(
      'Approved by cfo@company.com via email at 2026-11-24T10:00:00.000Z.',
    );
    // The same field table as the first notice, escaped cell by cell.
    expect(message.html).toContain('<td>ACME &lt;Corp&gt; &amp; Sons</td>');
    expect(message.html).not.toContain('ACME <Corp>');
    expect(message.html).toContain('<td>1200</td>');
    expect(message.html).toContain(`Deadline was <strong>${intent.deadline_at}</strong>.`);
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
    const message = renderDecidedMessage(toView(intent), null);
    expect(message.subject).toBe('Timed out: Pay the ACME invoice');
    expect(message.text).toContain('so it was rejected automatically');
    expect(message.text).toContain(`Deadline was ${intent.deadline_at}.`);
    expect(message.text).toContain('amount: 1200');
    expect(message.text).not.toMatch(/https?:\/\//);
    expect(message.html).not.toContain('<a ');
    expect(message.html).toContain('<td>1200</td>');
  });
});
