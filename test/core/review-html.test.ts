import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { REVIEW_PAGE_CSP, reviewPage } from '../../lambdas/core/review-html';
import type { AuditEvent } from '../../lambdas/domain/audit';
import { type IntentState, toView } from '../../lambdas/domain/intent';
import { LOCAL_TIME_SCRIPT } from '../../lambdas/domain/readable';
import { pendingIntent, T0 } from '../domain/fixtures';

/** The review page as `showReview` renders it, for a reviewer of the fixture's intent. */
function render(
  intent: IntentState,
  options: { now?: Date; timeZone?: string; events?: AuditEvent[] } = {},
) {
  return reviewPage({
    intent: toView(intent),
    events: options.events ?? [],
    reviewer: 'ap@company.com',
    formAction: './token',
    formNonce: '0.nonce',
    now: options.now ?? T0,
    stepClock: intent,
    ...(options.timeZone ? { timeZone: options.timeZone } : {}),
  });
}

function invoice(): IntentState {
  return {
    ...pendingIntent({
      summary: 'Pay the ACME invoice',
      reviewers: ['ap@company.com'],
      policy: { escalate: [{ after: '90m', to: ['controller@company.com'] }] },
      payload: {
        vendor: 'ACME',
        amount_cents: 120000,
        lines: [{ sku: 'A1', qty: 2 }],
        terms: 'Net 30. '.repeat(60),
        pay_by: '2026-11-25T12:00:00Z',
      },
    }),
    step_started_at: T0.toISOString(),
    stage_index: 0,
  };
}

describe('the review page, readable', () => {
  it("without the reader's zone: UTC, said so, each time marked for the browser to rewrite", () => {
    const html = render(invoice());
    expect(html).toContain(
      'decide by <time datetime="2026-11-24T17:00:00.000Z" data-local>17:00 UTC</time> <span class="rel">(in 8 h)</span>',
    );
    expect(html).toContain('<p class="muted" id="zone-note" data-local>Times are in UTC.</p>');
    expect(html).toContain(
      '<li>If nobody decides by <time datetime="2026-11-24T10:30:00.000Z" data-local>10:30 UTC</time> <span class="rel">(in 1 h 30 min)</span>, controller@company.com is asked too.</li>',
    );
    expect(html).toContain('this request times out and is rejected.</li>');
  });

  it("in the reader's zone when it is known, and then the browser leaves it alone", () => {
    const html = render(invoice(), { timeZone: 'Europe/Berlin' });
    expect(html).toContain('<time datetime="2026-11-24T17:00:00.000Z">18:00 CET</time>');
    expect(html).not.toMatch(/<time[^>]*data-local/);
    expect(html).toContain(
      '<p class="muted" id="zone-note">Times are in your time zone (Europe/Berlin).</p>',
    );
  });

  it('shows the payload as a labelled table, nested values and long text folded, and the raw JSON', () => {
    const html = render(invoice());
    expect(html).toContain(
      '<tr title="/amount_cents"><th scope="row">Amount cents <code>amount_cents</code></th><td><span class="number">120000</span></td></tr>',
    );
    expect(html).toContain('<details><summary>1 item</summary>');
    expect(html).toContain('<tr title="/lines/0/sku"><th scope="row">SKU <code>sku</code></th>');
    expect(html).toContain('(show all 480 characters)');
    expect(html).toContain('<details><summary>As JSON</summary><pre>');
    // A timestamp in the payload: as the agent wrote it, and in the reader's zone.
    expect(html).toContain(
      '<span class="text">2026-11-25T12:00:00Z</span><br><time datetime="2026-11-25T12:00:00.000Z" data-local>Wed 25 Nov, 12:00 UTC</time> <span class="rel">(in 1 d 3 h)</span>',
    );
  });

  it('lists the history with readable times', () => {
    const html = render(invoice(), {
      now: new Date(T0.getTime() + 5 * 60_000),
      events: [
        {
          seq: 1,
          type: 'viewed',
          at: T0.toISOString(),
          actor: 'ap@company.com',
          channel: 'email',
          data: {},
        } as unknown as AuditEvent,
      ],
    });
    expect(html).toContain(
      '<li><time datetime="2026-11-24T09:00:00.000Z" data-local>09:00 UTC</time> <span class="rel">(5 min ago)</span> · viewed · ap@company.com (email)</li>',
    );
  });

  it('says who decided and when once it is over, and has no plan', () => {
    const decided: IntentState = {
      ...invoice(),
      status: 'approved',
      decision: {
        outcome: 'approved',
        by: 'ap@company.com',
        at: '2026-11-24T10:00:00.000Z',
        comment: null,
        channel: 'email',
      },
    };
    const html = render(decided, { now: new Date('2026-11-24T10:02:00.000Z') });
    expect(html).toContain(
      'This request was approved by ap@company.com at <time datetime="2026-11-24T10:00:00.000Z" data-local>10:00 UTC</time> <span class="rel">(2 min ago)</span> (via email).',
    );
    expect(html).not.toContain('What happens next');
  });

  it('runs no script but the one the policy admits by its hash, whatever the agent wrote', () => {
    const html = render({
      ...invoice(),
      summary: '<script>alert(1)</script>',
      payload: { '<script>k</script>': '</script><script>alert(2)</script>' },
    });
    const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]);
    expect(scripts).toEqual([LOCAL_TIME_SCRIPT]);
    const hash = createHash('sha256').update(LOCAL_TIME_SCRIPT).digest('base64');
    expect(REVIEW_PAGE_CSP).toContain(`script-src 'sha256-${hash}'`);
    expect(REVIEW_PAGE_CSP).toContain("default-src 'none'");
  });
});
