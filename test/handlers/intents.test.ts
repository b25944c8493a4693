import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { IntentState } from '../../lambdas/domain/intent';
import { apiEvent, KEYS, setHandlerEnvironment } from './helpers';
import { type PortFakes, pendingIntent, resetPortFakes } from './port-fakes';

vi.mock('../../lambdas/shared/deps', async (importOriginal) => ({
  ...(await importOriginal<object>()),
  ...(await import('./port-fakes')).fakeDeps(),
}));

setHandlerEnvironment();
const { handler: writeHandler } = await import('../../lambdas/handlers/intents-write');
const { handler: decideHandler } = await import('../../lambdas/handlers/intents-decide');

let fakes: PortFakes;
beforeEach(() => {
  fakes = resetPortFakes();
});
afterEach(() => vi.restoreAllMocks());

const createBody = {
  intent_type: 'intent.report.review_approval.v1',
  to_agent: 'agent://myorg/production/report-generator',
  payload: { report: 'Q1 Financial Summary', pii_detected: false, reviewer: 'cfo@company.com' },
};

describe('Handler: intents-write', () => {
  it('stores the intent with its payload and created event, then starts an execution named by the id', async () => {
    // Act
    const result = await writeHandler(
      apiEvent({ method: 'POST', resource: '/v1/intents', role: 'agent', body: createBody }),
    );

    // Assess
    expect(result.statusCode).toBe(201);
    const intent = JSON.parse(result.body);
    expect(intent).toMatchObject({
      status: 'pending',
      from_agent: KEYS.agent.principal,
      recipients: ['cfo@company.com'],
      event_count: 1,
    });
    expect(intent).not.toHaveProperty('task_token');
    expect(fakes.intents.stored(intent.id)).toMatchObject({
      status: 'pending',
      payload: createBody.payload,
      asked: ['cfo@company.com'],
    });
    expect(fakes.intents.trail(intent.id).map((event) => event.type)).toEqual(['created']);
    // It waits in the reviewer's inbox.
    const inbox = await fakes.intents.list({
      recipient: 'cfo@company.com',
      status: 'pending',
      limit: 10,
    });
    expect(inbox.items.map((item) => item.id)).toEqual([intent.id]);
    expect(fakes.workflow.started).toEqual([{ intentId: intent.id, executionName: intent.id }]);
  });

  it('replays the first intent for a repeated Idempotency-Key and refuses another body with it', async () => {
    const post = (body: unknown) =>
      writeHandler(
        apiEvent({
          method: 'POST',
          resource: '/v1/intents',
          role: 'agent',
          body,
          headers: { 'Idempotency-Key': 'k1' },
        }),
      );
    const first = await post(createBody);
    expect(first.statusCode).toBe(201);
    const { id } = JSON.parse(first.body);

    const replay = await post(createBody);
    const conflict = await post({ ...createBody, summary: 'something else' });

    expect(replay.statusCode).toBe(200);
    expect(JSON.parse(replay.body)).toMatchObject({ id, payload: createBody.payload });
    expect(fakes.intents.intents.size).toBe(1);
    // Starting again is safe (same execution name) and repairs a first attempt that died before starting.
    expect(fakes.workflow.started).toEqual([
      { intentId: id, executionName: id },
      { intentId: id, executionName: id },
    ]);
    expect(conflict.statusCode).toBe(409);
    expect(JSON.parse(conflict.body).error.code).toBe('idempotency_conflict');
  });

  it.each([
    [{ ...createBody, intent_type: '' }, 400, 'validation_failed'],
    [{ ...createBody, payload: [] }, 400, 'validation_failed'],
    [{ ...createBody, surprise: 1 }, 400, 'validation_failed'],
    ['{not json', 400, 'invalid_request'],
  ])('answers %j with %i %s', async (body, status, code) => {
    const result = await writeHandler(
      apiEvent({ method: 'POST', resource: '/v1/intents', role: 'agent', body }),
    );
    expect(result.statusCode).toBe(status);
    expect(JSON.parse(result.body).error.code).toBe(code);
    expect(fakes.intents.intents.size).toBe(0);
    expect(fakes.workflow.started).toHaveLength(0);
  });

  it('refuses a missing key with 401 and a reviewer key with 403', async () => {
    const anonymous = await writeHandler(
      apiEvent({ method: 'POST', resource: '/v1/intents', body: createBody }),
    );
    expect(anonymous.statusCode).toBe(401);
    const reviewer = await writeHandler(
      apiEvent({ method: 'POST', resource: '/v1/intents', role: 'reviewer', body: createBody }),
    );
    expect(reviewer.statusCode).toBe(403);
    expect(JSON.parse(reviewer.body).error.code).toBe('forbidden');
    expect(fakes.intents.intents.size).toBe(0);
  });
});

