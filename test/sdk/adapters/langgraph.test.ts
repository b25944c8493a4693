import { MemorySaver } from '@langchain/langgraph';
import { describe, expect, it } from 'vitest';
import {
  pendingApprovals,
  resumeApprovals,
  sendApprovals,
} from '../../../sdk/src/langgraph/index.js';
import { EMAIL, type Email, emailGraph, restoredCheckpoints, savedCheckpoints } from './agents.js';
import { REVIEWER, useCountersignApi } from './countersign-api.js';

/**
 * The LangGraph adapter with the real @langchain/langgraph: a node asks for approval, the graph
 * pauses on its checkpointer, a reviewer decides through the API, and the graph resumes with the
 * approved input, or the node sees the rejection. "Restart": the checkpointer's saved state is
 * serialized, and a new graph instance on a new checkpointer loaded from it finishes the run.
 */
const api = useCountersignApi();

const email = EMAIL;

/** The checkpointer's saved state through JSON, as a process that restarts would read it. */
const reloaded = (saver: MemorySaver) => restoredCheckpoints(savedCheckpoints(saver));

describe('LangGraph adapter', () => {
  it('pauses, survives a restart while waiting, and resumes with the approved input', async () => {
    const config = { configurable: { thread_id: 'thread-1' } };
    const firstSaver = new MemorySaver();
    const firstSent: Email[] = [];
    const first = emailGraph(firstSaver, firstSent, { reviewers: [REVIEWER] });

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
    const restarted = emailGraph(reloaded(firstSaver), sent, { reviewers: [REVIEWER] });
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
    const graph = emailGraph(new MemorySaver(), sent, { reviewers: [REVIEWER] });
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
