import { WaitTimeoutError } from './errors.js';
import {
  backoffDelay,
  defaultSleep,
  type FetchFunction,
  HttpTransport,
  isTransient,
  retryAfterMs,
  type SleepFunction,
} from './http.js';
import { type JsonWebKeySet, JWKS_PATH } from './signatures.js';
import type {
  ApiKey,
  BulkDecisionItem,
  BulkDecisionResponse,
  CreatedKey,
  CreateIntentRequest,
  CreateKeyRequest,
  DecisionRequest,
  EventsResponse,
  HealthResponse,
  Intent,
  ListIntentsQuery,
  ListIntentsResponse,
  ListKeysResponse,
  ListPoliciesResponse,
  ListReviewerProfilesResponse,
  ListTeamsResponse,
  OperatorPolicy,
  PolicyDryRunRequest,
  PolicyDryRunResponse,
  PutReviewerProfileRequest,
  PutTeamRequest,
  ReviewerProfile,
  StoredPolicy,
  Team,
} from './types.js';
import { SDK_VERSION } from './version.js';
import {
  UNREACHABLE,
  WAIT_REFRESH_MS,
  type WaitSocketConstructor,
  waitOverSocket,
} from './wait-channel.js';

export interface CountersignClientOptions {
  /** Where the API lives, e.g. `http://127.0.0.1:4700` or an API Gateway stage URL. */
  baseUrl: string;
  /** An API key (`csk_…`). Sent only in the Authorization header, never shown in errors. */
  apiKey: string;
  /**
   * The `fetch` to call. Default: the global `fetch` (Node 18+).
   * @default globalThis.fetch
   */
  fetch?: FetchFunction;
  /**
   * How the client waits between retries; inject one for fast, deterministic tests.
   * @default a `setTimeout` that rejects on abort
   */
  sleep?: SleepFunction;
  /** A product token put in front of the SDK's own User-Agent, e.g. `my-agent/1.2`. */
  userAgent?: string;
  /**
   * The longest one HTTP call may take. Long polls get this on top of the time they ask the
   * server to hold.
   * @default 30000
   */
  requestTimeoutMs?: number;
  /**
   * How many times a call that is safe to repeat (reads, creating an intent, replacing a team,
   * revoking a key) is retried after a network error, 408, 429 or 5xx. `waitFor` does not use
   * this: it retries until its own `timeoutMs`.
   * @default 3
   */
  maxRetries?: number;
  /**
   * Makes the Idempotency-Key of `sendIntent`/`createIntent` when the caller gives none.
   * @default crypto.randomUUID
   */
  generateIdempotencyKey?: () => string;
  /**
   * The WebSocket class `waitFor` uses for the wait channel, where the API has one; `false`
   * long-polls always. Node 20 has no global WebSocket: pass one (the `ws` package's) to use
   * the channel there.
   * @default globalThis.WebSocket where it exists (Node 22+, browsers, Deno, Bun), else none
   */
  webSocket?: WaitSocketConstructor | false;
}

/** Per-call options of every method. */
export interface RequestOptions {
  /** Aborting rejects the call with the signal's reason, even mid-request or mid-backoff. */
  signal?: AbortSignal;
}

export interface CreateIntentOptions extends RequestOptions {
  /**
   * Deduplicates the create on the server: the same key with the same body returns the first
   * intent; with another body it is 409 `idempotency_conflict`. Keys are scoped to the calling
   * principal and kept 24 hours. Pass your own to make a create safe across process restarts.
   * @default a fresh random UUID per call, reused by that call's retries
   */
  idempotencyKey?: string;
}

export interface WaitForOptions extends RequestOptions {
  /**
   * Stop waiting after this many milliseconds with a {@link WaitTimeoutError}. The intent is
   * not touched and may still be decided. Default: wait until the intent leaves `pending`,
   * which the policy's timeout guarantees eventually.
   */
  timeoutMs?: number;
  /**
   * How long each long poll asks the server to hold, in seconds, 1 to 25.
   * @default 20
   */
  pollSeconds?: number;
}

const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_RETRIES = 3;
const DEFAULT_POLL_SECONDS = 20;
const MIN_POLL_SECONDS = 1;
const MAX_POLL_SECONDS = 25;
/**
 * A long poll should hold until its timeout; one that answers `pending` sooner (a proxy, a
 * misbehaving server) must not turn `waitFor` into a tight loop, so polls start at most once a
 * second.
 */
