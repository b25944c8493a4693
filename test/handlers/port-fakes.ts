import { hashApiKey } from '../../lambdas/core/auth';
import type { InboxDeps } from '../../lambdas/core/inbox';
import type { IntentServiceDeps } from '../../lambdas/core/intents';
import type { PolicyServiceDeps } from '../../lambdas/core/policies';
import {
  type Clock,
  type EmailMessage,
  type EmailSender,
  type ExecutionStatus,
  type InboxCredentialStore,
  type InboxSession,
  type ReviewerProfileRepository,
  type SlackCallOptions,
  type SlackGateway,
  type SlackMessage,
  SlackUnavailableError,
  type Team,
  type TeamRepository,
  type UsageMeter,
  type Workflow,
  type WorkflowExecutions,
} from '../../lambdas/core/ports';
import type { ReconcilerDeps } from '../../lambdas/core/reconciler';
import type { ReviewDeps } from '../../lambdas/core/review';
import type { SlackInteractionDeps } from '../../lambdas/core/slack-interactions';
import type { PlanStageDeps, StageRunnerDeps } from '../../lambdas/core/stage-runner';
import type { AuditEvent } from '../../lambdas/domain/audit';
import type { ReviewerProfile } from '../../lambdas/domain/availability';
import type { IntentState, ResolvedPolicy } from '../../lambdas/domain/intent';
import { LOCAL_BASE, LOCAL_DEFAULT_POLICY } from '../../lambdas/domain/operator-policy';
import { MemoryKeys } from '../core/memory-keys';
import { MemoryIntentRepository } from '../fakes/memory-intents';
import { InMemoryPolicyRepository } from '../fakes/memory-policies';
import { KEYS, pendingIntentFields } from './helpers';
import { testSigner } from './signing-key';

/**
 * The ports the handlers use, in memory, for handler tests that check what a request does (its
 * answer, the intent and trail as the repository returns them, what was started, woken and
 * sent) rather than how the table stores it; the item layout is the repository contract test's
 * (`test/adapters/intent-repository-contract.test.ts`). A test file swaps the composition root
 * for `fakeDeps()` with `vi.mock` and calls `resetPortFakes()` before each test:
 *
 *     vi.mock('../../lambdas/shared/deps', async (importOriginal) => ({
 *       ...(await importOriginal()),
 *       ...(await import('./port-fakes')).fakeDeps(),
 *     }));
 */

/** The fixed time of every fake clock: the intents of the tests are made relative to it. */
export const NOW = new Date('2026-11-24T09:00:00.000Z');
export const LINK_SECRET = 'test-secret';
export const PUBLIC_BASE_URL = 'https://approvals.example.com';

export class FixedClock implements Clock {
  at = NOW;
  now(): Date {
    return new Date(this.at);
  }
}

/** The intent repository, seeded by tests, with nothing to migrate for the reconciler. */
export class FakeIntents extends MemoryIntentRepository {
  seed(intent: IntentState, events: AuditEvent[] = []): IntentState {
    this.intents.set(intent.id, structuredClone(intent));
    this.trails.set(intent.id, structuredClone(events));
    return intent;
  }
  /** The intent as stored now (a copy), to assert on. */
  stored(id = 'int_1'): IntentState {
    const intent = this.intents.get(id);
    if (!intent) throw new Error(`no intent ${id}`);
    return structuredClone(intent);
  }
  trail(id = 'int_1'): AuditEvent[] {
    return structuredClone(this.trails.get(id) ?? []);
  }
  /** `DynamoIntentRepository.backfillListings`, which the reconcile function runs first. */
  async backfillListings(_max: number): Promise<number> {
    return 0;
  }
}

/**
 * Step Functions as the core sees it: what was started and woken, and executions by name. Every
 * start is recorded, also a repeat of a name (which Step Functions takes as a no-op).
 */
