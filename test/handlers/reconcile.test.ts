import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { setHandlerEnvironment } from './helpers';
import { NOW, type PortFakes, pendingIntent, resetPortFakes } from './port-fakes';

vi.mock('../../lambdas/shared/deps', async (importOriginal) => ({
  ...(await importOriginal<object>()),
  ...(await import('./port-fakes')).fakeDeps(),
}));

setHandlerEnvironment();
process.env.LOG_LEVEL = 'INFO';
const { handler } = await import('../../lambdas/handlers/reconcile');

const SECRET_PAYLOAD = { iban: 'DE89 3704 0044 0532 0130 00' };
// Created an hour ago, in its first stage, with nine hours to its deadline; its workflow should
// have acted when it was last updated, so it is overdue.
const intent = pendingIntent(
  {
    summary: 'Deploy',
    payload: SECRET_PAYLOAD,
    deadline_at: new Date(NOW.getTime() + 9 * 60 * 60 * 1000).toISOString(),
    version: 3,
    stage_index: 0,
    task_token: 'AAAA-secret-task-token',
  },
  { remind_after: [], timeout: { after: 36000, action: 'reject' } },
  new Date(NOW.getTime() - 60 * 60 * 1000),
);

describe('Handler: reconcile (scheduled)', () => {
  let fakes: PortFakes;
  let lines: string[];
  beforeEach(() => {
    fakes = resetPortFakes();
    fakes.intents.seed(intent);
    lines = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      lines.push(String(chunk));
      return true;
    });
  });
  afterEach(() => vi.restoreAllMocks());

  it('restarts a failed execution as <id>-r1 for the intent, and logs it', async () => {
    // Prepare
    fakes.workflow.statuses.set('int_1', 'FAILED');
    // Act
    const summary = await handler({}, { awsRequestId: 'req-123' });
    // Assess
    expect(summary).toMatchObject({ checked: 1, restarted: 1 });
    expect(fakes.workflow.started).toEqual([{ intentId: 'int_1', executionName: 'int_1-r1' }]);
    const logged = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(logged).toContainEqual(
      expect.objectContaining({
        level: 'WARN',
        message: 'reconciled',
        intent_id: 'int_1',
        kind: 'restarted',
        aws_request_id: 'req-123',
      }),
    );
    expect(logged).toContainEqual(
      expect.objectContaining({ message: 'reconcile summary', restarted: 1 }),
    );
    // Never the payload, never the task token.
    expect(lines.join('')).not.toContain('DE89');
    expect(lines.join('')).not.toContain('secret-task-token');
  });

  it('fails the run when an intent cannot be repaired, so that the error alarm fires', async () => {
    // Prepare
    fakes.workflow.statusFailure = new Error('AccessDeniedException');
    // Act / Assess
    await expect(handler({}, { awsRequestId: 'req-456' })).rejects.toThrow(
      /1 intent\(s\) could not be repaired/,
    );
    expect(lines.join('')).toContain('"message":"reconcile failed"');
    expect(fakes.workflow.started).toEqual([]);
  });
});
