/**
 * Resolving and calling a webhook target without letting whoever registered it reach into our own
 * network (SSRF). Used by channels' partner webhooks and the audit's incident feed.
 *
 * Guarantees:
 * - the host is resolved at registration and again at every delivery, and every address it resolves
 *   to must pass `addressRefusal` (webhook-target.ts); one refused address refuses the host,
 *   so a name with a public and a private record cannot slip through;
 * - the connection is pinned to the address that was checked: the socket's `lookup` answers with it
 *   instead of resolving again, so DNS rebinding between the check and the connect changes nothing,
 *   while the Host header and TLS (SNI and certificate check) still use the URL's host name;
 * - redirects are never followed (node:http does not follow them, and a 3xx is a failure);
 * - what a failure records is neutral: `unreachable` for every network failure (refused, reset,
 *   timeout, TLS, DNS), `address_refused`, `redirect_not_followed` or `endpoint answered <status>`,
 *   so the delivery listing is no port-scan oracle. The detail goes to the service's log only.
 */
import { promises as dns, type LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { addressRefusal, hostUnresolvable, ipLiteralOf, targetRefused } from './webhook-target';

/** Resolves a host name to all its addresses (the system resolver unless a test gives another). */
export type Resolver = (host: string) => Promise<LookupAddress[]>;
export const systemResolver: Resolver = (host) => dns.lookup(host, { all: true, verbatim: true });

/** A delivery attempt that failed; `message` is what the delivery records (neutral, see the header). */
export class DeliveryFailure extends Error {
  constructor(
    message: 'unreachable' | 'address_refused' | 'redirect_not_followed' | `endpoint answered ${number}`,
    readonly httpStatus: number | null = null,
    /** For the log only: what really happened. */
    readonly detail?: string,
  ) {
    super(message);
  }
}

/** Why a target may not be called: `refused` (with the range) or `unresolvable`. */
class TargetRefusal extends Error {
  constructor(
    readonly kind: 'refused' | 'unresolvable',
    readonly host: string,
    readonly range = '',
  ) {
    super(`${kind} ${host} ${range}`);
  }
}

/** The checked address to connect to. */
async function resolveChecked(url: URL, allowPrivate: readonly string[], resolve: Resolver): Promise<LookupAddress> {
  const host = url.hostname;
  const literal = ipLiteralOf(url);
  const addresses = literal
    ? [{ address: literal, family: literal.includes(':') ? 6 : 4 }]
    : await resolve(host).catch(() => [] as LookupAddress[]);
  if (!addresses.length) throw new TargetRefusal('unresolvable', host);
  for (const a of addresses) {
    const range = addressRefusal(a.address, allowPrivate);
    if (range) throw new TargetRefusal('refused', host, range);
  }
  return addresses[0];
}

/** Registration's check: 422 webhook_target_refused or webhook_host_unresolvable. */
export async function assertTargetAllowed(url: URL, allowPrivate: readonly string[], resolve: Resolver = systemResolver): Promise<void> {
  try {
    await resolveChecked(url, allowPrivate, resolve);
  } catch (err) {
    if (!(err instanceof TargetRefusal)) throw err;
    throw err.kind === 'refused' ? targetRefused(err.host, err.range) : hostUnresolvable(err.host);
  }
}

/** A socket lookup that answers with the checked address only (no second resolution). */
function pinnedLookup(target: LookupAddress): LookupFunction {
  return (_host, opts, cb) => {
    if ((opts as { all?: boolean }).all) (cb as (e: null, a: LookupAddress[]) => void)(null, [target]);
    else cb(null, target.address, target.family);
  };
}

/** One POST: headers and body, its deadline, the allow-list of the policy, the resolver and keep-alive agents. */
export interface WebhookPostOptions {
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
  allowPrivate: readonly string[];
  resolve?: Resolver;
  agents: { http: http.Agent; https: https.Agent };
}

/** Keeps at most this much of an answer's body before dropping the connection (the body is not read). */
const MAX_ANSWER_BYTES = 64 * 1024;

/**
 * POSTs `body` to `url` pinned to a checked address. Resolves with the 2xx status; rejects with a
 * DeliveryFailure otherwise.
 */
export async function postToWebhook(url: URL, o: WebhookPostOptions): Promise<number> {
  let target: LookupAddress;
  try {
    target = await resolveChecked(url, o.allowPrivate, o.resolve ?? systemResolver);
  } catch (err) {
    if (err instanceof TargetRefusal)
      throw new DeliveryFailure(err.kind === 'refused' ? 'address_refused' : 'unreachable', null, err.message);
    throw err;
  }
  const secure = url.protocol === 'https:';
  const literal = ipLiteralOf(url);
  return new Promise<number>((resolve, reject) => {
    const req = (secure ? https : http).request({
      method: 'POST',
      hostname: literal ?? url.hostname,
      port: url.port || (secure ? 443 : 80),
      path: `${url.pathname}${url.search}`,
      headers: { ...o.headers, host: url.host, 'content-length': Buffer.byteLength(o.body) },
      agent: secure ? o.agents.https : o.agents.http,
      lookup: pinnedLookup(target),
      ...(secure && !literal ? { servername: url.hostname } : {}),
      signal: AbortSignal.timeout(o.timeoutMs),
    });
    req.on('response', (res) => {
      const status = res.statusCode ?? 0;
      let seen = 0;
      res.on('data', (chunk: Buffer) => {
        seen += chunk.length;
        if (seen > MAX_ANSWER_BYTES) res.destroy();
      });
      res.on('error', () => undefined);
      res.resume();
      if (status >= 200 && status < 300) resolve(status);
      else if (status >= 300 && status < 400) reject(new DeliveryFailure('redirect_not_followed', status));
      else reject(new DeliveryFailure(`endpoint answered ${status}`, status));
    });
    req.on('error', (err: NodeJS.ErrnoException) => reject(new DeliveryFailure('unreachable', null, err.code ?? err.message)));
    req.end(o.body);
  });
}
