/** Where a webhook may point (domain/webhook-target.ts): pure rules, no network. */
import { AppError } from '@omnimall/service-kit/errors';
import { addressRefusal, parseAllowList, validateWebhookUrl } from '../src/domain/webhook-target';
import { channelsSettings } from '../src/settings';
import { WITH_KEY } from './support/fixtures';

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

describe('webhook settings from the environment', () => {
  it('defaults to https only, public addresses only and 10 endpoints per channel', () => {
    expect(channelsSettings(WITH_KEY).webhooks).toEqual({ allowHttp: false, allowPrivate: [], maxEndpointsPerChannel: 10 });
  });

  it('reads local mode, the allow-list and the cap', () => {
    expect(
      channelsSettings({
        ...WITH_KEY,
        WEBHOOK_ALLOW_HTTP: 'true',
        WEBHOOK_ALLOW_PRIVATE: '127.0.0.1',
        WEBHOOK_MAX_ENDPOINTS_PER_CHANNEL: '3',
      }).webhooks,
    ).toEqual({ allowHttp: true, allowPrivate: ['127.0.0.1/32'], maxEndpointsPerChannel: 3 });
    expect(() => channelsSettings({ ...WITH_KEY, WEBHOOK_ALLOW_HTTP: 'yes please' })).toThrow(/WEBHOOK_ALLOW_HTTP must be true or false/);
    expect(() => channelsSettings({ ...WITH_KEY, WEBHOOK_MAX_ENDPOINTS_PER_CHANNEL: '0' })).toThrow(/WEBHOOK_MAX_ENDPOINTS_PER_CHANNEL/);
  });
});