describe('Handler: intents-decide', () => {
  const stored = (overrides: Partial<IntentState> = {}) =>
    pendingIntent({
      intent_type: 'intent.report.review_approval.v1',
      from_agent: KEYS.agent.principal,
      summary: 'Report',
      deadline_at: '2099-11-24T10:00:00.000Z',
      version: 3,
      stage_index: 0,
      task_token: 'token-of-stage-0',
      ...overrides,
    });
  const decide = (body: unknown, role: 'reviewer' | 'agent' = 'reviewer') =>
    decideHandler(
      apiEvent({
        method: 'POST',
        resource: '/v1/intents/{id}/decision',
        path: '/v1/intents/int_1/decision',
        pathParameters: { id: 'int_1' },
        role,
        body,
      }),
    );

  beforeEach(() => {
    fakes.intents.seed(stored());
  });

  it('records the vote, decides, and answers the current token', async () => {
    const result = await decide({ outcome: 'approve', comment: 'fine' });

    expect(result.statusCode).toBe(200);
    expect(JSON.parse(result.body)).toMatchObject({
      status: 'approved',
      decision: { by: 'cfo@company.com' },
    });
    expect(fakes.intents.stored()).toMatchObject({
      status: 'approved',
      version: 4,
      decision: { outcome: 'approved', by: 'cfo@company.com', comment: 'fine', channel: 'api' },
    });
    expect(fakes.intents.trail().map((event) => event.type)).toEqual(['approval', 'approved']);
    // It no longer waits in the reviewer's inbox.
    const inbox = await fakes.intents.list({
      recipient: 'cfo@company.com',
      status: 'pending',
      limit: 10,
    });
    expect(inbox.items).toEqual([]);
    expect(fakes.workflow.woken.map((wake) => wake.taskToken)).toEqual(['token-of-stage-0']);
  });

  it("treats a token that is no longer waiting as done (the stage had just ended: SFN's TaskTimedOut)", async () => {
    fakes.workflow.wakeAnswer = 'stale';

    const result = await decide({ outcome: 'approve' });

    expect(result.statusCode).toBe(200);
    expect(fakes.intents.stored()).toMatchObject({ status: 'approved' });
  });

  it('loses a race with 409 already_decided carrying the winner', async () => {
    // Between the read and the conditional write, the CFO rejects on Slack: the version moved on.
    const commit = fakes.intents.commit.bind(fakes.intents);
    vi.spyOn(fakes.intents, 'commit').mockImplementationOnce(async (next, before, events) => {
      fakes.intents.seed(
        stored({
          status: 'rejected',
          version: 4,
          decision: {
            outcome: 'rejected',
            by: 'cfo@company.com',
            at: '2026-11-24T09:01:00.000Z',
            comment: 'no',
            channel: 'slack',
          },
        }),
      );
      return commit(next, before, events);
    });

    const result = await decide({ outcome: 'approve' });

    expect(result.statusCode).toBe(409);
    const body = JSON.parse(result.body);
    expect(body.error.code).toBe('already_decided');
    expect(body.error.intent).toMatchObject({ status: 'rejected', decision: { channel: 'slack' } });
    expect(fakes.intents.stored()).toMatchObject({ status: 'rejected', version: 4 });
    expect(fakes.workflow.woken).toHaveLength(0);
  });

  it('reads the intent while the key is looked up, so the two reads overlap', async () => {
    // The key lookup answers only once the intent has been asked for: in sequence, it would hang.
    let intentAsked: () => void = () => {};
    const asked = new Promise<void>((resolve) => {
      intentAsked = resolve;
    });
    const findByHash = fakes.keys.findByHash.bind(fakes.keys);
    vi.spyOn(fakes.keys, 'findByHash').mockImplementation(async (hash) => {
      await asked;
      return findByHash(hash);
    });
    const get = fakes.intents.get.bind(fakes.intents);
    const reads = vi.spyOn(fakes.intents, 'get').mockImplementation((id) => {
      intentAsked();
      return get(id);
    });

    const result = await decide({ outcome: 'approve' });

    expect(result.statusCode).toBe(200);
    // The intent read ahead is the one the vote is applied to: one read, not two.
    expect(reads).toHaveBeenCalledTimes(1);
  }, 5_000);

  it('a bad key still gets 401 and changes nothing, though the intent was read ahead', async () => {
    const result = await decideHandler(
      apiEvent({
        method: 'POST',
        resource: '/v1/intents/{id}/decision',
        path: '/v1/intents/int_1/decision',
        pathParameters: { id: 'int_1' },
        headers: { Authorization: 'Bearer csk_not-a-key-anyone-was-given' },
        body: { outcome: 'approve' },
      }),
    );
    expect(result.statusCode).toBe(401);
    expect(result.body).not.toContain('int_1');
    expect(fakes.intents.stored()).toEqual(stored());
    expect(fakes.workflow.woken).toHaveLength(0);
  });

  it('refuses the creating agent and validates the outcome', async () => {
    expect((await decide({ outcome: 'approve' }, 'agent')).statusCode).toBe(403);
    const invalid = await decide({ outcome: 'maybe' });
    expect(invalid.statusCode).toBe(400);
    expect(JSON.parse(invalid.body).error.details[0].field).toBe('outcome');
    expect(fakes.intents.stored()).toEqual(stored());
  });

  it('changes nothing when the write fails for another reason, and answers 500 without internals', async () => {
    vi.spyOn(fakes.intents, 'commit').mockRejectedValue(new Error('socket hang up'));

    const result = await decide({ outcome: 'approve' });

    expect(result.statusCode).toBe(500);
    expect(result.body).not.toContain('socket');
    expect(fakes.intents.stored()).toEqual(stored());
    expect(fakes.intents.trail()).toEqual([]);
    expect(fakes.workflow.woken).toHaveLength(0);
  });
});