export class FakeWorkflow implements Workflow, WorkflowExecutions {
  readonly started: { intentId: string; executionName: string }[] = [];
  readonly woken: { taskToken: string; output: Record<string, unknown> }[] = [];
  /** What `wake` answers ('stale': the token's stage had ended, as TaskTimedOut says). */
  wakeAnswer: 'delivered' | 'stale' | 'throttled' = 'delivered';
  readonly statuses = new Map<string, ExecutionStatus>();
  /** A failure `status` throws (Step Functions refusing DescribeExecution). */
  statusFailure: Error | null = null;

  async start(intentId: string, executionName?: string): Promise<void> {
    await this.startNamed(executionName ?? intentId, intentId);
  }
  async wake(taskToken: string, output: Record<string, unknown>) {
    this.woken.push({ taskToken, output: structuredClone(output) });
    return this.wakeAnswer;
  }
  async status(executionName: string): Promise<ExecutionStatus | null> {
    if (this.statusFailure) throw this.statusFailure;
    return this.statuses.get(executionName) ?? null;
  }
  async startNamed(executionName: string, intentId: string): Promise<void> {
    this.started.push({ intentId, executionName });
    if (!this.statuses.has(executionName)) this.statuses.set(executionName, 'RUNNING');
  }
}

export class FakeEmail implements EmailSender {
  readonly sent: EmailMessage[] = [];
  /** Thrown by every send while set (SES throttling, a refusal). */
  failure: Error | null = null;
  async send(message: EmailMessage) {
    if (this.failure) throw this.failure;
    this.sent.push(structuredClone(message));
    return { messageId: `ses-${this.sent.length}` };
  }
}

/**
 * A Slack workspace: `users` maps Slack user ids to their email, every call is recorded by its
 * Web API method name, `refuse` makes a method fail as Slack would (`expired_trigger_id`), and
 * `delayMs` makes it slow; a slow call honours the caller's signal as `SlackWebGateway` does
 * (fails with `SlackUnavailableError`), so deadlines are tested without a network.
 */
export class FakeSlack implements SlackGateway {
  users: Record<string, string> = {};
  readonly calls: { method: string; args: Record<string, unknown> }[] = [];
  readonly refuse = new Map<string, string>();
  readonly delayMs = new Map<string, number>();
  callsTo(method: string): Record<string, unknown>[] {
    return this.calls.filter((call) => call.method === method).map((call) => call.args);
  }

  private async call(
    method: string,
    args: Record<string, unknown>,
    options?: SlackCallOptions,
  ): Promise<void> {
    this.calls.push({ method, args: structuredClone(args) });
    const delay = this.delayMs.get(method);
    if (delay) await sleep(delay, options?.signal);
    const refused = this.refuse.get(method);
    if (refused) throw new Error(`An API error occurred: ${refused}`);
  }

  async userIdByEmail(email: string) {
    await this.call('users.lookupByEmail', { email });
    return Object.entries(this.users).find(([, known]) => known === email)?.[0] ?? null;
  }
  async emailOfUser(userId: string, options?: SlackCallOptions) {
    await this.call('users.info', { user: userId }, options);
    return this.users[userId] ?? null;
  }
  async postMessage(message: SlackMessage) {
    await this.call('chat.postMessage', { ...message });
    return { channel: message.channel, ts: `1780000000.${this.calls.length}` };
  }
  async updateMessage(message: SlackMessage & { ts: string }, options?: SlackCallOptions) {
    await this.call('chat.update', { ...message }, options);
  }
  async postEphemeral(
    input: { channel: string; user: string; text: string },
    options?: SlackCallOptions,
  ) {
    await this.call('chat.postEphemeral', { ...input }, options);
  }
  async openView(
    triggerId: string,
    view: Parameters<SlackGateway['openView']>[1],
    options?: SlackCallOptions,
  ) {
    await this.call('views.open', { trigger_id: triggerId, view }, options);
  }
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const gaveUp = () => {
      clearTimeout(timer);
      reject(new SlackUnavailableError('Slack did not answer in time'));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', gaveUp);
      resolve();
    }, ms);
    if (signal?.aborted) gaveUp();
    else signal?.addEventListener('abort', gaveUp, { once: true });
  });
}