const MIN_POLL_INTERVAL_MS = 1_000;
/** `waitFor` may end its last long poll this much after `timeoutMs`, and no more. */
const WAIT_OVERSHOOT_MS = 1_000;
/** The response header of `GET /v1/intents/{id}` that names the wait channel. */
const WAIT_CHANNEL_HEADER = 'countersign-wait-url';

/**
 * A client for the Countersign API v1: send an intent, wait for people to approve or reject it,
 * and (for reviewers and operators) decide, list, and manage keys and teams.
 *
 * Every method returns the contract's JSON unchanged (snake_case) and throws a
 * {@link CountersignError} for any non-2xx answer or network failure.
 *
 * @example
 * ```ts
 * import { CountersignClient } from '@countersign/sdk';
 *
 * const client = new CountersignClient({ baseUrl, apiKey });
 * const id = await client.sendIntent({ intent_type: 'intent.report.review_approval.v1',
 *   to_agent: 'agent://myorg/production/report-generator',
 *   payload: { report: 'Q1 Financial Summary', pii_detected: false, reviewer: 'cfo@company.com' } });
 * const result = await client.waitFor(id);
 * if (result.status === 'approved') sendTheReport();
 * ```
 */
export class CountersignClient {
  readonly #http: HttpTransport;
  readonly #generateIdempotencyKey: () => string;
  readonly #webSocket: WaitSocketConstructor | undefined;
  readonly #baseUrl: string;
  readonly #apiKey: string;

