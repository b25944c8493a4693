import { afterEach, describe, expect, it } from 'vitest';
import {
  ApprovalRejectedError,
  CountersignClient,
  type Decision,
  type Intent,
  type IntentStatus,
  withApproval,
} from '../../sdk/src/index.js';
import {
  approvedIntent,
  makeIntent,
  type RecordedRequest,
  recordingSleep,
  ScriptedServer,
  sendJson,
} from './scripted-server.js';

/**
 * withApproval against a scripted API that plays the reviewer: the intent it sends, what runs
 * after an approval (edits included), and the typed rejection otherwise.
 */
let server: ScriptedServer | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

type Created = {
  intent_type: string;
  to_agent: string;
  summary: string;
  payload: unknown;
} & Record<string, unknown>;

/** Creates answer 201; the long poll answers the final intent `final` makes from the payload. */
async function reviewerSays(
  final: (payload: Intent['payload']) => Intent,
): Promise<{ client: CountersignClient; created: Created[] }> {
  const created: Created[] = [];
  server = await ScriptedServer.start((request: RecordedRequest, response) => {
    if (request.method === 'POST' && request.path === '/v1/intents') {
      const body = JSON.parse(request.body) as Created;
      created.push(body);
      sendJson(response, 201, makeIntent({ payload: body.payload as Intent['payload'] }));
      return;
    }
    const payload = (created.at(-1)?.payload ?? {}) as Intent['payload'];
    sendJson(response, 200, final(payload));
  });
  const client = new CountersignClient({
    baseUrl: server.baseUrl,
    apiKey: 'csk_test-tools',
    sleep: recordingSleep().sleep,
  });
  return { client, created };
}

function decided(status: IntentStatus, decision: Partial<Decision>): Intent {
  return makeIntent({
    status,
    next_action_at: null,
    decision: {
      outcome: 'rejected',
      by: 'cfo@company.com',
      at: '2026-11-24T09:10:00.000Z',
      comment: null,
      channel: 'email',
      ...decision,
    },
  });
}

