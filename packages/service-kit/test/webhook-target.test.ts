/**
 * Where a webhook may point (http/webhook-target.ts): pure rules, no network; then the pinned POST
 * (http/webhook-post.ts) against a receiver on 127.0.0.1, with test host names resolved by the test.
 */
import type { LookupAddress } from 'node:dns';
import http, { createServer, type IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { AppError } from '../src/errors';
import { assertTargetAllowed, DeliveryFailure, postToWebhook } from '../src/http/webhook-post';
import {
  addressRefusal,
  parseAllowList,
  STRICT_WEBHOOK_POLICY,
  validateWebhookUrl,
  webhookPolicyFromEnv,
} from '../src/http/webhook-target';

describe('addresses a webhook may not reach', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.8.9.10', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.16.5.4', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.169.254', 'linkLocal'], // the cloud metadata service
    ['100.64.0.1', 'carrierGradeNat'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['0.0.0.0', 'unspecified'],
    ['::1', 'loopback'],
    ['::', 'unspecified'],
    ['fc00::1', 'uniqueLocal'],
    ['fd12:3456::1', 'uniqueLocal'],
    ['fe80::1', 'linkLocal'],
    ['ff02::1', 'multicast'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:10.0.0.1', 'private'],
    ['::ffff:169.254.169.254', 'linkLocal'],
    ['::127.0.0.1', 'loopback'], // IPv4-compatible form
    ['64:ff9b::a00:1', 'rfc6052'], // NAT64 of 10.0.0.1
    ['not-an-address', 'invalid'],
  ])('refuses %s (%s)', (address, range) => {
    expect(addressRefusal(address)).toBe(range);
  });

  it.each(['93.184.216.34', '8.8.8.8', '2606:2800:220:1:248:1893:25c8:1946', '::ffff:93.184.216.34'])(
    'accepts the public %s',
    (address) => {
      expect(addressRefusal(address)).toBeNull();
    },
  );

  it('accepts what the allow-list names, and only that', () => {
    const allow = parseAllowList('127.0.0.1/32');
    expect(addressRefusal('127.0.0.1', allow)).toBeNull();
    expect(addressRefusal('::ffff:127.0.0.1', allow)).toBeNull();
    expect(addressRefusal('127.0.0.2', allow)).toBe('loopback');
    expect(addressRefusal('::1', allow)).toBe('loopback');
    expect(addressRefusal('10.0.0.1', parseAllowList('10.0.0.0/8, fd00::/8'))).toBeNull();
    expect(addressRefusal('fd00::5', parseAllowList('10.0.0.0/8, fd00::/8'))).toBeNull();
  });

  it('reads the allow-list as CIDRs or single addresses and refuses anything else', () => {
    expect(parseAllowList(undefined)).toEqual([]);
    expect(parseAllowList(' 127.0.0.1 , 10.0.0.0/8,::1 ')).toEqual(['127.0.0.1/32', '10.0.0.0/8', '::1/128']);
    expect(() => parseAllowList('localhost')).toThrow(/WEBHOOK_ALLOW_PRIVATE: "localhost"/);
    expect(() => parseAllowList('10.0.0.0/33')).toThrow(/WEBHOOK_ALLOW_PRIVATE/);
  });
});

describe('the form of a webhook URL', () => {
  const refusal = (url: string, allowHttp = false): [number, string] | null => {
    try {
      validateWebhookUrl(url, { allowHttp });
      return null;
    } catch (err) {
      return [(err as AppError).status, (err as AppError).code];
    }
  };

  it('wants https outside local mode, and accepts http only where the policy allows it', () => {
    expect(refusal('https://partner.example/hook')).toBeNull();
    expect(refusal('http://partner.example/hook')).toEqual([422, 'webhook_https_required']);
    expect(refusal('http://partner.example/hook', true)).toBeNull();
  });

  it('refuses what is not an absolute http(s) URL, and URLs carrying credentials', () => {
    for (const url of ['ftp://partner/hook', 'file:///etc/passwd', 'gopher://x', '/relative', 'https://user:pw@partner.example/hook'])
      expect(refusal(url, true)).toEqual([400, 'validation_failed']);
  });
});

