import { type SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import { type EmailMessage, EmailSendError, type EmailSender } from '../core/ports';
import { singleLine } from '../domain/messages';

/**
 * Email through SES v2. Custom headers let mail rules (and the local outbox) find the intent.
 * SES's errors become `EmailSendError`s that say whether they may pass, so the core reads no
 * AWS error shapes.
 */
export class SesEmailSender implements EmailSender {
  constructor(
    private readonly ses: SESv2Client,
    private readonly from: string,
    private readonly configurationSet: string | undefined,
  ) {}

  async send(message: EmailMessage): Promise<{ messageId: string }> {
    try {
      return await this.sendOnce(message);
    } catch (error) {
      const description =
        error instanceof Error ? `${error.name}: ${error.message}` : 'send failed';
      throw new EmailSendError(description, mayPass(error), { cause: error });
    }
  }

  private async sendOnce(message: EmailMessage): Promise<{ messageId: string }> {
    const result = await this.ses.send(
      new SendEmailCommand({
        FromEmailAddress: this.from,
        Destination: { ToAddresses: [message.to] },
        ...(this.configurationSet ? { ConfigurationSetName: this.configurationSet } : {}),
        Content: {
          Simple: {
            Subject: { Data: singleLine(message.subject), Charset: 'UTF-8' },
            Body: {
              Text: { Data: message.text, Charset: 'UTF-8' },
              Html: { Data: message.html, Charset: 'UTF-8' },
            },
            Headers: [
              ...(message.intentId
                ? [{ Name: 'X-Countersign-Intent-Id', Value: message.intentId }]
                : []),
              { Name: 'X-Countersign-Kind', Value: message.kind },
              ...(message.reviewUrl
                ? [{ Name: 'X-Countersign-Review-Url', Value: message.reviewUrl }]
                : []),
            ],
          },
        },
      }),
    );
    return { messageId: result.MessageId ?? 'unknown' };
  }
}

/**
 * An SES failure that may pass on its own: throttling, a server-side fault, or no answer at all
 * (a network error carries no `$metadata`). A refusal (`MessageRejected`, an unverified
 * sender) will not.
 */
function mayPass(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const aws = error as Error & { $fault?: string; $metadata?: unknown };
  if (aws.$metadata === undefined) return true;
  return aws.$fault === 'server' || /Throttl|TooManyRequests/.test(error.name);
}