describe('withApproval', () => {
  it('asks with the call as payload and summary, then runs and returns', async () => {
    const { client, created } = await reviewerSays((payload) => approvedIntent({ payload }));
    const calls: unknown[] = [];
    async function sendReport(input: { report: string; to: string; copies?: number }) {
      calls.push(input);
      return `sent ${input.report}`;
    }
    const guarded = withApproval(sendReport, {
      client,
      reviewers: ['cfo@company.com'],
      policy: { timeout: { after: '1h' } },
    });

    const input = { report: 'Q1 Financial Summary', to: 'board@company.com', copies: 2 };
    await expect(guarded(input)).resolves.toBe('sent Q1 Financial Summary');

    expect(calls).toEqual([input]);
    expect(calls[0]).toBe(input);
    expect(created).toEqual([
      {
        intent_type: 'intent.tool.sendReport.v1',
        to_agent: 'agent://tools/sendReport',
        summary: 'sendReport(report="Q1 Financial Summary", to="board@company.com", copies=2)',
        payload: input,
        reviewers: ['cfo@company.com'],
        policy: { timeout: { after: '1h' } },
      },
    ]);
  });

  it('rejects with the reviewer reason and the status, and does not run the function', async () => {
    const { client } = await reviewerSays(() =>
      decided('rejected', { comment: 'The report still names customers' }),
    );
    let ran = false;
    const guarded = withApproval(
      (_input: { report: string }) => {
        ran = true;
      },
      { client, name: 'sendReport' },
    );

    const error = await guarded({ report: 'Q1' }).catch((caught: unknown) => caught);

    expect(ran).toBe(false);
    expect(error).toBeInstanceOf(ApprovalRejectedError);
    expect(error).toMatchObject({
      status: 'rejected',
      reason: 'The report still names customers',
      decidedBy: 'cfo@company.com',
      tool: 'sendReport',
      intentId: 'int_01JDTEST',
      message: 'cfo@company.com rejected sendReport: The report still names customers',
    });
  });

  it('treats timed_out and cancelled as rejections, unless the timeout action approves', async () => {
    const cases: [IntentStatus, Partial<Decision>, boolean][] = [
      ['timed_out', { outcome: 'rejected', by: 'timeout', channel: 'timeout' }, false],
      ['cancelled', { outcome: 'cancelled', by: 'agent://x', channel: 'api' }, false],
      ['timed_out', { outcome: 'approved', by: 'timeout', channel: 'timeout' }, true],
    ];
    for (const [status, decision, runs] of cases) {
      const { client } = await reviewerSays(() => decided(status, decision));
      const refund = withApproval((amount: number) => `refunded ${amount}`, {
        client,
        name: 'refund',
      });
      if (runs) {
        await expect(refund(40)).resolves.toBe('refunded 40');
      } else {
        await expect(refund(40)).rejects.toMatchObject({
          name: 'ApprovalRejectedError',
          status,
          reason: null,
        });
      }
      await server?.stop();
    }
  });

  it('runs with the values a reviewer edited and keeps the others as passed', async () => {
    const { client, created } = await reviewerSays((payload) =>
      approvedIntent({
        payload,
        approved_payload: { ...payload, amount: 400, recipient: { name: 'A', email: 'a@x.com' } },
      }),
    );
    const received: { amount: number; recipient: object; note: string }[] = [];
    const recipient = { email: 'a@x.com', name: 'A' };
    const refund = withApproval(
      (input: { amount: number; recipient: object; note: string }) => {
        received.push(input);
      },
      { client, name: 'refund', editable: ['/amount'] },
    );

    await refund({ amount: 40_000, recipient, note: 'n' });

    expect(created[0]).toMatchObject({ editable: ['/amount'] });
    expect(received[0]).toEqual({ amount: 400, recipient, note: 'n' });
    // The recipient is the same JSON in another key order: not an edit, so the caller's object.
    expect(received[0]?.recipient).toBe(recipient);
  });

  it('sends other calls as {args: [...]} and applies edits by position', async () => {
    const { client, created } = await reviewerSays((payload) =>
      approvedIntent({ payload, approved_payload: { args: ['/srv/data', true] } }),
    );
    const calls: unknown[][] = [];
    const remove = withApproval(
      (path: string, recursive: boolean) => {
        calls.push([path, recursive]);
        return 'removed';
      },
      { client, name: 'remove', summary: (path) => `Delete ${path}?`, intentType: 'intent.fs.v1' },
    );

    await expect(remove('/srv/data', false)).resolves.toBe('removed');

    expect(calls).toEqual([['/srv/data', true]]);
    expect(created[0]).toMatchObject({
      intent_type: 'intent.fs.v1',
      summary: 'Delete /srv/data?',
      payload: { args: ['/srv/data', false] },
    });
  });

  it('keeps each argument short and the summary within the 500 characters the API accepts', async () => {
    const { client, created } = await reviewerSays((payload) => approvedIntent({ payload }));
    const long = 'word '.repeat(200);
    await withApproval((_text: string, _tags: string[]) => 'ok', { client, name: 'post' })(long, [
      'a',
      'a',
    ]);
    await withApproval((text: string) => text, { client, name: 'post', summary: (text) => text })(
      long,
    );
    const [shortened, cut] = created.map((body) => body.summary);
    expect(shortened).toBe(`post("${'word '.repeat(15)}wor…, ["a","a"])`);
    expect(cut).toHaveLength(500);
    expect(cut?.endsWith('word…')).toBe(true);
  });

  it('needs a name for an anonymous function', () => {
    const client = new CountersignClient({ baseUrl: 'http://127.0.0.1:1', apiKey: 'k' });
    expect(() => withApproval(() => 1, { client })).toThrow(/pass options.name/);
  });
});