describe('the webhook policy from the environment', () => {
  it('is strict when nothing is set', () => {
    expect(webhookPolicyFromEnv({})).toEqual(STRICT_WEBHOOK_POLICY);
    expect(STRICT_WEBHOOK_POLICY).toEqual({ allowHttp: false, allowPrivate: [] });
  });

  it('reads local mode and the allow-list, and stops on a value it does not understand', () => {
    expect(webhookPolicyFromEnv({ WEBHOOK_ALLOW_HTTP: 'true', WEBHOOK_ALLOW_PRIVATE: '127.0.0.1, 10.0.0.0/8' })).toEqual({
      allowHttp: true,
      allowPrivate: ['127.0.0.1/32', '10.0.0.0/8'],
    });
    expect(webhookPolicyFromEnv({ WEBHOOK_ALLOW_HTTP: '0' }).allowHttp).toBe(false);
    expect(() => webhookPolicyFromEnv({ WEBHOOK_ALLOW_HTTP: 'yes please' })).toThrow(/WEBHOOK_ALLOW_HTTP must be true or false/);
    expect(() => webhookPolicyFromEnv({ WEBHOOK_ALLOW_PRIVATE: 'intranet' })).toThrow(/WEBHOOK_ALLOW_PRIVATE: "intranet"/);
  });
});

describe('the pinned POST', () => {
  const seen: IncomingHttpHeaders[] = [];
  let answer = 200;
  const server = createServer((req, res) => {
    seen.push(req.headers);
    req.resume();
    req.on('end', () => {
      res.statusCode = answer;
      if (answer === 302) res.setHeader('location', 'http://127.0.0.1/elsewhere');
      res.end();
    });
  });
  const agents = { http: new http.Agent(), https: new https.Agent() };
  let port = 0;
  /** `*.partner.test` names and what they resolve to now. */
  const records = new Map<string, string>();
  const resolve = async (host: string): Promise<LookupAddress[]> => {
    const address = records.get(host);
    if (!address) throw Object.assign(new Error(`ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    return [{ address, family: 4 }];
  };
  const post = (url: string, allowPrivate: readonly string[] = ['127.0.0.1/32']) =>
    postToWebhook(new URL(url), {
      headers: { 'content-type': 'application/json' },
      body: '{}',
      timeoutMs: 5000,
      allowPrivate,
      resolve,
      agents,
    });
  const failure = (p: Promise<unknown>) =>
    p.then(
      () => null,
      (err: DeliveryFailure) => [err.message, err.httpStatus],
    );

  beforeAll(async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
  });
  beforeEach(() => {
    seen.length = 0;
    answer = 200;
  });

  it('connects to the address it checked, and names the host in the Host header', async () => {
    records.set('hook.partner.test', '127.0.0.1');
    expect(await post(`http://hook.partner.test:${port}/in`)).toBe(200);
    expect(seen.map((h) => h.host)).toEqual([`hook.partner.test:${port}`]);
  });

  it('refuses a name that resolves to a non-public address without connecting, and follows no redirect', async () => {
    records.set('moved.partner.test', '10.0.0.1');
    expect(await failure(post(`http://moved.partner.test:${port}/in`))).toEqual(['address_refused', null]);
    expect(await failure(post(`http://127.0.0.1:${port}/in`, []))).toEqual(['address_refused', null]);
    expect(await failure(post(`http://nowhere.partner.test:${port}/in`))).toEqual(['unreachable', null]);
    expect(seen).toEqual([]);
    answer = 302;
    expect(await failure(post(`http://127.0.0.1:${port}/in`))).toEqual(['redirect_not_followed', 302]);
    answer = 500;
    expect(await failure(post(`http://127.0.0.1:${port}/in`))).toEqual(['endpoint answered 500', 500]);
    expect(seen).toHaveLength(2);
  });

  it('answers registration with the 422 naming why a target is refused', async () => {
    records.set('meta.partner.test', '169.254.169.254');
    const refusal = (url: string) =>
      assertTargetAllowed(new URL(url), [], resolve).then(
        () => null,
        (err: AppError) => [err.status, err.code, err.details],
      );
    expect(await refusal('https://meta.partner.test/hook')).toEqual([
      422,
      'webhook_target_refused',
      { host: 'meta.partner.test', range: 'linkLocal' },
    ]);
    expect(await refusal('https://nowhere.partner.test/hook')).toEqual([
      422,
      'webhook_host_unresolvable',
      { host: 'nowhere.partner.test' },
    ]);
    records.set('public.partner.test', '93.184.216.34');
    expect(await refusal('https://public.partner.test/hook')).toBeNull();
  });
});