  constructor(options: CountersignClientOptions) {
    // Fail here, with the reason, rather than on the first call with a 401 or a TypeError.
    if (!isAbsoluteUrl(options.baseUrl)) {
      throw new TypeError(
        `CountersignClient: baseUrl must be an absolute http(s) URL, got ${JSON.stringify(options.baseUrl)}.`,
      );
    }
    if (typeof options.apiKey !== 'string' || options.apiKey.trim() === '') {
      throw new TypeError('CountersignClient: apiKey is required.');
    }
    const fetchFunction = options.fetch ?? globalFetch();
    const sdkAgent = `countersign-sdk-typescript/${SDK_VERSION}`;
    this.#http = new HttpTransport({
      baseUrl: options.baseUrl.replace(/\/+$/, ''),
      apiKey: options.apiKey,
      fetch: fetchFunction,
      sleep: options.sleep ?? defaultSleep,
      userAgent: options.userAgent ? `${options.userAgent} ${sdkAgent}` : sdkAgent,
      requestTimeoutMs: options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
      maxRetries: options.maxRetries ?? DEFAULT_MAX_RETRIES,
    });
    this.#generateIdempotencyKey = options.generateIdempotencyKey ?? randomUuid;
    this.#webSocket =
      options.webSocket === false ? undefined : (options.webSocket ?? globalWebSocket());
    this.#baseUrl = options.baseUrl;
    this.#apiKey = options.apiKey;
  }

  /**
   * Creates an intent and returns its id. Always sends an Idempotency-Key, so network errors,
   * 429 and 5xx are retried with backoff without ever creating the intent twice.
   *
   * @example
   * ```ts
   * const id = await client.sendIntent({
   *   intent_type: 'intent.deploy.production.v1',
   *   to_agent: 'agent://myorg/production/deployer',
   *   summary: 'Deploy build 4711 to production',
   *   payload: { build: 4711 },
   *   reviewers: ['team:release'],
   *   policy: { timeout: { after: '2h', action: 'reject' }, required_approvals: 2 },
   * });
   * ```
   */
  async sendIntent(
    request: CreateIntentRequest,
    options: CreateIntentOptions = {},
  ): Promise<string> {
    return (await this.createIntent(request, options)).id;
  }

  /**
   * Like {@link CountersignClient.sendIntent}, but returns the whole intent (its resolved
   * policy, recipients and deadline).
   *
   * @example
   * ```ts
   * const intent = await client.createIntent(request, { idempotencyKey: `deploy-${buildId}` });
   * console.log(intent.recipients, intent.deadline_at);
   * ```
   */
  async createIntent(
    request: CreateIntentRequest,
    options: CreateIntentOptions = {},
  ): Promise<Intent> {
    // One key for every attempt of this call: that is what makes the retries safe.
    const idempotencyKey = options.idempotencyKey ?? this.#generateIdempotencyKey();
    return this.#http.request<Intent>({
      method: 'POST',
      path: '/v1/intents',
      body: request,
      headers: { 'Idempotency-Key': idempotencyKey },
      signal: options.signal,
      retry: true,
    });
  }

  /**
   * The intent as it is now. 404 (`not_found`) where the caller may not see it.
   *
   * @example
   * ```ts
   * const intent = await client.getIntent(id);
   * ```
   */
  async getIntent(id: string, options: RequestOptions = {}): Promise<Intent> {
    return this.#http.request<Intent>({
      method: 'GET',
      path: intentPath(id),
      signal: options.signal,
      retry: true,
    });
  }

  /**
   * One page of intents, newest first. An agent sees its own intents; `reviewer: 'me'` lists
   * what the calling reviewer may decide now.
   *
   * @example
   * ```ts
   * const { items, next_cursor } = await client.listIntents({ status: 'pending', reviewer: 'me' });
   * ```
   */
  async listIntents(
    query: ListIntentsQuery = {},
    options: RequestOptions = {},
  ): Promise<ListIntentsResponse> {
    return this.#http.request<ListIntentsResponse>({
      method: 'GET',
      path: '/v1/intents',
      query: {
        status: query.status,
        reviewer: query.reviewer,
        limit: query.limit,
        cursor: query.cursor,
      },
      signal: options.signal,
      retry: true,
    });
  }

  /**
   * Every intent matching `query`, following `next_cursor` page by page (`limit` sets the page
   * size). Pages are fetched as the loop asks for them.
   *
   * @example
   * ```ts
   * for await (const intent of client.iterateIntents({ status: 'pending' })) {
   *   console.log(intent.id, intent.summary);
   * }
   * ```
   */
  async *iterateIntents(
    query: Omit<ListIntentsQuery, 'cursor'> = {},
    options: RequestOptions = {},
  ): AsyncGenerator<Intent, void, undefined> {
    let cursor: string | undefined;
    do {
      const page = await this.listIntents({ ...query, cursor }, options);
      yield* page.items;
      cursor = page.next_cursor ?? undefined;
    } while (cursor !== undefined);
  }

  /**
   * Waits until the intent is no longer `pending` and returns it: `approved`, `rejected`,
   * `timed_out` or `cancelled`.
   *
   * It reads the intent once; where the API names a wait channel (`Countersign-Wait-Url`) and a
   * WebSocket class is at hand (see `webSocket`), it subscribes there and is told of the
   * decision, else it long-polls `GET /v1/intents/{id}/wait`. Either way it keeps waiting
   * through network errors, dropped connections, 408, 429, 5xx and server restarts, backing off
   * from 250 ms to 5 s with jitter (reset after each answer), and finds a decision made while
   * it was disconnected. Other 4xx (401, 403, 404) are permanent and thrown at once.
   *
   * @throws {@link WaitTimeoutError} when `timeoutMs` passes first (at most about a second late).
   * @throws the signal's reason when `signal` aborts.
   *
   * @example
   * ```ts
   * const result = await client.waitFor(id, { timeoutMs: 10 * 60_000 });
   * if (result.status === 'approved') {
   *   await sendTheReport();
   * } else {
   *   console.log(`not sent: ${result.status}`, result.decision?.comment);
   * }
   * ```
   */
  async waitFor(id: string, options: WaitForOptions = {}): Promise<Intent> {
    const { signal, timeoutMs } = options;
    const pollSeconds = clamp(
      Math.round(options.pollSeconds ?? DEFAULT_POLL_SECONDS),
      MIN_POLL_SECONDS,
      MAX_POLL_SECONDS,
    );
    const deadline = timeoutMs === undefined ? undefined : Date.now() + timeoutMs;
    const remaining = () =>
      deadline === undefined ? Number.POSITIVE_INFINITY : deadline - Date.now();
    let lastIntent: Intent | undefined;
    let lastFailure: unknown;
    let failures = 0;

    // The wait channel where the API names one. When it stays unreachable, the intent is read
    // again: an API that answers while its channel does not (a proxy refusing WebSockets) leaves
    // the waiting to the long poll below; one that does not answer either (a restart) is waited
    // for on the channel again.
    const WebSocket = this.#webSocket;
    let waitUrl: string | undefined;
    while (WebSocket) {
      const found = await this.#readForWait(id, signal, remaining());
      if (found.intent) {
        if (found.intent.status !== 'pending') return found.intent;
        lastIntent = found.intent;
        if (waitUrl !== undefined || found.waitUrl === undefined) break;
        waitUrl = found.waitUrl;
      } else if (waitUrl === undefined) {
        break;
      }
      const outcome = await waitOverSocket({
        url: waitUrl,
        apiKey: this.#apiKey,
        intentId: id,
        WebSocket,
        sleep: (ms, sleepSignal) => this.#http.sleep(ms, sleepSignal),
        signal,
        timeoutMs,
        deadline,
        refreshMs: WAIT_REFRESH_MS,
        replyTimeoutMs: this.#http.requestTimeoutMs,
        lastIntent,
      });
      if (outcome !== UNREACHABLE) return outcome;
    }

    for (;;) {
      signal?.throwIfAborted();
      if (remaining() <= 0) {
        throw new WaitTimeoutError(id, timeoutMs ?? 0, lastIntent, lastFailure);
      }
      // Round up: the poll may end up to a second after the deadline, never earlier than it.
      const holdSeconds = Math.min(
        pollSeconds,
        Math.max(MIN_POLL_SECONDS, Math.ceil(remaining() / 1000)),
      );
      const pollStartedAt = Date.now();
      try {
        const intent = await this.#http.send<Intent>({
          method: 'GET',
          path: `${intentPath(id)}/wait`,
          query: { timeout: holdSeconds },
          signal,
          retry: false,
          // A server that holds too long must not carry the wait past its deadline either.
          timeoutMs: Math.min(
            holdSeconds * 1000 + this.#http.requestTimeoutMs,
            remaining() + WAIT_OVERSHOOT_MS,
          ),
        });
        failures = 0;
        lastFailure = undefined;
        lastIntent = intent;
        if (intent.status !== 'pending') return intent;
        const early = MIN_POLL_INTERVAL_MS - (Date.now() - pollStartedAt);
        if (early > 0) await this.#http.sleep(Math.min(early, Math.max(0, remaining())), signal);
      } catch (error) {
        if (signal?.aborted) throw signal.reason;
        if (!isTransient(error)) throw error;
        failures += 1;
        lastFailure = error;
        const delay = backoffDelay(failures, retryAfterMs(error));
        await this.#http.sleep(Math.min(delay, Math.max(0, remaining())), signal);
      }
    }
  }

  /**
   * The intent, and the wait channel the API names with it if it is one this client may use:
   * `wss:`, or `ws:` on the API's own host name when the API itself is plain `http:` (so the key
   * never goes in clear, nor in clear to another host, on the word of a header). A read that keeps failing
   * leaves the waiting to the long poll, which retries until the deadline.
   */
  async #readForWait(
    id: string,
    signal: AbortSignal | undefined,
    remainingMs: number,
  ): Promise<{ intent?: Intent; waitUrl?: string }> {
    let named: string | null = null;
    try {
      const intent = await this.#http.request<Intent>({
        method: 'GET',
        path: intentPath(id),
        signal,
        retry: true,
        timeoutMs: Math.min(this.#http.requestTimeoutMs, remainingMs + WAIT_OVERSHOOT_MS),
        onHeaders: (headers) => {
          named = headers.get(WAIT_CHANNEL_HEADER);
        },
      });
      const waitUrl = usableWaitUrl(named, this.#baseUrl);
      return waitUrl ? { intent, waitUrl } : { intent };
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      if (!isTransient(error)) throw error;
      return {};
    }
  }

  /**
   * Records the calling reviewer's vote. Returns the intent, which stays `pending` while a
   * quorum or a later step still needs approvals. Not retried: a repeated vote would be 409.
   *
   * @example
   * ```ts
   * await client.decide(id, { outcome: 'reject', comment: 'Contains PII', channel: 'cli' });
   * ```
   */
  async decide(
    id: string,
    decision: DecisionRequest,
    options: RequestOptions = {},
  ): Promise<Intent> {
    return this.#http.request<Intent>({
      method: 'POST',
      path: `${intentPath(id)}/decision`,
      body: decision,
      signal: options.signal,
      retry: false,
    });
  }

  /**
   * Decides up to 100 intents in one request (`POST /v1/decisions`). Each result is what
   * `decide` would have answered for that intent alone, in the order asked: check each `status`
   * (200 with the intent, else the error). Only a request refused as a whole (more than 100
   * items, an intent named twice, a bad key) throws. Not retried: a repeat would be 409s.
   *
   * @example
   * ```ts
   * const { results } = await client.decideMany([
   *   { intent_id: a, outcome: 'approve' },
   *   { intent_id: b, outcome: 'reject', comment: 'Wrong vendor' },
   * ]);
   * const failed = results.filter((result) => result.status !== 200);
   * ```
   */
  async decideMany(
    decisions: BulkDecisionItem[],
    options: RequestOptions = {},
  ): Promise<BulkDecisionResponse> {
    return this.#http.request<BulkDecisionResponse>({
      method: 'POST',
      path: '/v1/decisions',
      body: { decisions },
      signal: options.signal,
      retry: false,
    });
  }

  /**
   * Approves, as the calling reviewer.
   *
   * @example
   * ```ts
   * await client.approve(id, 'Looks right');
   * ```
   */
  async approve(id: string, comment?: string, options: RequestOptions = {}): Promise<Intent> {
    return this.decide(
      id,
      comment === undefined ? { outcome: 'approve' } : { outcome: 'approve', comment },
      options,
    );
  }

  /**
   * Rejects, as the calling reviewer. A rejection says why, so the comment is required.
   *
   * @example
   * ```ts
   * await client.reject(id, 'The report still names customers');
   * ```
   */
  async reject(id: string, comment: string, options: RequestOptions = {}): Promise<Intent> {
    return this.decide(id, { outcome: 'reject', comment }, options);
  }

  /**
   * Cancels a pending intent (its creating agent, or an admin). 409 `not_pending` once decided,
   * with the decided intent on the error. Not retried: a repeat would be that 409.
   *
   * @example
   * ```ts
   * await client.cancel(id, 'The user withdrew the request');
   * ```
   */
  async cancel(id: string, reason?: string, options: RequestOptions = {}): Promise<Intent> {
    return this.#http.request<Intent>({
      method: 'POST',
      path: `${intentPath(id)}/cancel`,
      body: reason === undefined ? {} : { reason },
      signal: options.signal,
      retry: false,
    });
  }

  /**
   * The intent's hash-chained audit trail, oldest first.
   *
   * @example
   * ```ts
   * const { items } = await client.events(id);
   * for (const event of items) console.log(event.seq, event.type, event.actor);
   * ```
   */
  async events(id: string, options: RequestOptions = {}): Promise<EventsResponse> {
    return this.#http.request<EventsResponse>({
      method: 'GET',
      path: `${intentPath(id)}/events`,
      signal: options.signal,
      retry: true,
    });
  }

  /**
   * The deployment's public keys (`GET /.well-known/jwks.json`, no key needed), which verify
   * receipts (`verifyReceipt`) and callbacks (`verifyCallback`). Cache them.
   */
  async jwks(options: RequestOptions = {}): Promise<JsonWebKeySet> {
    return this.#http.request<JsonWebKeySet>({
      method: 'GET',
      path: JWKS_PATH,
      signal: options.signal,
      retry: true,
    });
  }

  /**
   * Creates an API key (admin). The returned `key` is shown this once. Not retried: a retry
   * could create a second key.
   *
   * @example
   * ```ts
   * const { key } = await admin.createKey({ role: 'reviewer', principal: 'cfo@company.com' });
   * ```
   */
  async createKey(request: CreateKeyRequest, options: RequestOptions = {}): Promise<CreatedKey> {
    return this.#http.request<CreatedKey>({
      method: 'POST',
      path: '/v1/keys',
      body: request,
      signal: options.signal,
      retry: false,
    });
  }

  /** Every key's metadata (admin); never the keys themselves. */
  async listKeys(options: RequestOptions = {}): Promise<ListKeysResponse> {
    return this.#http.request<ListKeysResponse>({
      method: 'GET',
      path: '/v1/keys',
      signal: options.signal,
      retry: true,
    });
  }

  /** Revokes a key (admin) and returns its record. Revoking twice returns the same record. */
  async revokeKey(id: string, options: RequestOptions = {}): Promise<ApiKey> {
    return this.#http.request<ApiKey>({
      method: 'DELETE',
      path: `/v1/keys/${encodeURIComponent(id)}`,
      signal: options.signal,
      retry: true,
    });
  }

  /**
   * Creates or replaces a team (admin).
   *
   * @example
   * ```ts
   * await admin.putTeam({ name: 'finance', members: ['a@x.com', 'b@x.com'], slack_channel: 'C0123' });
   * ```
   */
  async putTeam(team: PutTeamRequest, options: RequestOptions = {}): Promise<Team> {
    return this.#http.request<Team>({
      method: 'POST',
      path: '/v1/teams',
      body: team,
      signal: options.signal,
      // Replacing a team with the same body twice leaves the same team.
      retry: true,
    });
  }

  /** Every team (admin). */
  async listTeams(options: RequestOptions = {}): Promise<ListTeamsResponse> {
    return this.#http.request<ListTeamsResponse>({
      method: 'GET',
      path: '/v1/teams',
      signal: options.signal,
      retry: true,
    });
  }

  /** Deletes a team (admin) and returns it. Not retried: a repeat would be 404. */
  async deleteTeam(name: string, options: RequestOptions = {}): Promise<Team> {
    return this.#http.request<Team>({
      method: 'DELETE',
      path: `/v1/teams/${encodeURIComponent(name)}`,
      signal: options.signal,
      retry: false,
    });
  }

  /**
   * Sets a reviewer's profile (an admin, or the reviewer's own key): time zone, working hours,
   * out of office. Fields left out keep their stored value; `null` clears one.
   *
   * @example
   * ```ts
   * await reviewer.putReviewerProfile('ada@company.com', {
   *   time_zone: 'Europe/Berlin',
   *   working_hours: { mon: ['09:00-17:30'], tue: ['09:00-17:30'] },
   * });
   * ```
   */
  async putReviewerProfile(
    email: string,
    profile: PutReviewerProfileRequest,
    options: RequestOptions = {},
  ): Promise<ReviewerProfile> {
    return this.#http.request<ReviewerProfile>({
      method: 'PUT',
      path: `/v1/reviewers/${encodeURIComponent(email)}`,
      body: profile,
      signal: options.signal,
      // The same body twice leaves the same profile.
      retry: true,
    });
  }

  /** A reviewer's profile (an admin, or the reviewer); defaults for one never set. */
  async getReviewerProfile(email: string, options: RequestOptions = {}): Promise<ReviewerProfile> {
    return this.#http.request<ReviewerProfile>({
      method: 'GET',
      path: `/v1/reviewers/${encodeURIComponent(email)}`,
      signal: options.signal,
      retry: true,
    });
  }

  /** Every reviewer profile (admin); `outOfOffice: true` only those away now. */
  async listReviewerProfiles(
    query: { outOfOffice?: boolean } = {},
    options: RequestOptions = {},
  ): Promise<ListReviewerProfilesResponse> {
    return this.#http.request<ListReviewerProfilesResponse>({
      method: 'GET',
      path: '/v1/reviewers',
      query: query.outOfOffice === undefined ? {} : { out_of_office: String(query.outOfOffice) },
      signal: options.signal,
      retry: true,
    });
  }

  /**
   * Creates or replaces the operator policy of an intent type, a prefix (`intent.payment.*`) or
   * `*` (admin). Writing the same policy again only bumps its version, so it is retried.
   *
   * @example
   * ```ts
   * await admin.putPolicy('intent.payment.*', {
   *   reviewers: ['cfo@company.com'],
   *   allow_request_reviewers: { domains: ['company.com'] },
   *   rules: [{ name: 'small', effect: 'approve', when: [{ pointer: '/amount', op: 'lt', value: 100 }] }],
   * });
   * ```
   */
  async putPolicy(
    intentType: string,
    policy: OperatorPolicy,
    options: RequestOptions = {},
  ): Promise<StoredPolicy> {
    return this.#http.request<StoredPolicy>({
      method: 'PUT',
      path: `/v1/policies/${encodeURIComponent(intentType)}`,
      body: policy,
      signal: options.signal,
      retry: true,
    });
  }

  /** The stored policy of a pattern (admin); 404 when none is stored. */
  async getPolicy(intentType: string, options: RequestOptions = {}): Promise<StoredPolicy> {
    return this.#http.request<StoredPolicy>({
      method: 'GET',
      path: `/v1/policies/${encodeURIComponent(intentType)}`,
      signal: options.signal,
      retry: true,
    });
  }

  /** Every stored policy, and the patterns the deployment's configuration sets (admin). */
  async listPolicies(options: RequestOptions = {}): Promise<ListPoliciesResponse> {
    return this.#http.request<ListPoliciesResponse>({
      method: 'GET',
      path: '/v1/policies',
      signal: options.signal,
      retry: true,
    });
  }

  /** Deletes a stored policy (admin) and returns it. Not retried: a repeat would be 404. */
  async deletePolicy(intentType: string, options: RequestOptions = {}): Promise<StoredPolicy> {
    return this.#http.request<StoredPolicy>({
      method: 'DELETE',
      path: `/v1/policies/${encodeURIComponent(intentType)}`,
      signal: options.signal,
      retry: false,
    });
  }

  /** What a policy's rules would have decided for recent intents of a type (admin; reads only). */
  async dryRunPolicy(
    request: PolicyDryRunRequest,
    options: RequestOptions = {},
  ): Promise<PolicyDryRunResponse> {
    return this.#http.request<PolicyDryRunResponse>({
      method: 'POST',
      path: '/v1/policies/dry-run',
      body: request,
      signal: options.signal,
      retry: true,
    });
  }

  /** `{ ok: true }` when the service is up. Sends no API key. */
  async health(options: RequestOptions = {}): Promise<HealthResponse> {
    return this.#http.request<HealthResponse>({
      method: 'GET',
      path: '/healthz',
      signal: options.signal,
      retry: true,
      authenticate: false,
    });
  }
}