export class FakeTeams implements TeamRepository {
  readonly teams = new Map<string, Team>();
  async put(team: Team) {
    this.teams.set(team.name, structuredClone(team));
  }
  async get(name: string) {
    return structuredClone(this.teams.get(name) ?? null);
  }
  async list() {
    return [...this.teams.values()];
  }
  async delete(name: string) {
    return this.teams.delete(name);
  }
}

export class FakeProfiles implements ReviewerProfileRepository {
  readonly profiles = new Map<string, ReviewerProfile>();
  async put(profile: ReviewerProfile) {
    this.profiles.set(profile.email, structuredClone(profile));
  }
  async get(email: string) {
    return structuredClone(this.profiles.get(email) ?? null);
  }
  async getMany(emails: readonly string[]) {
    return new Map(
      emails.flatMap((email) => {
        const profile = this.profiles.get(email);
        return profile ? [[email, structuredClone(profile)] as const] : [];
      }),
    );
  }
  async list() {
    return [...this.profiles.values()];
  }
}

/** No key has a quota in these tests: every take succeeds, and is counted. */
export class FakeUsage implements UsageMeter {
  readonly taken: { keyId: string; counter: string }[] = [];
  async take(keyId: string, counter: string) {
    this.taken.push({ keyId, counter });
    return { ok: true as const };
  }
  async giveBack() {}
  async used(keyId: string, counter: string) {
    const count = this.taken.filter((t) => t.keyId === keyId && t.counter === counter).length;
    return { count, retryAfterSeconds: 3600 };
  }
}

/** Sign-in links and sessions by token hash, as the table keeps them (never the token). */
export class FakeInboxCredentials implements InboxCredentialStore {
  readonly links = new Map<string, { email: string; expires_at: number }>();
  readonly sessions = new Map<string, InboxSession>();
  async putSignInLink(tokenHash: string, link: { email: string; expires_at: number }) {
    this.links.set(tokenHash, { ...link });
  }
  async peekSignInLink(tokenHash: string) {
    return this.links.get(tokenHash) ?? null;
  }
  async takeSignInLink(tokenHash: string) {
    const link = this.links.get(tokenHash) ?? null;
    this.links.delete(tokenHash);
    return link;
  }
  async putSession(tokenHash: string, session: InboxSession) {
    this.sessions.set(tokenHash, { ...session });
  }
  async getSession(tokenHash: string) {
    return this.sessions.get(tokenHash) ?? null;
  }
  async deleteSession(tokenHash: string) {
    this.sessions.delete(tokenHash);
  }
  async deleteSessionsOf(reviewer: string) {
    let ended = 0;
    for (const [hash, session] of this.sessions) {
      if (session.reviewer === reviewer) {
        this.sessions.delete(hash);
        ended += 1;
      }
    }
    return ended;
  }
  async hasPending() {
    return false;
  }
}

/** The keys of `KEYS` (agent, reviewer, admin), as the key table would hold them. */
function keysOfTests(): MemoryKeys {
  const keys = new MemoryKeys();
  for (const [role, { key, principal }] of Object.entries(KEYS)) {
    keys.records.push({
      id: `key_${role}`,
      role: role as keyof typeof KEYS,
      principal,
      key_hash: hashApiKey(key),
      prefix: 'csk_',
      created_at: '2026-11-24T08:00:00.000Z',
      revoked_at: null,
    });
  }
  return keys;
}

export function createPortFakes() {
  const clock = new FixedClock();
  return {
    clock,
    intents: new FakeIntents(),
    keys: keysOfTests(),
    policies: new InMemoryPolicyRepository(),
    workflow: new FakeWorkflow(),
    email: new FakeEmail(),
    slack: new FakeSlack(),
    teams: new FakeTeams(),
    profiles: new FakeProfiles(),
    usage: new FakeUsage(),
    credentials: new FakeInboxCredentials(),
    signer: testSigner(),
    /** The deployment's public base URL (links in emails, the inbox's paths and origin). */
    publicBaseUrl: PUBLIC_BASE_URL,
  };
}
export type PortFakes = ReturnType<typeof createPortFakes>;

