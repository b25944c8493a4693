import { z } from 'zod';
import { verifyWebhookSignature } from '../../sdk/src/webhooks';
import type { Outbox } from '../outbox';
import { readBody, type StandIn, sendJson, startStandIn } from './http-util';

/**
 * Records callback deliveries in the outbox. The deliver-callback function POSTs to the real
 * callback_url (a loopback receiver, locally) and, in local mode only (`WEBHOOK_OUTBOX_URL`),
 * sends a copy of each attempt here, so that `GET /_local/outbox` lists webhooks next to emails
 * and Slack messages: `channel: "webhook"`, `to` the callback URL, `kind: "decided"`, `text` the
 * JSON body exactly as signed. Only copies signed with the stack's webhook signing secret are
 * recorded (403 otherwise), so nothing else on the machine can put a callback in the outbox.
 */
const deliverySchema = z.object({
  intent_id: z.string(),
  url: z.string(),
  body: z.string(),
  signature: z.string(),
  jws: z.string(),
  attempt: z.number().int(),
  ok: z.boolean(),
  status: z.number().int().nullable(),
  error: z.string().nullable(),
});

export async function startWebhookStandIn(options: {
  outbox: Outbox;
  signingSecret: string;
}): Promise<StandIn> {
  return startStandIn(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://webhook.local');
    if (req.method !== 'POST' || url.pathname !== '/deliveries') {
      sendJson(res, 404, { message: `The webhook stand-in has no ${req.method} ${url.pathname}` });
      return;
    }
    const parsed = deliverySchema.safeParse(parseJson(await readBody(req)));
    if (!parsed.success) {
      sendJson(res, 400, { message: parsed.error.message });
      return;
    }
    const delivery = parsed.data;
    if (!verifyWebhookSignature(delivery.signature, delivery.body, options.signingSecret).ok) {
      sendJson(res, 403, {
        message: 'The delivery is not signed with the webhook signing secret.',
      });
      return;
    }
    const status = (parseJson(delivery.body) as { status?: unknown } | undefined)?.status;
    const outcome = delivery.ok
      ? `delivered (HTTP ${delivery.status})`
      : `failed (${delivery.error ?? `HTTP ${delivery.status}`})`;
    options.outbox.append({
      channel: 'webhook',
      to: delivery.url,
      subject: `Intent ${delivery.intent_id} ${String(status)}: callback attempt ${delivery.attempt} ${outcome}`,
      text: delivery.body,
      review_url: null,
      intent_id: delivery.intent_id,
      kind: 'decided',
      webhook: {
        attempt: delivery.attempt,
        ok: delivery.ok,
        status: delivery.status,
        error: delivery.error,
        signature: delivery.signature,
        jws: delivery.jws,
      },
    });
    sendJson(res, 200, { recorded: true });
  });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
