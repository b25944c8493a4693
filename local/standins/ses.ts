import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Outbox } from '../outbox';
import { sameSecret, sigV4AccessKeyId } from '../request-guard';
import { readBody, type StandIn, sendJson, startStandIn } from './http-util';

/**
 * SES v2 on this machine: answers `SendEmail` (REST JSON, `POST /v2/email/outbound-emails`) as
 * SES does and records the message in the outbox. The Countersign headers of the message tell
 * which intent and review link it carries, as a mail rule would read them.
 */
const sendEmailSchema = z.object({
  FromEmailAddress: z.string().optional(),
  Destination: z.object({ ToAddresses: z.array(z.string()).min(1) }),
  Content: z.object({
    Simple: z.object({
      Subject: z.object({ Data: z.string() }),
      Body: z.object({
        Text: z.object({ Data: z.string() }).optional(),
        Html: z.object({ Data: z.string() }).optional(),
      }),
      Headers: z.array(z.object({ Name: z.string(), Value: z.string() })).optional(),
    }),
  }),
});

export async function startSesStandIn(options: {
  outbox: Outbox;
  /** The access key id the stack gave its handlers; requests signed with another get 403, as SES. */
  accessKeyId: string;
}): Promise<StandIn> {
  return startStandIn(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://ses.local');
    if (!sameSecret(sigV4AccessKeyId(req.headers.authorization), options.accessKeyId)) {
      req.resume();
      sendJson(
        res,
        403,
        { message: 'The security token included in the request is invalid.' },
        { 'x-amzn-errortype': 'UnrecognizedClientException' },
      );
      return;
    }
    if (req.method !== 'POST' || url.pathname !== '/v2/email/outbound-emails') {
      sendJson(
        res,
        404,
        { message: `The local SES stand-in has no ${req.method} ${url.pathname}` },
        {
          'x-amzn-errortype': 'NotFoundException',
        },
      );
      return;
    }
    let parsed: z.infer<typeof sendEmailSchema>;
    try {
      parsed = sendEmailSchema.parse(JSON.parse(await readBody(req)));
    } catch (error) {
      sendJson(
        res,
        400,
        { message: `Invalid SendEmail request: ${String(error)}` },
        {
          'x-amzn-errortype': 'BadRequestException',
        },
      );
      return;
    }
    const { Simple } = parsed.Content;
    const header = (name: string) =>
      Simple.Headers?.find((candidate) => candidate.Name.toLowerCase() === name.toLowerCase())
        ?.Value ?? null;
    for (const to of parsed.Destination.ToAddresses) {
      options.outbox.append({
        channel: 'email',
        to,
        subject: Simple.Subject.Data,
        text: Simple.Body.Text?.Data ?? '',
        ...(Simple.Body.Html ? { html: Simple.Body.Html.Data } : {}),
        review_url: header('X-Countersign-Review-Url'),
        intent_id: header('X-Countersign-Intent-Id'),
        kind: header('X-Countersign-Kind'),
      });
    }
    sendJson(res, 200, { MessageId: `local-${randomUUID()}` });
  });
}