let current: PortFakes = createPortFakes();

/** A fresh set of fakes, which the composition root of `fakeDeps()` hands out from now on. */
export function resetPortFakes(): PortFakes {
  current = createPortFakes();
  return current;
}

/**
 * The composition root's factories (`lambdas/shared/deps.ts`) over the current fakes, in local
 * mode's policy terms (`POLICY_BASE=permissive`, as `setHandlerEnvironment` sets). Slack's
 * signing secret and whether Slack is configured stay the root's own (from the environment).
 */
export function fakeDeps() {
  const policyServiceDeps = (): PolicyServiceDeps => ({
    policies: current.policies,
    configured: new Map(),
    clock: current.clock,
    fallback: LOCAL_DEFAULT_POLICY,
  });
  const intentServiceDeps = (): IntentServiceDeps => ({
    intents: current.intents,
    workflow: current.workflow,
    clock: current.clock,
    configuredChannels: ['email'],
    policies: policyServiceDeps(),
    policyBase: LOCAL_BASE,
    allowLoopbackCallbacks: false,
    waitPollMs: 10,
    usage: current.usage,
    signer: current.signer,
  });
  const stageRunnerDeps = async (): Promise<StageRunnerDeps> => ({
    intents: current.intents,
    teams: current.teams,
    profiles: current.profiles,
    workflow: current.workflow,
    clock: current.clock,
    email: current.email,
    publicBaseUrl: current.publicBaseUrl,
    linkSigningSecret: LINK_SECRET,
    usage: current.usage,
  });
  return {
    intentRepository: () => current.intents,
    keyRepository: () => current.keys,
    teamRepository: () => current.teams,
    reviewerProfileRepository: () => current.profiles,
    policyServiceDeps,
    policyBase: () => LOCAL_BASE,
    intentServiceDeps,
    planStageDeps: (): PlanStageDeps => ({
      intents: current.intents,
      profiles: current.profiles,
      clock: current.clock,
      signer: current.signer,
    }),
    stageRunnerDeps,
    slackInteractionDeps: async (): Promise<SlackInteractionDeps> => ({
      intents: current.intents,
      workflow: current.workflow,
      clock: current.clock,
      signer: current.signer,
      slack: current.slack,
    }),
    reviewDeps: async (): Promise<ReviewDeps & { linkSigningSecret: string }> => ({
      intents: current.intents,
      profiles: current.profiles,
      workflow: current.workflow,
      clock: current.clock,
      signer: current.signer,
      linkSigningSecret: LINK_SECRET,
    }),
    inboxCredentials: () => current.credentials,
    inboxDeps: (): InboxDeps => ({
      intents: current.intents,
      workflow: current.workflow,
      clock: current.clock,
      signer: current.signer,
      credentials: current.credentials,
      keys: current.keys,
      email: current.email,
      usage: current.usage,
      publicBaseUrl: current.publicBaseUrl,
      profiles: current.profiles,
    }),
    reconcilerDeps: (): ReconcilerDeps => ({
      intents: current.intents,
      executions: current.workflow,
      clock: current.clock,
      signer: current.signer,
    }),
  };
}

/**
 * A pending intent (`int_1`) one reviewer is asked about by email, created `at` with an hour to
 * its deadline, before its first stage. `overrides` replace whole fields; `policy` replaces
 * fields of the policy (its channels, steps, reminders).
 */
/** A reviewer's own profile that sets only their time zone, saved now. */
export function profileIn(email: string, timeZone: string): ReviewerProfile {
  return {
    email,
    time_zone: timeZone,
    working_hours: null,
    out_of_office: null,
    updated_at: NOW.toISOString(),
    updated_by: email,
  };
}

export function pendingIntent(
  overrides: Partial<IntentState> = {},
  policy: Partial<ResolvedPolicy> = {},
  at: Date = NOW,
): IntentState {
  return {
    ...pendingIntentFields(at.getTime(), policy),
    payload: {},
    viewed_by: [],
    ...overrides,
  };
}
