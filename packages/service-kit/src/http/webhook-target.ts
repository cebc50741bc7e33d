/**
 * Where a webhook may point (pure rules, no I/O; the resolution and the pinned connection are in
 * webhook-post.ts). Shared by every service that calls URLs its users give (channels' partner
 * webhooks, the audit's incident feed); domain code imports it as
 * '@omnimall/service-kit/http/webhook-target', without the kit barrel.
 *
 * Guarantees:
 * - a URL is an absolute https URL without user info; plain http only when the policy allows it
 *   (local mode), so deliveries cannot be read or altered on the way outside a developer's machine;
 * - an address is acceptable only when ipaddr.js classifies it as global unicast. Loopback, RFC 1918
 *   private, RFC 4193 unique-local, link-local (with the 169.254.169.254 metadata service), CGNAT,
 *   multicast, broadcast, unspecified, reserved and documentation ranges, NAT64/6to4/Teredo forms
 *   that embed an IPv4 address, and the IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible
 *   (::a.b.c.d) forms of any of those are refused, so a channel cannot make this service call into
 *   its own network (SSRF);
 * - the only exception is the explicit allow-list (`WEBHOOK_ALLOW_PRIVATE`, CIDRs), meant for local
 *   tests whose receivers listen on 127.0.0.1.
 */
import ipaddr from 'ipaddr.js';
import { UnprocessableError, ValidationError } from '../errors';

/** The rules the webhook targets of a deployment follow (`webhookPolicyFromEnv` reads them). */
export interface WebhookPolicy {
  /** Plain http accepted (local mode only); otherwise https is required. */
  allowHttp: boolean;
  /** CIDR ranges accepted although they are not public (local tests); empty in production. */
  allowPrivate: readonly string[];
}

/** The production policy: https only, public addresses only. */
export const STRICT_WEBHOOK_POLICY: WebhookPolicy = { allowHttp: false, allowPrivate: [] };

/** A true/false setting: unset, empty, false or 0 is false; true or 1 is true; anything else stops the start. */
function flagEnv(env: NodeJS.ProcessEnv, name: string): boolean {
  const raw = (env[name] ?? '').trim().toLowerCase();
  if (raw === '' || raw === 'false' || raw === '0') return false;
  if (raw === 'true' || raw === '1') return true;
  throw new Error(`${name} must be true or false, not "${env[name]}"`);
}

/**
 * The policy of this deployment, read the same way by every service: WEBHOOK_ALLOW_HTTP=true accepts
 * plain http (local mode), WEBHOOK_ALLOW_PRIVATE a comma-separated list of CIDRs or addresses accepted
 * although not public (e.g. 127.0.0.1/32 for local test receivers). Unset: STRICT_WEBHOOK_POLICY.
 */
export function webhookPolicyFromEnv(env: NodeJS.ProcessEnv): WebhookPolicy {
  return { allowHttp: flagEnv(env, 'WEBHOOK_ALLOW_HTTP'), allowPrivate: parseAllowList(env.WEBHOOK_ALLOW_PRIVATE) };
}

type Parsed = ipaddr.IPv4 | ipaddr.IPv6;

/**
 * Parses `WEBHOOK_ALLOW_PRIVATE`: comma-separated CIDRs or single addresses (127.0.0.1 = 127.0.0.1/32).
 * Throws naming the first entry that is neither.
 */
