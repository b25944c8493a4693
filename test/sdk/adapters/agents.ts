import { Annotation, MemorySaver, StateGraph } from '@langchain/langgraph';
import {
  Agent,
  tool as agentTool,
  type Model,
  type ModelRequest,
  type ModelResponse,
  Runner,
  Usage,
} from '@openai/agents-core';
import { tool as aiTool, type LanguageModel } from 'ai';
import { MockLanguageModelV3 } from 'ai/test';
import { z } from 'zod';
import { ApprovalRejectedError } from '../../../sdk/src/index.js';
import { type RequireApprovalOptions, requireApproval } from '../../../sdk/src/langgraph/index.js';

/**
 * The agents the adapter tests drive, one per framework, each with the real framework package
 * and a scripted model (no network, no LLM): the model calls `sendEmail`, a tool that needs
 * approval, and once it has the tool's result answers with it. The unit tests (scripted API) and
 * the end-to-end tests (a real local stack, agent processes killed and restarted) share them.
 */

/** The tool call every adapter test makes. */
export interface Email {
  to: string;
  subject: string;
}

export const EMAIL: Email = { to: 'board@company.com', subject: 'Q1 results' };

// The Vercel AI SDK.

const usage = {
  inputTokens: { total: 10, noCache: 10, cacheRead: undefined, cacheWrite: undefined },
  outputTokens: { total: 5, text: 5, reasoning: undefined },
};

/**
 * A model that calls sendEmail with `email`, and once the call's result is in its prompt answers
 * with a line of text: it reads only its prompt, as a model served elsewhere would, so a process
 * that restarts can use a new one.
 */
export function scriptedAiModel(email: Email = EMAIL): MockLanguageModelV3 {
  return new MockLanguageModelV3({
    doGenerate: async ({ prompt }) => {
      const answered = prompt.some(
        (message) =>
          message.role === 'tool' && message.content.some((part) => part.type === 'tool-result'),
      );
      if (!answered) {
        return {
          content: [
            {
              type: 'tool-call',
              toolCallId: 'call-1',
              toolName: 'sendEmail',
              input: JSON.stringify(email),
            },
          ],
          finishReason: { unified: 'tool-calls', raw: 'tool_calls' },
          usage,
          warnings: [],
        };
      }
      return {
        content: [{ type: 'text', text: 'Done.' }],
        finishReason: { unified: 'stop', raw: 'stop' },
        usage,
        warnings: [],
      };
    },
  });
}

/** The AI SDK's tools: sendEmail needs approval; `sent` records what it sent. */
export function aiEmailTools(sent: Email[]) {
  return {
    sendEmail: aiTool({
      description: 'Sends an email',
      inputSchema: z.object({ to: z.string(), subject: z.string() }),
      needsApproval: true,
      execute: async (email: Email) => {
        sent.push(email);
        return `sent to ${email.to}: ${email.subject}`;
      },
    }),
  };
}

/** What the AI SDK gave the model as the tool's result in its last call. */
export function aiToolResultSeen(model: LanguageModel): unknown {
  const calls = (model as MockLanguageModelV3).doGenerateCalls;
  const prompt = calls.at(-1)?.prompt ?? [];
  return prompt
    .filter((message) => message.role === 'tool')
    .flatMap((message) => message.content)
    .find((part) => part.type === 'tool-result')?.output;
}

// The OpenAI Agents SDK.

/** Calls sendEmail first; once the tool's output is in its input, answers with that output. */
export class ScriptedAgentModel implements Model {
  readonly requests: ModelRequest[] = [];

  constructor(readonly email: Email = EMAIL) {}

  async getResponse(request: ModelRequest): Promise<ModelResponse> {
    this.requests.push(request);
    const toolOutput = toolOutputSeen(request);
    return {
      usage: new Usage(),
      output:
        toolOutput === undefined
          ? [
              {
                type: 'function_call',
                callId: 'call-1',
                name: 'sendEmail',
                arguments: JSON.stringify(this.email),
                status: 'completed',
              },
            ]
          : [
              {
                type: 'message',
                role: 'assistant',
                status: 'completed',
                content: [{ type: 'output_text', text: `Tool said: ${toolOutput}` }],
              },
            ],
    };
  }

  // biome-ignore lint/correctness/useYield: the tests run without streaming.
  async *getStreamedResponse(): AsyncIterable<never> {
    throw new Error('not scripted');
  }
}

/** The text of the function call's output in a model request, if there is one. */
function toolOutputSeen(request: ModelRequest): string | undefined {
  if (typeof request.input === 'string') return undefined;
  for (const item of request.input) {
    if (item.type !== 'function_call_result') continue;
    const output = item.output;
    if (typeof output === 'string') return output;
    if ('text' in output) return output.text;
    return JSON.stringify(output);
  }
  return undefined;
}

/** An agent whose sendEmail tool needs approval; `sent` records what it sent. */
export function emailAgent(model: ScriptedAgentModel, sent: Email[]) {
  return new Agent({
    name: 'Mailer',
    instructions: 'Send what you are asked to send.',
    model,
    tools: [
      agentTool({
        name: 'sendEmail',
        description: 'Sends an email',
        parameters: z.object({ to: z.string(), subject: z.string() }),
        needsApproval: true,
        execute: async (email: Email) => {
          sent.push(email);
          return `sent to ${email.to}: ${email.subject}`;
        },
      }),
    ],
  });
}

export const agentRunner = new Runner({ tracingDisabled: true });

// LangGraph.js.

const EmailState = Annotation.Root({
  email: Annotation<Email>(),
  result: Annotation<string>(),
});

/** A graph whose one node sends an email once people approve it; `sent` records the sends. */
export function emailGraph(
  checkpointer: MemorySaver,
  sent: Email[],
  approval: Omit<RequireApprovalOptions, 'name'> = {},
) {
  return new StateGraph(EmailState)
    .addNode('send', (state) => {
      try {
        const email = requireApproval(state.email, { name: 'sendEmail', ...approval });
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

/** The checkpointer's saved state as JSON, as a file or a database row would keep it. */
export function savedCheckpoints(saver: MemorySaver): string {
  return JSON.stringify({ storage: saver.storage, writes: saver.writes }, (_key, value) =>
    value instanceof Uint8Array ? { bytes: Buffer.from(value).toString('base64') } : value,
  );
}

/** A checkpointer holding what {@link savedCheckpoints} saved. */
export function restoredCheckpoints(text: string): MemorySaver {
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
