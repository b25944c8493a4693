/**
 * The signed callback: when an intent leaves `pending` and has a `callback_url`, Countersign
 * POSTs the final intent there, signed with the deployment's key over the time, the URL and the
 * raw body (`Countersign-JWS`, see `receipts.ts`) and, for one more release, with HMAC-SHA256
 * under the deprecated deployment-wide secret (`Countersign-Signature: t=<unix seconds>,v1=<hex>`
 * over `"<t>.<raw body>"`), retrying with backoff, and records every attempt in the trail.
 * Nothing here changes the decision.
 */
import { BlockList, isIP } from 'node:net';
import type { AuditEventDraft } from './audit';
import type { Transition } from './decisions';
import type { IntentState } from './intent';

// The signature is the SDK's, so that what the server signs and what agents verify is one code.
export {
  SIGNATURE_HEADER,
  signWebhook,
  verifyWebhookSignature,
} from '../../sdk/src/webhooks';

/**
 * The retry schedule of deliveries: the state machine's Retry on the DeliverCallback task (so it
 * survives crashes) and the deliver function (which says in the trail whether another attempt
 * follows) both read it. 2 s, doubling, each wait at most an hour: 13 attempts over ~2 hours.
 */
export const CALLBACK_RETRY = {
  intervalSeconds: 2,
  backoffRate: 2,
  maxDelaySeconds: 3600,
  /** Retries after the first attempt. */
  maxRetries: 12,
} as const;

/** One delivery attempt may take this long before it counts as a network failure. */
export const CALLBACK_ATTEMPT_TIMEOUT_MS = 10_000;

/** What one attempt came to, as the sender saw it. */
export type DeliveryResult =
  | { kind: 'response'; status: number }
  /** Not sent at all: the address is not allowed (SSRF) or the URL is unusable. Never retried. */
  | { kind: 'refused'; reason: string }
  /** Connection refused or reset, DNS failure, TLS error, no answer in time. */
  | { kind: 'network_error'; error: string };

/** 2xx delivers; network errors, 408, 429 and 5xx are worth another try; anything else is final. */
export function classifyDelivery(result: DeliveryResult): 'delivered' | 'retry' | 'give_up' {
  if (result.kind === 'refused') return 'give_up';
  if (result.kind === 'network_error') return 'retry';
  const { status } = result;
  if (status >= 200 && status < 300) return 'delivered';
  if (status === 408 || status === 429 || status >= 500) return 'retry';
  return 'give_up';
}

/** True when the trail already shows a delivered callback (a retried task must not send twice). */
export function callbackDelivered(events: { type: string; data: Record<string, unknown> }[]) {
  return events.some((event) => event.type === 'callback_sent' && event.data.ok === true);
}

/** Attempts so far, from the trail: the number of the next one is this plus one. */
export function callbackAttempts(events: { type: string }[]): number {
  return events.filter((event) => event.type === 'callback_sent').length;
}

/**
 * What the trail says of an attempt is read by every agent and reviewer who may read the
 * intent, while the URL is the agent's choice: naming a status exactly, the addresses a host
 * name resolved to or a network error's text would make the callback a probe of whatever the
 * deployment can reach. So the trail keeps the status class (`2xx`), a refusal without the
 * address, and a network error's code (`ECONNREFUSED`, `ETIMEDOUT`), never its message; the
 * details go to the operator's logs.
 */
function statusClass(status: number): string {
  return status >= 100 && status < 600 ? `${Math.floor(status / 100)}xx` : 'invalid';
}

const REFUSED_IN_TRAIL =
  'refused: the callback host is not a public address, or the URL is unusable';

function networkErrorInTrail(error: string): string {
  const code = /^(E[A-Z_]+|ERR_[A-Z0-9_]+):/.exec(error)?.[1];
  if (code) return `network error: ${code}`;
  return error.startsWith('no answer') ? 'network error: no answer in time' : 'network error';
}

/**
 * Records one attempt as a `callback_sent` event (failures too, with `ok: false` and why). The
 * intent itself does not change: its status, decision and `updated_at` stay as decided.
 */