function intentPath(id: string): string {
  return `/v1/intents/${encodeURIComponent(id)}`;
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}

function isAbsoluteUrl(value: unknown): boolean {
  if (typeof value !== 'string') return false;
  try {
    const { protocol } = new URL(value);
    return protocol === 'http:' || protocol === 'https:';
  } catch {
    return false;
  }
}

function globalFetch(): FetchFunction {
  if (typeof globalThis.fetch !== 'function') {
    throw new TypeError(
      'CountersignClient: no global fetch (Node 18+ has one); pass options.fetch.',
    );
  }
  // Looked up per call, so that code which replaces the global fetch later is still honoured.
  return (input, init) => globalThis.fetch(input, init);
}

/**
 * `crypto.randomUUID` is global from Node 19 (and in browsers); Node 18 has it only behind a
 * flag. An idempotency key needs uniqueness, not secrecy, so the fallback is a v4-shaped id
 * from `Math.random`.
 */
function randomUuid(): string {
  const webCrypto = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto;
  if (typeof webCrypto?.randomUUID === 'function') return webCrypto.randomUUID();
  return 'xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx'.replace(/[xy]/g, (char) => {
    const nibble = Math.floor(Math.random() * 16);
    return (char === 'x' ? nibble : (nibble & 0x3) | 0x8).toString(16);
  });
}

/** The platform's WebSocket (Node 22+, browsers, Deno, Bun); Node 20 has none. */
function globalWebSocket(): WaitSocketConstructor | undefined {
  const found = (globalThis as { WebSocket?: unknown }).WebSocket;
  return typeof found === 'function' ? (found as WaitSocketConstructor) : undefined;
}

/** The named wait channel, if the client may send its key there (see `#readForWait`). */
function usableWaitUrl(named: string | null, baseUrl: string): string | undefined {
  if (!named) return undefined;
  try {
    const url = new URL(named);
    const api = new URL(baseUrl);
    if (url.protocol === 'wss:') return url.href;
    if (url.protocol === 'ws:' && api.protocol === 'http:' && url.hostname === api.hostname) {
      return url.href;
    }
  } catch {
    // Not a URL: no channel.
  }
  return undefined;
}
