import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { SesEmailSender } from '../../lambdas/adapters/ses-email';
import { type EmailMessage, EmailSendError } from '../../lambdas/core/ports';

/**
 * The `EmailSender` port on SES: the handler tests run on a fake sender, so what becomes of a
 * message on the way to SES (its headers, which mail rules and the local outbox read) is here.
 */
const ses = mockClient(SESv2Client);
const sender = new SesEmailSender(new SESv2Client({}), 'countersign@example.com', 'tracking');
afterEach(() => ses.reset());

const message: EmailMessage = {
  to: 'cfo@company.com',
  subject: 'Approve: Deploy\nv2',
  text: 'Please review',
  html: '<p>Please review</p>',
  intentId: 'int_1',
  kind: 'notify',
  reviewUrl: 'https://approvals.example.com/review/abc',
};

describe('SesEmailSender', () => {
  it('sends the message with headers naming the intent, the kind and the review link', async () => {
    ses.on(SendEmailCommand).resolves({ MessageId: 'ses-1' });

    expect(await sender.send(message)).toEqual({ messageId: 'ses-1' });

    const input = ses.commandCalls(SendEmailCommand)[0]?.args[0].input;
    expect(input).toMatchObject({
      FromEmailAddress: 'countersign@example.com',
      Destination: { ToAddresses: ['cfo@company.com'] },
      ConfigurationSetName: 'tracking',
    });
    const simple = input?.Content?.Simple;
    expect(simple?.Subject?.Data).toBe('Approve: Deploy v2');
    expect(simple?.Body?.Text?.Data).toBe('Please review');
    expect(simple?.Body?.Html?.Data).toBe('<p>Please review</p>');
    expect(simple?.Headers).toEqual([
      { Name: 'X-Countersign-Intent-Id', Value: 'int_1' },
      { Name: 'X-Countersign-Kind', Value: 'notify' },
      { Name: 'X-Countersign-Review-Url', Value: 'https://approvals.example.com/review/abc' },
    ]);
  });

  it('leaves out the link header for a notice that links nowhere, and the intent for a sign-in', async () => {
    ses.on(SendEmailCommand).resolves({ MessageId: 'ses-2' });

    await sender.send({ ...message, kind: 'decided', reviewUrl: null });
    await sender.send({ ...message, intentId: null, kind: 'sign_in', reviewUrl: null });

    const headers = ses
      .commandCalls(SendEmailCommand)
      .map((call) => call.args[0].input.Content?.Simple?.Headers?.map((h) => h.Name));
    expect(headers).toEqual([
      ['X-Countersign-Intent-Id', 'X-Countersign-Kind'],
      ['X-Countersign-Kind'],
    ]);
  });
});

describe('SesEmailSender failures', () => {
  const awsError = (name: string, fault: 'client' | 'server', status: number) =>
    Object.assign(new Error(`${name} happened`), {
      name,
      $fault: fault,
      $metadata: { httpStatusCode: status },
    });
  const failure = async () => {
    const error = await sender.send(message).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    if (!(error instanceof EmailSendError)) throw new Error(`expected EmailSendError: ${error}`);
    return { message: error.message, retryable: error.retryable };
  };

  it('says a throttled or failing SES may pass, and a refusal will not', async () => {
    ses.on(SendEmailCommand).rejects(awsError('TooManyRequestsException', 'client', 429));
    expect(await failure()).toEqual({
      message: 'TooManyRequestsException: TooManyRequestsException happened',
      retryable: true,
    });
    ses.on(SendEmailCommand).rejects(awsError('InternalFailure', 'server', 500));
    expect((await failure()).retryable).toBe(true);
    ses.on(SendEmailCommand).rejects(awsError('MessageRejected', 'client', 400));
    expect(await failure()).toEqual({
      message: 'MessageRejected: MessageRejected happened',
      retryable: false,
    });
  });

  it('says no answer at all (a network error) may pass', async () => {
    ses.on(SendEmailCommand).rejects(new Error('socket hang up'));
    expect(await failure()).toEqual({ message: 'Error: socket hang up', retryable: true });
  });
});
