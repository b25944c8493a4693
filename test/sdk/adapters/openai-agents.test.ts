import { RunState } from '@openai/agents-core';
import { describe, expect, it } from 'vitest';
import {
  decideInterruptions,
  INTENT_IDS_KEY,
  sendInterruptions,
} from '../../../sdk/src/openai-agents/index.js';
import { until } from '../scripted-server.js';
import {
  type Email,
  emailAgent,
  agentRunner as runner,
  ScriptedAgentModel as ScriptedModel,
} from './agents.js';
import { REVIEWER, useCountersignApi } from './countersign-api.js';

/**
 * The OpenAI Agents adapter with the real @openai/agents-core and a scripted model: the model
 * calls a tool that needs approval, the run stops with an interruption, its state is saved as a
 * string, another agent instance restores it, a reviewer decides through the API, and the run
 * resumes: the tool runs with the model's arguments, or the model reads the rejection's reason.
 * A process that dies while waiting and restores the state it saved waits on the intent it names.
 */
const api = useCountersignApi();

/** Runs until the tool call is interrupted for approval; returns the state as saved. */
async function runUntilApproval(): Promise<string> {
  const sent: Email[] = [];
  const result = await runner.run(
    emailAgent(new ScriptedModel(), sent),
    'Send the Q1 results to the board',
  );
  expect(result.interruptions.map((item) => item.name)).toEqual(['sendEmail']);
  expect(sent).toEqual([]);
  return result.state.toString();
}

