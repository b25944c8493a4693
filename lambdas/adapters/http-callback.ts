import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import type { CallbackLog, CallbackRequest, CallbackSender } from '../core/ports';
import {
  CALLBACK_ATTEMPT_TIMEOUT_MS,
  callbackUrlIssue,
  type DeliveryResult,
  isAddressAllowed,
} from '../domain/webhook';

type Resolver = (
  hostname: string,
  callback: (error: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void,
) => void;

const systemResolver: Resolver = (hostname, callback) =>
  dnsLookup(hostname, { all: true, verbatim: true }, callback);

class RefusedAddressError extends Error {
  constructor(hostname: string, address: string) {
    super(`${hostname} resolves to ${address}, a private, loopback or link-local address`);
    this.name = 'RefusedAddressError';
  }
}

/**
 * POSTs callbacks over HTTP(S) with SSRF protection at the moment of connecting: the host name
 * is resolved by our own lookup, which refuses the connection when any address it resolves to
 * is private, loopback, link-local, unique-local or a metadata address, so a DNS answer that
 * changes between a check and the connection (rebinding) cannot slip through. Redirects are not
 * followed. Local mode (`allowLoopback`) lets loopback addresses through.
 */
export class HttpCallbackSender implements CallbackSender {
  constructor(
    private readonly options: {
      allowLoopback: boolean;
      timeoutMs?: number;
      /** Injectable for tests; the system resolver otherwise. */
      resolve?: Resolver;
    },
  ) {}

  post(request: CallbackRequest): Promise<DeliveryResult> {
    const issue = callbackUrlIssue(request.url, this.options.allowLoopback);
    if (issue !== null)
      return Promise.resolve({ kind: 'refused', reason: `callback_url ${issue}` });
    const url = new URL(request.url);
    const resolve = this.options.resolve ?? systemResolver;
    const allowLoopback = this.options.allowLoopback;
    const lookup: LookupFunction = (hostname, lookupOptions: LookupOptions, callback) => {
      resolve(hostname, (error, addresses) => {
        if (error) return callback(error, '', 0);
        const refused = addresses.find((a) => !isAddressAllowed(a.address, allowLoopback));
        const first = addresses[0];
        if (refused || !first) {
          const address = refused?.address ?? 'no address';
          return callback(new RefusedAddressError(hostname, address), '', 0);
        }
        const family = lookupOptions.family;
        const matching = addresses.filter(
          (a) => family === undefined || family === 0 || a.family === family,
        );
        if (lookupOptions.all) {
          return (callback as unknown as (e: null, all: LookupAddress[]) => void)(null, matching);
        }
        const chosen = matching[0] ?? first;
        return callback(null, chosen.address, chosen.family);
      });
    };

    return new Promise<DeliveryResult>((settle) => {
      let settled = false;
      const done = (result: DeliveryResult) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        settle(result);
      };
      const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
      const req = send(
        url,
        {
          method: 'POST',
          headers: { ...request.headers, 'Content-Length': Buffer.byteLength(request.body) },
          lookup,
          agent: false,
        },
        (res) => {
          // The status is all we want: the body is never read, whatever its size or pace, so
          // a receiver cannot hold the task (or the local process) by trickling one.
          done({ kind: 'response', status: res.statusCode ?? 0 });
          res.destroy();
        },
      );
      const timeoutMs = this.options.timeoutMs ?? CALLBACK_ATTEMPT_TIMEOUT_MS;
      const timer = setTimeout(() => {
        req.destroy(new Error(`no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      // An error after the answer (our own hanging up on its body) changes nothing: `done`
      // settles once.
      req.on('error', (error: NodeJS.ErrnoException) => {
        if (error instanceof RefusedAddressError) {
          done({ kind: 'refused', reason: error.message });
          return;
        }
        done({
          kind: 'network_error',
          error: error.code ? `${error.code}: ${error.message}` : error.message,
        });
      });
      req.end(request.body);
    });
  }
}

/**
 * Local mode only: sends a copy of each attempt to the local webhook stand-in, which records it
 * in the outbox (`channel: "webhook"`). Failures to record are ignored by the caller.
 */
export class HttpCallbackLog implements CallbackLog {
  constructor(private readonly endpoint: string) {}

  async record(entry: Parameters<CallbackLog['record']>[0]): Promise<void> {
    const response = await fetch(`${this.endpoint.replace(/\/$/, '')}/deliveries`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        intent_id: entry.intentId,
        url: entry.url,
        body: entry.body,
        signature: entry.signature,
        jws: entry.jws,
        attempt: entry.attempt,
        ok: entry.ok,
        status: entry.result.kind === 'response' ? entry.result.status : null,
        error:
          entry.result.kind === 'refused'
            ? entry.result.reason
            : entry.result.kind === 'network_error'
              ? entry.result.error
              : null,
      }),
    });
    await response.body?.cancel();
  }
}
