import { z } from 'zod';
import type { Outbox } from '../outbox';
import { readBody, type StandIn, sendJson, startStandIn } from './http-util';

/**
 * Records callback deliveries in the outbox. The deliver-callback function POSTs to the real
 * callback_url (a loopback receiver, locally) and, in local mode only (`WEBHOOK_OUTBOX_URL`),
 * sends a copy of each attempt here, so that `GET /_local/outbox` lists webhooks next to emails
 * and Slack messages: `channel: "webhook"`, `to` the callback URL, `kind: "decided"`, `text` the
 * JSON body exactly as signed.
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

export async function startWebhookStandIn(options: { outbox: Outbox }): Promise<StandIn> {
  return startStandIn(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://webhook.local');
    if (req.method !== 'POST' || url.pathname !== '/deliveries') {
      sendJson(res, 404, { message: `The webhook stand-in has no ${req.method} ${url.pathname}` });
      return;
    }
    const parsed = deliverySchema.safeParse(JSON.parse(await readBody(req)));
    if (!parsed.success) {
      sendJson(res, 400, { message: parsed.error.message });
      return;
    }
    const delivery = parsed.data;
    const status = (JSON.parse(delivery.body) as { status?: unknown }).status;
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
