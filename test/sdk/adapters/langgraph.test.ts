import { Annotation, MemorySaver, StateGraph } from '@langchain/langgraph';
import { describe, expect, it } from 'vitest';
import { ApprovalRejectedError } from '../../../sdk/src/index.js';
import {
  pendingApprovals,
  requireApproval,
  resumeApprovals,
  sendApprovals,
} from '../../../sdk/src/langgraph/index.js';
import { type Email, REVIEWER, useCountersignApi } from './countersign-api.js';

/**
 * The LangGraph adapter with the real @langchain/langgraph: a node asks for approval, the graph
 * pauses on its checkpointer, a reviewer decides through the API, and the graph resumes with the
 * approved input, or the node sees the rejection. "Restart": the checkpointer's saved state is
 * serialized, and a new graph instance on a new checkpointer loaded from it finishes the run.
 */
const api = useCountersignApi();

const State = Annotation.Root({
  email: Annotation<Email>(),
  result: Annotation<string>(),
});

/** A graph whose one node sends an email once people approve it; `sent` records the sends. */
function emailGraph(checkpointer: MemorySaver, sent: Email[]) {
  return new StateGraph(State)
    .addNode('send', (state) => {
      try {
        const email = requireApproval(state.email, {
          name: 'sendEmail',
          reviewers: [REVIEWER],
        });
        sent.push(email);
        return { result: `sent to ${email.to}: ${email.subject}` };
      } catch (error) {
        if (error instanceof ApprovalRejectedError) return { result: `not sent: ${error.message}` };
        throw error;
      }
    })
    .addEdge('__start__', 'send')
    .addEdge('send', '__end__')
    .compile({ checkpointer });
}

/** The checkpointer's saved state through JSON, as a file or a database row would keep it. */
function reloaded(saver: MemorySaver): MemorySaver {
  const text = JSON.stringify({ storage: saver.storage, writes: saver.writes }, (_key, value) =>
    value instanceof Uint8Array ? { bytes: Buffer.from(value).toString('base64') } : value,
  );
  const saved = JSON.parse(text, (_key, value: unknown) =>
    typeof value === 'object' && value !== null && 'bytes' in value
      ? new Uint8Array(Buffer.from(String(value.bytes), 'base64'))
      : value,
  ) as Pick<MemorySaver, 'storage' | 'writes'>;
  const restored = new MemorySaver();
  restored.storage = saved.storage;
  restored.writes = saved.writes;
  return restored;
}

const email: Email = { to: 'board@company.com', subject: 'Q1 results' };

describe('LangGraph adapter', () => {
  it('pauses, survives a restart while waiting, and resumes with the approved input', async () => {
    const config = { configurable: { thread_id: 'thread-1' } };
    const firstSaver = new MemorySaver();
    const firstSent: Email[] = [];
    const first = emailGraph(firstSaver, firstSent);

    await first.invoke({ email }, config);
    const [intentId] = await sendApprovals(first, config, { client: api().agentClient() });
    expect(api().created).toHaveLength(1);
    expect(api().created[0]?.body).toMatchObject({
      intent_type: 'intent.tool.sendEmail.v1',
      to_agent: 'agent://tools/sendEmail',
      summary: 'sendEmail(to="board@company.com", subject="Q1 results")',
      payload: email,
      reviewers: [REVIEWER],
    });
    expect(firstSent).toEqual([]);

    // The process ends; a new one builds the graph again on the saved checkpoints.
    const sent: Email[] = [];
    const restarted = emailGraph(reloaded(firstSaver), sent);
    expect(await pendingApprovals(restarted, config)).toEqual([
      expect.objectContaining({
        value: { countersign: 'decision', tool: 'sendEmail', intent_id: intentId },
      }),
    ]);
    const finished = resumeApprovals(restarted, config, { client: api().agentClient() });
    api().editBeforeApproving(String(intentId), { subject: 'Q1 results (audited)' });
    await api().reviewerClient().approve(String(intentId), 'With the audited figures');

    expect(await finished).toMatchObject({
      result: 'sent to board@company.com: Q1 results (audited)',
    });
    expect(sent).toEqual([{ to: 'board@company.com', subject: 'Q1 results (audited)' }]);
    expect(api().created).toHaveLength(1);
    expect(await pendingApprovals(restarted, config)).toEqual([]);
  });

  it('a rejection reaches the node as ApprovalRejectedError with the reason', async () => {
    const config = { configurable: { thread_id: 'thread-2' } };
    const sent: Email[] = [];
    const graph = emailGraph(new MemorySaver(), sent);
    await graph.invoke({ email }, config);
    const [intentId] = await sendApprovals(graph, config, { client: api().agentClient() });
    // Sending again (a driver retrying) finds the same intent.
    expect(await sendApprovals(graph, config, { client: api().agentClient() })).toEqual([intentId]);

    const finished = resumeApprovals(graph, config, { client: api().agentClient() });
    await api().reviewerClient().reject(String(intentId), 'The board gets it after the audit');

    expect(await finished).toMatchObject({
      result: `not sent: ${REVIEWER} rejected sendEmail: The board gets it after the audit`,
    });
    expect(sent).toEqual([]);
    expect(
      api()
        .intents()
        .map((intent) => intent.status),
    ).toEqual(['rejected']);
  });
});
