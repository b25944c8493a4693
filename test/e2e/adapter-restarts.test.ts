import { type ChildProcess, spawn } from 'node:child_process';
import * as path from 'node:path';
import { MemorySaver } from '@langchain/langgraph';
import { generateText, type ModelMessage } from 'ai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decideToolApprovals } from '../../sdk/src/ai/index.js';
import { CountersignClient, type Intent, withApproval } from '../../sdk/src/index.js';
import { resumeApprovals, sendApprovals } from '../../sdk/src/langgraph/index.js';
import { decideInterruptions } from '../../sdk/src/openai-agents/index.js';
import {
  agentRunner,
  aiEmailTools,
  aiToolResultSeen,
  type Email,
  emailAgent,
  emailGraph,
  ScriptedAgentModel,
  scriptedAiModel,
} from '../sdk/adapters/agents.js';
import {
  newDataDir,
  removeDataDir,
  reviewerClients,
  type StackProcess,
  startStack,
  until,
} from './harness';

/**
 * The framework adapters and `withApproval` against a real local stack that is stopped and
 * started again while they wait, and agent processes killed with -9 while they wait and started
 * again from the state they saved. One stack and one restart serve every case: each agent starts
 * waiting, the agent processes are killed, the stack restarts on the same data, the killed
 * agents start again from their saved state; then each test decides its intent. An approved
 * tool runs exactly once with the model's arguments; a rejected one never runs and the model (or
 * the graph's node) reads the reviewer's reason; a restarted agent process waits on the intent it
 * sent before, and no second intent exists. (Python's `@require_approval` across a restart:
 * test/python/python-sdk.test.ts.)
 */
const ROOT = path.resolve(import.meta.dirname, '../..');
const REVIEWER = 'cfo@company.com';
const REVIEWERS = [REVIEWER];
const REASON = 'Not before the audit';

type Adapter = 'withApproval' | 'langgraph' | 'ai' | 'openai-agents';
type Framework = Exclude<Adapter, 'withApproval'>;
const ADAPTERS: Adapter[] = ['withApproval', 'langgraph', 'ai', 'openai-agents'];
const FRAMEWORKS: Framework[] = ['langgraph', 'ai', 'openai-agents'];

/** What a run ended with: the emails its tool sent, and what the model or node was told. */
interface RunOutcome {
  sent: Email[];
  seen: string;
}

const email = (toAgent: string): Email => ({ to: 'board@company.com', subject: toAgent });

/**
 * Runs one adapter's agent in this process until the tool call is decided and the run ends. The
 * model asks to send `email(toAgent)`; the intent goes to `toAgent`, which names the case.
 */
async function runInProcess(
  adapter: Adapter,
  client: CountersignClient,
  toAgent: string,
): Promise<RunOutcome> {
  const sent: Email[] = [];
  const options = { client, reviewers: REVIEWERS, toAgent };
  switch (adapter) {
    case 'withApproval': {
      const sendEmail = withApproval(
        async (message: Email) => {
          sent.push(message);
          return `sent to ${message.to}: ${message.subject}`;
        },
        { ...options, name: 'sendEmail' },
      );
      const seen = await sendEmail(email(toAgent)).catch((error: Error) => error.message);
      return { sent, seen };
    }
    case 'langgraph': {
      const graph = emailGraph(new MemorySaver(), sent, { reviewers: REVIEWERS, toAgent });
      const config = { configurable: { thread_id: toAgent } };
      await graph.invoke({ email: email(toAgent) }, config);
      await sendApprovals(graph, config, { client });
      const output = (await resumeApprovals(graph, config, { client })) as { result: string };
      return { sent, seen: output.result };
    }
    case 'ai': {
      const model = scriptedAiModel(email(toAgent));
      const tools = aiEmailTools(sent);
      const messages: ModelMessage[] = [{ role: 'user', content: 'Send the Q1 results' }];
      const first = await generateText({ model, tools, messages });
      const decided = await decideToolApprovals([...messages, ...first.response.messages], options);
      await generateText({ model, tools, messages: decided });
      const seen = aiToolResultSeen(model) as { value?: string; reason?: string };
      return { sent, seen: String(seen.value ?? seen.reason) };
    }
    case 'openai-agents': {
      const agent = emailAgent(new ScriptedAgentModel(email(toAgent)), sent);
      const first = await agentRunner.run(agent, 'Send the Q1 results');
      const result = await agentRunner.run(agent, await decideInterruptions(first.state, options));
      return { sent, seen: String(result.finalOutput) };
    }
  }
}

