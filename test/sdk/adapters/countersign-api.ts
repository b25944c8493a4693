import { afterEach, beforeEach } from 'vitest';
import type { Intent, JsonObject } from '../../../sdk/src/index.js';
import { CountersignClient } from '../../../sdk/src/index.js';
import {
  type RecordedRequest,
  recordingSleep,
  ScriptedServer,
  sendError,
  sendJson,
} from '../scripted-server.js';

/**
 * A small in-memory Countersign API on the scripted HTTP server, for the framework adapters'
 * tests: creates (idempotent per `Idempotency-Key`, 409 for a key used with another body),
 * reads, long-polled waits that answer when a reviewer decides, and decisions by the reviewer
 * key. The adapters talk to it through the real SDK client and Node's fetch, as they would to
 * the service.
 */
export const AGENT_KEY = 'csk_test-agent';
export const REVIEWER_KEY = 'csk_test-reviewer';
export const REVIEWER = 'cfo@company.com';

/** A fresh API for each test of the calling file, stopped after it: `api()` is the current one. */
export function useCountersignApi(): () => CountersignApi {
  let current: CountersignApi | undefined;
  beforeEach(async () => {
    current = await CountersignApi.start();
  });
  afterEach(async () => {
    await current?.stop();
    current = undefined;
  });
  return () => {
    if (!current) throw new Error('No Countersign API outside a test.');
    return current;
  };
}

export interface CreatedIntent {
  id: string;
  /** The request body as sent. */
  text: string;
  body: {
    intent_type: string;
    to_agent: string;
    summary: string;
    payload: JsonObject;
    reviewers?: string[];
  };
  idempotencyKey: string;
}

export class CountersignApi {
  readonly created: CreatedIntent[] = [];
  readonly #intents = new Map<string, Intent>();
  readonly #byKey = new Map<string, string>();
  readonly #waiters = new Map<string, Array<() => void>>();
  /** Edits a reviewer makes before approving, by intent id (the web form's edited values). */
  readonly #edits = new Map<string, JsonObject>();
  #server!: ScriptedServer;

  static async start(): Promise<CountersignApi> {
    const api = new CountersignApi();
    api.#server = await ScriptedServer.start((request, response) => {
      api.#handle(request, response);
    });
    return api;
  }

  async stop(): Promise<void> {
    for (const wake of [...this.#waiters.values()].flat()) wake();
    await this.#server.stop();
  }

  /** A client with the agent's key; `sleep` is recorded so retries cost no time. */
  agentClient(): CountersignClient {
    return this.#client(AGENT_KEY);
  }

  /** A client with the reviewer's key, for the test to decide through the API. */
  reviewerClient(): CountersignClient {
    return this.#client(REVIEWER_KEY);
  }

  /** The intents created so far, oldest first. */
  intents(): Intent[] {
    return [...this.#intents.values()];
  }

  /** Forgets every `Idempotency-Key`, as the API does after 24 hours. */
  forgetIdempotencyKeys(): void {
    this.#byKey.clear();
  }

  /** The reviewer will approve `id` with these values changed. */
  editBeforeApproving(id: string, changes: JsonObject): void {
    this.#edits.set(id, changes);
  }

  #client(apiKey: string): CountersignClient {
    return new CountersignClient({
      baseUrl: this.#server.baseUrl,
      apiKey,
      sleep: recordingSleep().sleep,
    });
  }

  #handle(request: RecordedRequest, response: Parameters<typeof sendJson>[0]): void {
    const key = String(request.headers.authorization ?? '').replace(/^Bearer /, '');
    const match = /^\/v1\/intents(?:\/([^/]+))?(?:\/(wait|decision))?$/.exec(request.path);
    if (!match) {
      sendError(response, 404, 'not_found', 'No such route.');
      return;
    }
    const [, id, action] = match;
    if (request.method === 'POST' && !id) {
      if (key !== AGENT_KEY) {
        sendError(response, 403, 'forbidden', 'Agents create.');
        return;
      }
      const idempotencyKey = String(request.headers['idempotency-key'] ?? '');
      const existing = this.#byKey.get(idempotencyKey);
      if (existing && this.created.find((made) => made.id === existing)?.text !== request.body) {
        sendError(response, 409, 'idempotency_conflict', 'Key used with another body.');
        return;
      }
      if (existing) {
        sendJson(response, 200, this.#intents.get(existing));
        return;
      }
      const body = JSON.parse(request.body) as CreatedIntent['body'];
      const intent = newIntent(`int_${String(this.#intents.size + 1).padStart(4, '0')}`, body);
      this.created.push({ id: intent.id, body, text: request.body, idempotencyKey });
      this.#intents.set(intent.id, intent);
      this.#byKey.set(idempotencyKey, intent.id);
      sendJson(response, 201, intent);
      return;
    }
    const intent = id ? this.#intents.get(id) : undefined;
    if (!intent) {
      sendError(response, 404, 'not_found', 'Intent not found.');
      return;
    }
    if (request.method === 'GET' && !action) {
      sendJson(response, 200, intent);
      return;
    }
    if (request.method === 'GET' && action === 'wait') {
      if (intent.status !== 'pending') {
        sendJson(response, 200, intent);
        return;
      }
      const seconds = Number(request.query.get('timeout') ?? '20');
      const answer = (): void => {
        clearTimeout(timer);
        sendJson(response, 200, this.#intents.get(intent.id));
      };
      const timer = setTimeout(answer, seconds * 1000);
      this.#waiters.set(intent.id, [...(this.#waiters.get(intent.id) ?? []), answer]);
      return;
    }
    if (request.method === 'POST' && action === 'decision') {
      if (key !== REVIEWER_KEY) {
        sendError(response, 403, 'forbidden', 'Reviewers decide.');
        return;
      }
      if (intent.status !== 'pending') {
        sendError(response, 409, 'not_pending', 'Decided.');
        return;
      }
      const body = JSON.parse(request.body) as { outcome: 'approve' | 'reject'; comment?: string };
      const outcome = body.outcome === 'approve' ? 'approved' : 'rejected';
      const at = new Date().toISOString();
      const decided: Intent = {
        ...intent,
        status: outcome,
        decision: { outcome, by: REVIEWER, at, comment: body.comment ?? null, channel: 'api' },
        approved_payload:
          outcome === 'approved' ? { ...intent.payload, ...this.#edits.get(intent.id) } : null,
        updated_at: at,
        next_action_at: null,
      };
      this.#intents.set(intent.id, decided);
      for (const wake of this.#waiters.get(intent.id) ?? []) wake();
      this.#waiters.delete(intent.id);
      sendJson(response, 200, decided);
      return;
    }
    sendError(response, 405, 'method_not_allowed', 'No.');
  }
}

function newIntent(id: string, body: CreatedIntent['body']): Intent {
  const now = new Date().toISOString();
  return {
    id,
    intent_type: body.intent_type,
    to_agent: body.to_agent,
    from_agent: body.to_agent,
    summary: body.summary,
    payload: body.payload,
    status: 'pending',
    policy: {
      remind_after: [],
      escalate: [],
      timeout: { after: 28_800, action: 'reject' },
      required_approvals: 1,
      steps: null,
      channels: ['email'],
    },
    recipients: body.reviewers ?? [REVIEWER],
    approvals: [],
    decision: null,
    callback_url: null,
    step: 0,
    created_at: now,
    updated_at: now,
    deadline_at: now,
    next_action_at: now,
    event_count: 1,
    last_event_hash: 'a'.repeat(64),
  };
}