export function parseAllowList(raw: string | undefined): string[] {
  const entries = (raw ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return entries.map((e) => {
    if (ipaddr.isValidCIDR(e)) {
      const [addr, bits] = ipaddr.parseCIDR(e);
      return `${addr.toString()}/${bits}`;
    }
    if (ipaddr.isValid(e)) {
      const addr = ipaddr.parse(e);
      return `${addr.toString()}/${addr.kind() === 'ipv4' ? 32 : 128}`;
    }
    throw new Error(`WEBHOOK_ALLOW_PRIVATE: "${e}" is not an IP address or CIDR range`);
  });
}

/** ::ffff:a.b.c.d and ::a.b.c.d stand for the IPv4 address inside them. */
function unwrap(addr: Parsed): Parsed {
  if (addr.kind() === 'ipv6') {
    const v6 = addr as ipaddr.IPv6;
    if (v6.isIPv4MappedAddress()) return v6.toIPv4Address();
    const p = v6.parts;
    // IPv4-compatible (deprecated, ::/96 apart from :: and ::1): judged as the IPv4 address it carries.
    if (p.slice(0, 6).every((x) => x === 0) && (p[6] !== 0 || p[7] > 1))
      return ipaddr.fromByteArray([p[6] >> 8, p[6] & 0xff, p[7] >> 8, p[7] & 0xff]);
  }
  return addr;
}

function allowed(addr: Parsed, allowPrivate: readonly string[]): boolean {
  return allowPrivate.some((cidr) => {
    const [net, bits] = ipaddr.parseCIDR(cidr);
    if (net.kind() !== addr.kind()) return false;
    return addr.kind() === 'ipv4'
      ? (addr as ipaddr.IPv4).match(net as ipaddr.IPv4, bits)
      : (addr as ipaddr.IPv6).match(net as ipaddr.IPv6, bits);
  });
}

/**
 * Why a connection to `address` is refused (the range it lies in, e.g. `loopback`, `private`,
 * `linkLocal`, `carrierGradeNat`, `uniqueLocal`), or null when it may be called. An unparsable
 * address is refused as `invalid`.
 */
export function addressRefusal(address: string, allowPrivate: readonly string[] = []): string | null {
  if (!ipaddr.isValid(address)) return 'invalid';
  const original = ipaddr.parse(address);
  const addr = unwrap(original);
  if (allowed(addr, allowPrivate) || allowed(original, allowPrivate)) return null;
  const range = addr.range();
  return range === 'unicast' ? null : range;
}

/** The host of a URL as an IP literal (brackets of IPv6 removed), or null for a name. */
export function ipLiteralOf(url: URL): string | null {
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  return ipaddr.isValid(host) ? host : null;
}

/**
 * The URL of a webhook, checked for form and scheme: 400 validation_failed when it is not an
 * absolute http(s) URL (or carries user info), 422 webhook_https_required when it is http and the
 * policy wants https. Where it points is checked after resolution (`targetRefused`).
 */
export function validateWebhookUrl(url: string, policy: Pick<WebhookPolicy, 'allowHttp'> = STRICT_WEBHOOK_POLICY): URL {
  let u: URL | null = null;
  try {
    u = new URL(url);
  } catch {
    u = null;
  }
  if (!u || (u.protocol !== 'https:' && u.protocol !== 'http:') || u.username || u.password || !u.hostname) {
    throw new ValidationError(
      'validation_failed',
      'the webhook URL is not an absolute http(s) URL without credentials',
      'send e.g. https://partner.example/hooks/omnimall',
      {
        fields: [{ field: 'body.url', problem: 'must be an absolute https URL without user info', code: 'invalid_format' }],
      },
    );
  }
  if (u.protocol === 'http:' && !policy.allowHttp)
    throw new UnprocessableError('webhook_https_required', 'webhook endpoints must use https', 'register an https:// URL');
  return u;
}

/** The 422 for a target whose host resolves (or is) an address webhooks may not reach. */
export function targetRefused(host: string, range: string): UnprocessableError {
  return new UnprocessableError(
    'webhook_target_refused',
    `the webhook host ${host} is not a public internet address`,
    'webhook endpoints must be reachable on the public internet; loopback, private, link-local and metadata addresses are refused',
    { host, range },
  );
}

/** The 422 for a host that does not resolve. */
export function hostUnresolvable(host: string): UnprocessableError {
  return new UnprocessableError(
    'webhook_host_unresolvable',
    `the webhook host ${host} does not resolve`,
    'register a host with a public DNS record',
    {
      host,
    },
  );
}
