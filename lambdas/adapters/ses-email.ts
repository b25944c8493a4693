import { type SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import type { EmailMessage, EmailSender } from '../core/ports';
import { singleLine } from '../domain/messages';

/** Email through SES v2. Custom headers let mail rules (and the local outbox) find the intent. */
export class SesEmailSender implements EmailSender {
  constructor(
    private readonly ses: SESv2Client,
    private readonly from: string,
    private readonly configurationSet: string | undefined,
  ) {}

  async send(message: EmailMessage): Promise<{ messageId: string }> {
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
