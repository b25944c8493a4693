import { SendTaskSuccessCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { StepFunctionsWorkflow } from '../../lambdas/adapters/sfn-workflow';
import { DomainError } from '../../lambdas/domain/errors';
import { errorResult } from '../../lambdas/shared/http';

/**
 * Step Functions' API quotas seen by the caller (docs/deploy.md, "Limits"): a throttled start is
 * 429 `rate_limited` with Retry-After, never a 5xx (the intent is stored; the create's retry with
 * its Idempotency-Key starts it), and a throttled wake leaves the stored decision to the next
 * planned stage instead of failing the decision.
 */
const throttled = () => Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
const arn = 'arn:aws:states:eu-west-1:111111111111:stateMachine:countersign';

describe('Step Functions throttling', () => {
  it('answers a throttled start 429 with Retry-After', async () => {
    const sfn = mockClient(SFNClient);
    sfn.on(StartExecutionCommand).rejects(throttled());
    const workflow = new StepFunctionsWorkflow(new SFNClient({ maxAttempts: 1 }), () => arn);
    const failure = await workflow.start('int_1').catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(DomainError);
    const result = errorResult(failure);
    expect(result.statusCode).toBe(429);
    expect(result.headers?.['Retry-After']).toBe('1');
    expect(JSON.parse(result.body).error.code).toBe('rate_limited');
    sfn.restore();
  });

  it('reports a throttled wake, which the decision does not fail on', async () => {
    const sfn = mockClient(SFNClient);
    sfn.on(SendTaskSuccessCommand).rejects(throttled());
    const workflow = new StepFunctionsWorkflow(new SFNClient({ maxAttempts: 1 }), () => arn);
    expect(await workflow.wake('token', { reason: 'decided' })).toBe('throttled');
    sfn.on(SendTaskSuccessCommand).rejects(new Error('boom'));
    await expect(workflow.wake('token', {})).rejects.toThrow('boom');
    sfn.restore();
  });
});