/** test/e2e/adapter-agent.ts as its own process, with the JSON lines it printed so far. */
class AgentProcess {
  readonly lines: Array<Record<string, unknown>> = [];
  output = '';
  readonly exited: Promise<number | null>;
  readonly #child: ChildProcess;

  constructor(framework: Framework, stateFile: string, toAgent: string, stack: StackProcess) {
    const inherited = Object.fromEntries(
      Object.entries(process.env).filter(([name]) => !name.startsWith('COUNTERSIGN_')),
    );
    this.#child = spawn(
      process.execPath,
      ['--import', 'tsx', 'test/e2e/adapter-agent.ts', framework, stateFile, toAgent],
      {
        cwd: ROOT,
        env: {
          ...inherited,
          COUNTERSIGN_URL: stack.url,
          COUNTERSIGN_API_KEY: stack.settings.api_keys.agent,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let pending = '';
    this.#child.stdout?.on('data', (chunk: Buffer) => {
      this.output += chunk.toString('utf8');
      pending += chunk.toString('utf8');
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) this.lines.push(JSON.parse(line) as Record<string, unknown>);
    });
    this.#child.stderr?.on('data', (chunk: Buffer) => {
      this.output += chunk.toString('utf8');
    });
    this.exited = new Promise((resolve) => this.#child.once('exit', (code) => resolve(code)));
  }

  /** The first printed line that has `key`, once there is one. */
  async line(key: string, timeoutMs = 90_000): Promise<Record<string, unknown>> {
    let exitCode: number | null | undefined;
    void this.exited.then((code) => {
      exitCode = code;
    });
    return await until(
      () => {
        const found = this.lines.find((line) => key in line);
        if (found) return found;
        if (exitCode !== undefined) {
          throw new Error(`the agent exited (${exitCode}) before "${key}":\n${this.output}`);
        }
        return undefined;
      },
      timeoutMs,
      `the agent process to print "${key}":\n${this.output}`,
    );
  }

  async kill(): Promise<void> {
    if (this.#child.exitCode === null && this.#child.signalCode === null) {
      this.#child.kill('SIGKILL');
    }
    await this.exited;
  }
}

let stack: StackProcess | undefined;
let dataDir: string | undefined;
let admin: CountersignClient;
const reviewer = reviewerClients(() => {
  if (!stack) throw new Error('no stack');
  return stack;
});
/** The in-process runs, by case (`<adapter>-approve`, `<adapter>-reject`). */
const runs = new Map<string, Promise<RunOutcome>>();
/** Every agent process started, to be killed at the end whatever happened. */
const processes: AgentProcess[] = [];
/** What each framework's agent process waited on before it was killed. */
const firstWaits = new Map<Framework, unknown>();
/** Each framework's agent process started again from the state the killed one saved. */
const restarted = new Map<Framework, AgentProcess>();

const toAgentOf = (name: string) => `agent://e2e/adapters/${name}`;

/** The intents sent to `toAgent`, as the API lists them. */
async function intentsTo(toAgent: string): Promise<Intent[]> {
  const found: Intent[] = [];
  for await (const intent of admin.iterateIntents({ limit: 100 })) {
    if (intent.to_agent === toAgent) found.push(intent);
  }
  return found;
}

async function theIntentOf(name: string): Promise<Intent> {
  const [intent, ...others] = await intentsTo(toAgentOf(name));
  expect(others).toEqual([]);
  if (!intent) throw new Error(`no intent for ${name}`);
  return intent;
}