export function recordCallbackAttempt(
  intent: IntentState,
  attempt: { number: number; result: DeliveryResult; willRetry: boolean; at: string },
): Transition {
  const { result } = attempt;
  const ok = classifyDelivery(result) === 'delivered';
  const event: AuditEventDraft = {
    type: 'callback_sent',
    at: attempt.at,
    actor: 'countersign',
    channel: 'webhook',
    data: {
      attempt: attempt.number,
      ok,
      status: result.kind === 'response' ? statusClass(result.status) : null,
      ...(result.kind === 'refused' ? { error: REFUSED_IN_TRAIL } : {}),
      ...(result.kind === 'network_error' ? { error: networkErrorInTrail(result.error) } : {}),
      ...(result.kind === 'response' && !ok ? { error: `HTTP ${statusClass(result.status)}` } : {}),
      will_retry: !ok && attempt.willRetry,
    },
  };
  return { intent, events: [event], signal: false };
}

// --- Where callbacks may go (SSRF) -------------------------------------------------------------

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/**
 * Addresses a callback must never reach outside local mode: this network, private, shared
 * (CGNAT, where some clouds put metadata services), loopback, link-local (169.254.169.254 is the
 * instance metadata service), documentation, benchmarking, multicast and reserved ranges, and
 * their IPv6 counterparts (unique-local fc00::/7 holds AWS's fd00:ec2::254). IPv4-mapped IPv6
 * addresses are checked as the IPv4 address they carry.
 */
const BLOCKED = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  BLOCKED.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['100::', 64],
  ['2001:db8::', 32],
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
] as const) {
  BLOCKED.addSubnet(network, prefix, 'ipv6');
}

export type AddressKind = 'public' | 'loopback' | 'blocked';

/** Classifies a literal IP address; anything that is not one is `blocked`. */
export function classifyAddress(address: string): AddressKind {
  const bare = address.replace(/^\[|\]$/g, '');
  const family = isIP(bare);
  if (family === 0) return 'blocked';
  const type = family === 4 ? 'ipv4' : 'ipv6';
  if (LOOPBACK.check(bare, type)) return 'loopback';
  if (BLOCKED.check(bare, type)) return 'blocked';
  // NAT64 (64:ff9b::/96) and IPv4-compatible (::/96) addresses carry an IPv4 address too.
  const embedded = family === 6 ? embeddedIpv4(bare) : null;
  if (embedded) return classifyAddress(embedded);
  return 'public';
}

export function isAddressAllowed(address: string, allowLoopback: boolean): boolean {
  const kind = classifyAddress(address);
  return kind === 'public' || (kind === 'loopback' && allowLoopback);
}

function embeddedIpv4(address: string): string | null {
  const groups = expandIpv6(address);
  if (!groups) return null;
  const nat64 = groups[0] === 0x64 && groups[1] === 0xff9b && groups.slice(2, 6).every((g) => !g);
  const compatible = groups.slice(0, 6).every((g) => g === 0);
  if (!nat64 && !compatible) return null;
  const high = groups[6] ?? 0;
  const low = groups[7] ?? 0;
  return [high >> 8, high & 0xff, low >> 8, low & 0xff].join('.');
}

/** The eight 16-bit groups of an IPv6 address (with `::` and a dotted IPv4 tail). */
function expandIpv6(address: string): number[] | null {
  let text = address.toLowerCase();
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted?.[1]) {
    const bytes = dotted[1].split('.').map(Number);
    const [a = 0, b = 0, c = 0, d = 0] = bytes;
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::', 2);
  const parse = (part: string) => (part ? part.split(':').map((g) => Number.parseInt(g, 16)) : []);
  const left = parse(head);
  const right = tail === undefined ? [] : parse(tail);
  const missing = 8 - left.length - right.length;
  if (missing < 0 || (tail === undefined && missing !== 0)) return null;
  const groups = [...left, ...new Array<number>(missing).fill(0), ...right];
  return groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : null;
}

/**
 * Why a callback URL cannot be accepted at creation, or null. Only https, without credentials;
 * a literal IP address or a `localhost` name must be public. Local mode also allows http (and
 * https) to loopback. Host names are checked again after DNS resolution at delivery.
 */
export function callbackUrlIssue(value: string, allowLoopback: boolean): string | null {
  const expected = allowLoopback
    ? 'must be an https URL, or http to a loopback address'
    : 'must be an https URL';
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return expected;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return expected;
  if (url.username || url.password) return 'must not carry a user name or password';
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const localName = host === 'localhost' || host.endsWith('.localhost');
  const kind: AddressKind = isIP(host) ? classifyAddress(host) : localName ? 'loopback' : 'public';
  if (kind === 'blocked') {
    return 'must not point to a private, loopback, link-local or metadata address';
  }
  if (kind === 'loopback') {
    return allowLoopback
      ? null
      : 'must not point to a private, loopback, link-local or metadata address';
  }
  return url.protocol === 'https:' ? null : expected;
}