describe('OpenAI Agents adapter', () => {
  it('a saved run resumes in a new agent after the approval and runs the tool', async () => {
    const saved = await runUntilApproval();

    // Another process: a new agent, the state restored from the saved string.
    const model = new ScriptedModel();
    const sent: Email[] = [];
    const agent = emailAgent(model, sent);
    const state = await RunState.fromString(agent, saved);
    const decided = decideInterruptions(state, {
      client: api().agentClient(),
      reviewers: [REVIEWER],
    });
    await until(() => api().created.length === 1);
    expect(api().created[0]?.body).toMatchObject({
      intent_type: 'intent.tool.sendEmail.v1',
      summary: 'sendEmail(to="board@company.com", subject="Q1 results")',
      payload: { to: 'board@company.com', subject: 'Q1 results' },
      reviewers: [REVIEWER],
    });
    expect(api().created[0]?.idempotencyKey).toMatch(/^openai-agents-call-1-[0-9a-f]{16}$/);
    await api().reviewerClient().approve(String(api().intents()[0]?.id), 'Go ahead');

    const result = await runner.run(agent, await decided);
    expect(result.interruptions).toEqual([]);
    expect(sent).toEqual([{ to: 'board@company.com', subject: 'Q1 results' }]);
    expect(result.finalOutput).toBe('Tool said: sent to board@company.com: Q1 results');
  });

  it('the model reads the rejection and the tool does not run', async () => {
    const saved = await runUntilApproval();
    const model = new ScriptedModel();
    const sent: Email[] = [];
    const agent = emailAgent(model, sent);
    const decided = decideInterruptions(await RunState.fromString(agent, saved), {
      client: api().agentClient(),
    });
    await until(() => api().created.length === 1);
    await api().reviewerClient().reject(String(api().intents()[0]?.id), 'Not before the audit');

    const result = await runner.run(agent, await decided);
    expect(sent).toEqual([]);
    expect(result.finalOutput).toBe(
      `Tool said: ${REVIEWER} rejected sendEmail: Not before the audit`,
    );
  });

  it('a call approved only with edited values is not run as the model made it', async () => {
    const saved = await runUntilApproval();
    const sent: Email[] = [];
    const agent = emailAgent(new ScriptedModel(), sent);
    const decided = decideInterruptions(await RunState.fromString(agent, saved), {
      client: api().agentClient(),
    });
    await until(() => api().created.length === 1);
    const id = String(api().intents()[0]?.id);
    api().editBeforeApproving(id, { to: 'cfo@company.com' });
    await api().reviewerClient().approve(id);

    const result = await runner.run(agent, await decided);
    expect(sent).toEqual([]);
    expect(result.finalOutput).toBe(
      `Tool said: ${REVIEWER} approved sendEmail only with these arguments, so it was not run as called: {"to":"cfo@company.com","subject":"Q1 results"}. Call it again with them.`,
    );
  });

  it('a process that dies while waiting resumes from its saved state on the same intent', async () => {
    const saved = await runUntilApproval();
    let savedWhileWaiting = '';
    const dying = new AbortController();
    const first = decideInterruptions(
      await RunState.fromString(emailAgent(new ScriptedModel(), []), saved),
      {
        client: api().agentClient(),
        signal: dying.signal,
        onSent: (state) => {
          savedWhileWaiting = state.toString();
          dying.abort(new Error('the process died'));
        },
      },
    );
    await expect(first).rejects.toThrow('the process died');
    const [intent] = api().intents();
    expect(JSON.parse(savedWhileWaiting).context.context).toEqual({
      [INTENT_IDS_KEY]: { [String(api().created[0]?.idempotencyKey)]: intent?.id },
    });

    // Long after: the API no longer knows the Idempotency-Key, the saved state still names the intent.
    api().forgetIdempotencyKeys();
    const sent: Email[] = [];
    const agent = emailAgent(new ScriptedModel(), sent);
    const state = await RunState.fromString(agent, savedWhileWaiting);
    const decided = decideInterruptions(state, { client: api().agentClient() });
    await api().reviewerClient().approve(String(intent?.id));
    const result = await runner.run(agent, await decided);
    expect(sent).toEqual([{ to: 'board@company.com', subject: 'Q1 results' }]);
    expect(result.finalOutput).toBe('Tool said: sent to board@company.com: Q1 results');
    expect(api().created).toHaveLength(1);
    // Once decided, the state no longer keeps the id.
    expect(JSON.parse(result.state.toString()).context.context).toEqual({});
  });

  it('sendInterruptions records the intents in the state, once', async () => {
    const saved = await runUntilApproval();
    const agent = emailAgent(new ScriptedModel(), []);
    const state = await sendInterruptions(await RunState.fromString(agent, saved), {
      client: api().agentClient(),
    });
    const restored = await RunState.fromString(agent, state.toString());
    api().forgetIdempotencyKeys();
    await sendInterruptions(restored, { client: api().agentClient() });
    expect(api().created).toHaveLength(1);
    expect(restored._context.context).toEqual({
      [INTENT_IDS_KEY]: { [String(api().created[0]?.idempotencyKey)]: api().intents()[0]?.id },
    });
  });

  it('runs whose model reuses a call id, sharing one context, each get and obey their own intent', async () => {
    // Models that number their calls (call-1 here) use the same id in every run; an application
    // may hand every run the same context object.
    const context = { team: 'finance' };
    const runs = await Promise.all(
      ['Q1 results', 'Q2 results'].map(async (subject) => {
        const sent: Email[] = [];
        const agent = emailAgent(new ScriptedModel({ to: 'board@company.com', subject }), sent);
        const first = await runner.run(agent, 'Send the results', { context });
        return { agent, sent, state: first.state };
      }),
    );
    for (const { state } of runs) await sendInterruptions(state, { client: api().agentClient() });
    expect(api().created.map((created) => created.body.payload.subject)).toEqual([
      'Q1 results',
      'Q2 results',
    ]);

    const finished = runs.map(async ({ agent, state }) =>
      runner.run(agent, await decideInterruptions(state, { client: api().agentClient() })),
    );
    const [q1, q2] = api().intents();
    await api().reviewerClient().approve(String(q1?.id));
    await api().reviewerClient().reject(String(q2?.id), 'Q2 is not closed');
    await Promise.all(finished);
    expect(runs.map(({ sent }) => sent)).toEqual([
      [{ to: 'board@company.com', subject: 'Q1 results' }],
      [],
    ]);
    expect(api().created).toHaveLength(2);
    expect(context).toEqual({ team: 'finance' });
  });
});