beforeAll(async () => {
  dataDir = newDataDir();
  stack = await startStack(dataDir);
  const current = stack;
  const port = Number(new URL(current.url).port);
  admin = new CountersignClient({ baseUrl: current.url, apiKey: current.settings.api_keys.admin });
  const agentClient = new CountersignClient({
    baseUrl: current.url,
    apiKey: current.settings.api_keys.agent,
  });

  for (const adapter of ADAPTERS) {
    for (const outcome of ['approve', 'reject']) {
      const name = `${adapter}-${outcome}`;
      const run = runInProcess(adapter, agentClient, toAgentOf(name));
      run.catch(() => undefined); // awaited by its test; not an unhandled rejection meanwhile
      runs.set(name, run);
    }
  }
  const startAgent = (framework: Framework, on: StackProcess) => {
    const stateFile = path.join(on.dataDir, `${framework}.state`);
    const agent = new AgentProcess(framework, stateFile, toAgentOf(`${framework}-process`), on);
    processes.push(agent);
    return agent;
  };
  const firstLives = new Map(
    FRAMEWORKS.map((framework) => [framework, startAgent(framework, current)]),
  );
  for (const [framework, agent] of firstLives) {
    firstWaits.set(framework, (await agent.line('waiting')).waiting);
  }
  await until(
    async () => {
      const names = [...runs.keys()];
      const sent = await Promise.all(names.map(async (name) => intentsTo(toAgentOf(name))));
      return sent.every((intents) => intents.length === 1) ? true : undefined;
    },
    60_000,
    'every in-process agent to send its intent',
  );

  // The agent processes die, the whole stack restarts on the same data and port, and the agent
  // processes start again from the state they saved.
  await Promise.all([...firstLives.values()].map((agent) => agent.kill()));
  await current.stop();
  stack = await startStack(dataDir, port);
  for (const framework of FRAMEWORKS) restarted.set(framework, startAgent(framework, stack));
  await Promise.all([...restarted.values()].map((agent) => agent.line('waiting')));
}, 300_000);

afterAll(async () => {
  await Promise.all(processes.map((agent) => agent.kill()));
  await stack?.stop();
  if (dataDir) removeDataDir(dataDir);
});

describe('adapters waiting while the stack restarts', () => {
  it.each(ADAPTERS)('%s: approved after the restart, the tool runs once', async (adapter) => {
    const name = `${adapter}-approve`;
    const intent = await theIntentOf(name);
    await (await reviewer(REVIEWER)).approve(intent.id, 'Go ahead');
    const outcome = await runs.get(name);
    expect(outcome?.sent).toEqual([email(toAgentOf(name))]);
    expect(outcome?.seen).toContain(`sent to board@company.com: ${toAgentOf(name)}`);
    expect((await theIntentOf(name)).status).toBe('approved');
  });

  it.each(ADAPTERS)('%s: rejected after the restart, the tool never runs', async (adapter) => {
    const name = `${adapter}-reject`;
    const intent = await theIntentOf(name);
    await (await reviewer(REVIEWER)).reject(intent.id, REASON);
    const outcome = await runs.get(name);
    expect(outcome?.sent).toEqual([]);
    expect(outcome?.seen).toContain(`${REVIEWER} rejected sendEmail: ${REASON}`);
  });
});

describe('agent processes killed while waiting', () => {
  it.each(FRAMEWORKS)(
    '%s: started again from its saved state, waits on the same intent',
    async (framework) => {
      const second = restarted.get(framework);
      if (!second) throw new Error('no agent process');
      const intent = await theIntentOf(`${framework}-process`);
      expect(firstWaits.get(framework)).toEqual([intent.id]);
      expect(await second.line('waiting')).toEqual({ waiting: [intent.id], resumed: true });

      await (await reviewer(REVIEWER)).approve(intent.id, 'Go ahead');
      const done = await second.line('sent');
      const sent = [{ to: 'board@company.com', subject: 'Q1 results' }];
      expect(done.sent).toEqual(sent);
      expect(String(done.seen)).toContain('sent to board@company.com: Q1 results');
      expect(await second.exited).toBe(0);
      // One intent in all: the restarted process sent none.
      expect(await intentsTo(toAgentOf(`${framework}-process`))).toHaveLength(1);
    },
  );
});
