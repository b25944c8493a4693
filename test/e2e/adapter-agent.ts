/**
 * An agent process for test/e2e/adapter-restarts.test.ts: one framework's scripted agent (see
 * test/sdk/adapters/agents.ts) that runs until its tool call waits for approval, saves the
 * framework's state to a file the moment its intent is sent, and waits. Started again on the
 * same file (after a kill -9, say), it resumes from the saved state instead of starting over.
 *
 *   node --import tsx test/e2e/adapter-agent.ts <langgraph|ai|openai-agents> <state file> <to_agent>
 *
 * With COUNTERSIGN_URL and COUNTERSIGN_API_KEY (an agent key). Prints one JSON line per step:
 * `{"waiting": [intent ids], "resumed": boolean}` once the state naming the intents is saved,
 * then `{"sent": [emails], "seen": "what the model or node was told"}` when the run ends.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { MemorySaver } from '@langchain/langgraph';
import { RunState } from '@openai/agents-core';
import { generateText, type ModelMessage } from 'ai';
import { decideToolApprovals, openToolApprovals } from '../../sdk/src/ai/index.js';
import { CountersignClient } from '../../sdk/src/index.js';
import { resumeApprovals, sendApprovals } from '../../sdk/src/langgraph/index.js';
import { decideInterruptions, INTENT_IDS_KEY } from '../../sdk/src/openai-agents/index.js';
import {
  agentRunner,
  aiEmailTools,
  aiToolResultSeen,
  EMAIL,
  type Email,
  emailAgent,
  emailGraph,
  restoredCheckpoints,
  ScriptedAgentModel,
  savedCheckpoints,
  scriptedAiModel,
} from '../sdk/adapters/agents.js';

type AgentFramework = 'langgraph' | 'ai' | 'openai-agents';

const REVIEWERS = ['cfo@company.com'];

const [framework, stateFile, toAgent] = process.argv.slice(2) as [AgentFramework, string, string];
const client = new CountersignClient({
  baseUrl: String(process.env.COUNTERSIGN_URL),
  apiKey: String(process.env.COUNTERSIGN_API_KEY),
});
const resumed = existsSync(stateFile);
const sent: Email[] = [];

function report(line: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

/** Saves the state whole or not at all (a kill -9 never leaves half a file). */
function save(state: string, intentIds: unknown[]): void {
  writeFileSync(`${stateFile}.tmp`, state);
  renameSync(`${stateFile}.tmp`, stateFile);
  report({ waiting: intentIds, resumed });
}

async function runLangGraph(): Promise<string> {
  const saver = resumed ? restoredCheckpoints(readFileSync(stateFile, 'utf8')) : new MemorySaver();
  const graph = emailGraph(saver, sent, { reviewers: REVIEWERS, toAgent });
  const config = { configurable: { thread_id: 'e2e' } };
  if (!resumed) await graph.invoke({ email: EMAIL }, config);
  const intentIds = await sendApprovals(graph, config, { client });
  save(savedCheckpoints(saver), intentIds);
  const output = (await resumeApprovals(graph, config, { client })) as { result: string };
  return output.result;
}

async function runAiSdk(): Promise<string> {
  const model = scriptedAiModel();
  const tools = aiEmailTools(sent);
  let messages: ModelMessage[];
  if (resumed) {
    messages = JSON.parse(readFileSync(stateFile, 'utf8')) as ModelMessage[];
  } else {
    messages = [{ role: 'user', content: 'Send the Q1 results to the board' }];
    const first = await generateText({ model, tools, messages });
    messages = [...messages, ...first.response.messages];
  }
  const decided = await decideToolApprovals(messages, {
    client,
    reviewers: REVIEWERS,
    toAgent,
    onSent: (named) =>
      save(
        JSON.stringify(named),
        openToolApprovals(named).map(({ intentId }) => intentId),
      ),
  });
  await generateText({ model, tools, messages: decided });
  const seen = aiToolResultSeen(model) as { value?: string; reason?: string };
  return String(seen.value ?? seen.reason);
}

async function runOpenAiAgents(): Promise<string> {
  const agent = emailAgent(new ScriptedAgentModel(), sent);
  const state = resumed
    ? await RunState.fromString<undefined, typeof agent>(agent, readFileSync(stateFile, 'utf8'))
    : (await agentRunner.run(agent, 'Send the Q1 results to the board')).state;
  const decided = await decideInterruptions(state, {
    client,
    reviewers: REVIEWERS,
    toAgent,
    onSent: (named) => {
      const context = named._context.context as unknown as Record<string, object>;
      save(named.toString(), Object.values(context[INTENT_IDS_KEY] ?? {}));
    },
  });
  const result = await agentRunner.run(agent, decided);
  return String(result.finalOutput);
}

const runs: Record<AgentFramework, () => Promise<string>> = {
  langgraph: runLangGraph,
  ai: runAiSdk,
  'openai-agents': runOpenAiAgents,
};

const seen = await runs[framework]();
report({ sent, seen });
