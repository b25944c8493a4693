import { generateText, type ModelMessage } from 'ai';
import type { MockLanguageModelV3 } from 'ai/test';
import { describe, expect, it } from 'vitest';
import {
  decideToolApprovals,
  openToolApprovals,
  sendToolApprovals,
} from '../../../sdk/src/ai/index.js';
import { until } from '../scripted-server.js';
import {
  type Email,
  aiEmailTools as emailTools,
  scriptedAiModel as scriptedModel,
  aiToolResultSeen as toolResultSeen,
} from './agents.js';
import { REVIEWER, useCountersignApi } from './countersign-api.js';

/**
 * The Vercel AI SDK adapter with the real `ai` package and a scripted model: the model calls a
 * tool that needs approval, generateText stops, the messages are saved (JSON) and picked up
 * again, a reviewer decides through the API, and the next generateText runs the tool with the
 * approved input, or the model reads the rejection's reason. A process that dies while waiting
 * and starts again from the messages it saved waits on the intent they name.
 */
const api = useCountersignApi();

/** Runs until the tool call waits for approval; returns the messages as saved JSON. */
async function runUntilApproval(model: MockLanguageModelV3, sent: Email[]): Promise<string> {
  const messages: ModelMessage[] = [{ role: 'user', content: 'Send the Q1 results to the board' }];
  const result = await generateText({ model, tools: emailTools(sent), messages });
  expect(result.content).toContainEqual(expect.objectContaining({ type: 'tool-approval-request' }));
  expect(sent).toEqual([]);
  return JSON.stringify([...messages, ...result.response.messages]);
}

describe('Vercel AI SDK adapter', () => {
  it('a saved run resumes after the decision with the approved input', async () => {
    const model = scriptedModel();
    const saved = await runUntilApproval(model, []);

    // Another process picks the saved messages up.
    const messages = JSON.parse(saved) as ModelMessage[];
    expect(openToolApprovals(messages)).toHaveLength(1);
    const decided = decideToolApprovals(messages, {
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
    const id = String(api().intents()[0]?.id);
    api().editBeforeApproving(id, { subject: 'Q1 results (audited)' });
    await api().reviewerClient().approve(id, 'With the audited figures');

    const answered = await decided;
    expect(openToolApprovals(answered)).toEqual([]);
    const sent: Email[] = [];
    const result = await generateText({ model, tools: emailTools(sent), messages: answered });
    expect(sent).toEqual([{ to: 'board@company.com', subject: 'Q1 results (audited)' }]);
    expect(toolResultSeen(model)).toEqual({
      type: 'text',
      value: 'sent to board@company.com: Q1 results (audited)',
    });
    expect(result.text).toBe('Done.');
    // Answering again asks nobody: the messages hold the answer.
    expect(await decideToolApprovals(answered, { client: api().agentClient() })).toEqual(answered);
    expect(api().created).toHaveLength(1);
  });

  it('the model reads the rejection and the tool does not run', async () => {
    const model = scriptedModel();
    const sent: Email[] = [];
    const messages = JSON.parse(await runUntilApproval(model, sent)) as ModelMessage[];
    const decided = decideToolApprovals(messages, { client: api().agentClient() });
    await until(() => api().created.length === 1);
    await api().reviewerClient().reject(String(api().intents()[0]?.id), 'Not before the audit');

    await generateText({ model, tools: emailTools(sent), messages: await decided });
    expect(sent).toEqual([]);
    expect(toolResultSeen(model)).toEqual({
      type: 'execution-denied',
      reason: `${REVIEWER} rejected sendEmail: Not before the audit`,
    });
  });

  it('a process that dies while waiting resumes from its saved messages on the same intent', async () => {
    const model = scriptedModel();
    const messages = JSON.parse(await runUntilApproval(model, [])) as ModelMessage[];
    let saved = '';
    const dying = new AbortController();
    const first = decideToolApprovals(messages, {
      client: api().agentClient(),
      signal: dying.signal,
      onSent: (sent) => {
        saved = JSON.stringify(sent);
        dying.abort(new Error('the process died'));
      },
    });
    await expect(first).rejects.toThrow('the process died');
    const [intent] = api().intents();
    expect(openToolApprovals(JSON.parse(saved) as ModelMessage[])).toEqual([
      expect.objectContaining({ intentId: intent?.id }),
    ]);

    // Long after: the API no longer knows the Idempotency-Key, the saved messages still name the intent.
    api().forgetIdempotencyKeys();
    const restarted = decideToolApprovals(JSON.parse(saved) as ModelMessage[], {
      client: api().agentClient(),
    });
    await api().reviewerClient().approve(String(intent?.id));
    const sent: Email[] = [];
    await generateText({ model, tools: emailTools(sent), messages: await restarted });
    expect(sent).toEqual([{ to: 'board@company.com', subject: 'Q1 results' }]);
    expect(api().created).toHaveLength(1);
  });

  it('sendToolApprovals records the intents in the messages, once', async () => {
    const messages = JSON.parse(await runUntilApproval(scriptedModel(), [])) as ModelMessage[];
    const sent = await sendToolApprovals(messages, { client: api().agentClient() });
    const id = api().intents()[0]?.id;
    const toolCalls = sent.flatMap((message) =>
      message.role === 'assistant' && typeof message.content !== 'string'
        ? message.content.filter((part) => part.type === 'tool-call')
        : [],
    );
    expect(toolCalls.map((part) => part.providerOptions)).toEqual([
      { countersign: { intentId: id } },
    ]);
    api().forgetIdempotencyKeys();
    expect(await sendToolApprovals(sent, { client: api().agentClient() })).toEqual(sent);
    expect(api().created).toHaveLength(1);
  });
});
