import { AppError } from '@omnimall/service-kit';
import { RecentActivity } from '../src/domain/activity';
import { configBlockReasons, decideOverride, effectiveConfig, INITIAL_CONFIG, pickText, type ConfigVersion } from '../src/domain/config';
import { hashApiKey, issueApiKey, keyIdOf, matchesHash } from '../src/domain/credentials';
import { backoffMs } from '../src/domain/delivery';
import { buildNotifications, buildSyncNoticeNotifications, RECIPIENTS_PER_NOTIFICATION } from '../src/domain/notifications';
import {
  clipped,
  PARTNER_FIELD_MAX_CHARS,
  PARTNER_RECORD_MAX_BYTES,
  partnerOrderProblems,
  partnerRecordTooLarge,
} from '../src/domain/partner';
import { RegisterChannelBody, UpdateChannelBody } from '../src/domain/registry';
import { signatureHeader, verifySignature } from '../src/domain/signature';
import { validChannel } from './support/fixtures';

function fieldsOf(schema: typeof RegisterChannelBody | typeof UpdateChannelBody, body: unknown): string[] {
  const r = schema.safeParse(body);
  return r.success ? [] : r.error.issues.map((i) => i.path.join('.')).sort();
}

describe('registration validation, per field', () => {
  it('accepts a valid channel and canonicalises its language tags', () => {
    const r = RegisterChannelBody.parse(validChannel);
    expect(r.languages).toEqual(['de-DE', 'en']);
    expect(r.masterChannel).toBeUndefined();
  });

  it.each([
    ['code', { code: 'Web DE' }],
    ['kind', { kind: 'fax' }],
    ['branding.logoUrl', { branding: { ...validChannel.branding, logoUrl: 'not a url' } }],
    ['branding.imageUrls.0', { branding: { ...validChannel.branding, imageUrls: ['ftp://x/y'] } }],
    ['branding.colors.primary', { branding: { ...validChannel.branding, colors: { primary: 'red' } } }],
    ['branding.colors.accent', { branding: { ...validChannel.branding, colors: { primary: '#000000', accent: '#12345' } } }],
    ['branding.fonts.body', { branding: { ...validChannel.branding, fonts: { heading: 'Inter', body: '<script>' } } }],
    ['country', { country: 'EU' }],
    ['country', { country: 'de' }],
    ['region', { region: 'mars' }],
    ['languages.1', { languages: ['en', 'en_US'] }],
    ['languages', { languages: [] }],
    ['currencies.0', { currencies: ['EURO'] }],
    ['manager.roles', { manager: { accountId: 'stf_9', roles: ['seller'] } }],
    ['allowedDataRegions.0', { allowedDataRegions: ['moon'] }],
    ['masterChannel', { kind: 'affiliate' }],
    ['masterChannel', { masterChannel: 'web-de' }],
  ])('refuses a bad %s', (field, patch) => {
    expect(fieldsOf(RegisterChannelBody, { ...validChannel, ...patch })).toEqual([field]);
  });

  it('reports every missing field at once', () => {
    expect(fieldsOf(RegisterChannelBody, {})).toEqual([
      'branding',
      'code',
      'country',
      'currencies',
      'kind',
      'languages',
      'manager',
      'name',
      'region',
    ]);
  });

  it('keeps code and kind immutable on update', () => {
    expect(fieldsOf(UpdateChannelBody, { code: 'other', kind: 'kiosk' })).toEqual(['code', 'kind']);
    expect(fieldsOf(UpdateChannelBody, { name: 'New name', languages: ['fr'] })).toEqual([]);
  });
});

describe('central configuration rules', () => {
  const cfg: ConfigVersion = { ...INITIAL_CONFIG, version: 3, minimumVersion: 2 };
  const subject = (over: Partial<Parameters<typeof configBlockReasons>[0]> = {}) => ({
    languages: ['de-DE', 'en'],
    appliedConfigVersion: 3,
    overrides: {},
    ...over,
  });

  it('blocks a channel applying a version older than the minimum, not one that has not reported', () => {
    expect(configBlockReasons(subject({ appliedConfigVersion: 1 }), cfg)).toEqual(['outdated_config_version']);
    expect(configBlockReasons(subject({ appliedConfigVersion: 2 }), cfg)).toEqual([]);
    expect(configBlockReasons(subject({ appliedConfigVersion: null }), cfg)).toEqual([]);
  });

  it('blocks a channel whose languages lack a mandatory text, until an override supplies it', () => {
    expect(configBlockReasons(subject({ languages: ['ja'] }), cfg)).toEqual(['missing_compliance_text:compliance.termsOfSale:ja']);
    const termsJa = { ...(INITIAL_CONFIG.entries['compliance.termsOfSale'].value as object), ja: 'すべての販売は販売条件に従います。' };
    expect(configBlockReasons(subject({ languages: ['ja'], overrides: { 'compliance.termsOfSale': termsJa } }), cfg)).toEqual([]);
  });

  it('lets a channel override only overridable keys, with a value of the same shape', () => {
    const code = (key: string, value: unknown) => {
      try {
        decideOverride(cfg, key, value);
        return 'ok';
      } catch (err) {
        return (err as AppError).code;
      }
    };
    expect(code('branding.primaryColor', '#000000')).toBe('ok');
    expect(code('rules.maxCartLines', 5)).toBe('not_overridable');
    expect(code('compliance.privacyNotice', { en: 'x' })).toBe('not_overridable');
    expect(code('rules.returnWindowDays', 'thirty')).toBe('validation_failed');
    expect(code('template.maintenance.customer', { en: '' })).toBe('validation_failed');
    expect(code('nope.key', 1)).toBe('config_key_not_found');
    expect(effectiveConfig(cfg, { 'branding.primaryColor': '#000000', 'rules.maxCartLines': 1 })).toMatchObject({
      'branding.primaryColor': '#000000',
      'rules.maxCartLines': 100,
    });
  });

  it('picks texts by exact tag, base language, then English', () => {
    const t = { en: 'E', de: 'D', 'pt-BR': 'P' };
    expect(pickText(t, 'de-CH')).toEqual({ language: 'de', text: 'D' });
    expect(pickText(t, 'pt-PT')).toEqual({ language: 'pt-BR', text: 'P' });
    expect(pickText(t, 'ko')).toEqual({ language: 'en', text: 'E' });
  });
});

describe('notifications from templates', () => {
  const channel = {
    code: 'web-de',
    name: 'Omnimall DE',
    languages: ['de-DE', 'de-AT', 'fr'],
    overrides: {},
    expectedBackAt: new Date('2030-01-01T02:00:00Z'),
    blockReasons: [],
  };

  it('renders maintenance messages per audience in the channel languages', () => {
    const drafts = buildNotifications(channel, 'maintenance', INITIAL_CONFIG, ['c1', 'c2']);
    const summary = drafts.map((d) => `${d.audience}:${d.language}`);
    expect(summary).toEqual(['customer:de', 'customer:fr', 'seller:de', 'seller:en', 'admin:en']);
    const de = drafts.find((d) => d.audience === 'customer' && d.language === 'de')!;
    expect(de.message).toBe(
      'Omnimall DE wird bis 2030-01-01T02:00:00.000Z gewartet. Ihr Warenkorb bleibt erhalten: Sie können ihn weiter ansehen und danach wieder ändern und bestellen.',
    );
    expect(de.recipientIds).toEqual(['c1', 'c2']);
  });

  it('tells customers of a maintenance, in each language, that their cart is kept and can still be viewed', () => {
    const drafts = buildNotifications({ ...channel, languages: ['en', 'de', 'fr'] }, 'maintenance', INITIAL_CONFIG, ['c1']);
    const customer = Object.fromEntries(drafts.filter((d) => d.audience === 'customer').map((d) => [d.language, d.message]));
    expect(customer.en).toBe(
      'Omnimall DE is under maintenance until 2030-01-01T02:00:00.000Z. Your cart is kept safe: you can still view it, and change it or check out once we are back.',
    );
    expect(customer.de).toMatch(/Warenkorb bleibt erhalten: Sie können ihn weiter ansehen/);
    expect(customer.fr).toMatch(/panier est conservé : vous pouvez toujours le consulter/);
  });

  it('uses the channel override of a template and chunks recipients', () => {
    const ids = Array.from({ length: RECIPIENTS_PER_NOTIFICATION + 1 }, (_, i) => `c${i}`);
    const drafts = buildNotifications(
      { ...channel, languages: ['fr'], overrides: { 'template.sunset.customer': { fr: 'Adieu {channelName}' } } },
      'sunset',
      INITIAL_CONFIG,
      ids,
    );
    const customers = drafts.filter((d) => d.audience === 'customer');
    expect(customers.map((d) => [d.message, d.recipientIds.length])).toEqual([
      ['Adieu Omnimall DE', RECIPIENTS_PER_NOTIFICATION],
      ['Adieu Omnimall DE', 1],
    ]);
    expect(new Set(drafts.map((d) => d.part)).size).toBe(drafts.length);
  });

  it('addresses seller notices to the sellers given, chunked, or to every seller when none is known', () => {
    const sellers = Array.from({ length: RECIPIENTS_PER_NOTIFICATION + 1 }, (_, i) => `s${i}`);
    const drafts = buildNotifications({ ...channel, languages: ['fr'] }, 'sunset', INITIAL_CONFIG, [], sellers);
    expect(drafts.filter((d) => d.audience === 'seller').map((d) => [d.part, d.recipientIds.length])).toEqual([
      ['seller:en:0', RECIPIENTS_PER_NOTIFICATION],
      ['seller:en:1', 1],
    ]);
    expect(drafts.find((d) => d.audience === 'admin')!.recipientIds).toEqual([]);
    const broadcast = buildNotifications(channel, 'maintenance', INITIAL_CONFIG, ['c1']);
    expect(broadcast.filter((d) => d.audience === 'seller').map((d) => [d.part, d.recipientIds])).toEqual([
      ['seller:de:0', []],
      ['seller:en:0', []],
    ]);
  });

  it('alerts only admins when commerce is blocked', () => {
    const drafts = buildNotifications({ ...channel, blockReasons: ['outdated_config_version'] }, 'commerce_blocked', INITIAL_CONFIG, [
      'c1',
    ]);
    expect(drafts.map((d) => [d.audience, d.message])).toEqual([
      ['admin', 'Commerce on channel web-de is blocked: outdated_config_version.'],
    ]);
  });
});

describe('notifications from sync notices', () => {
  const delayed = { kind: 'propagation_delayed' as const, subject: 'Delayed', message: 'A change is delayed.' };

  it('gives customers the channel languages with a text, English (the notice) for the others, recipients chunked', () => {
    const ids = Array.from({ length: RECIPIENTS_PER_NOTIFICATION + 1 }, (_, i) => `c${i}`);
    const drafts = buildSyncNoticeNotifications({ ...delayed, audience: 'customer' }, ['de-CH', 'de-AT', 'ja', 'en-GB'], ids);
    expect(drafts.map((d) => [d.part, d.recipientIds.length])).toEqual([
      ['customer:de:0', RECIPIENTS_PER_NOTIFICATION],
      ['customer:de:1', 1],
      ['customer:en:0', RECIPIENTS_PER_NOTIFICATION],
      ['customer:en:1', 1],
    ]);
    expect(drafts[0].subject).toBe('Einige Änderungen verzögern sich');
    expect(drafts[2]).toMatchObject({ language: 'en', subject: 'Delayed', message: 'A change is delayed.', kind: 'propagation_delayed' });
  });

  it('gives admins one English message with no recipients', () => {
    expect(buildSyncNoticeNotifications({ ...delayed, audience: 'admin' }, ['fr'], ['c1'])).toEqual([
      { ...delayed, audience: 'admin', language: 'en', recipientIds: [], part: 'admin:en:0' },
    ]);
  });
});

describe('signatures, keys and backoff', () => {
  it('verifies an HMAC-SHA256 signature over timestamp and body, and nothing else', () => {
    const body = JSON.stringify({ a: 1 });
    const now = Date.now();
    const header = signatureHeader('s3cret', body, now);
    expect(header).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(verifySignature('s3cret', header, body, now)).toBe(true);
    expect(verifySignature('other', header, body, now)).toBe(false);
    expect(verifySignature('s3cret', header, body + ' ', now)).toBe(false);
    expect(verifySignature('s3cret', header, body, now + 10 * 60_000)).toBe(false);
    expect(verifySignature('s3cret', 't=abc,v1=zz', body, now)).toBe(false);
  });

  it('issues API keys whose hash alone verifies them', () => {
    const k = issueApiKey();
    expect(keyIdOf(k.apiKey)).toBe(k.keyId);
    expect(k.hash).toBe(hashApiKey(k.apiKey));
    expect(k.apiKey).not.toContain(k.hash);
    expect(matchesHash(k.apiKey, k.hash)).toBe(true);
    expect(matchesHash(issueApiKey().apiKey, k.hash)).toBe(false);
    expect(keyIdOf('ock_nothex_abc')).toBeNull();
  });

  it('backs off exponentially up to a cap', () => {
    const fixed = () => 0.5;
    expect([1, 2, 3, 4, 10].map((a) => backoffMs(a, 100, 1000, fixed))).toEqual([100, 200, 400, 800, 1000]);
  });
});

describe('partner record validation', () => {
  const rec = {
    envelope: {
      eventId: 'e',
      type: 't',
      occurredAt: 0,
      producer: 'partner',
      sourceChannel: null,
      correlationId: 'c',
      aggregateId: 'po-1',
      aggregateVersion: 1,
    },
    partnerChannel: 'aff-1',
    partnerOrderId: 'po-1',
    partnerCustomerId: 'pc-1',
    status: 'paid',
    currency: 'EUR',
    totalMinor: 1299,
    statusAt: Date.now(),
  };
  const ch = { kind: 'affiliate' as const, state: 'active' as const, currencies: ['EUR'] };
  it('accepts a valid record and names each problem of an invalid one', () => {
    expect(partnerOrderProblems(rec, ch)).toEqual([]);
    expect(partnerOrderProblems(rec, null)).toEqual(['unknown_channel: aff-1 is not a registered channel']);
    expect(partnerOrderProblems({ ...rec, status: 'teleported', currency: 'USD', totalMinor: -1 }, { ...ch, kind: 'web' })).toEqual([
      'not_a_partner_channel: aff-1 is a web channel',
      'invalid_status: teleported (expected created, paid, shipped, delivered, cancelled, returned)',
      'invalid_currency: USD is not a currency of aff-1',
      'invalid_total: totalMinor is negative',
    ]);
  });

  describe('size limits (the whole record and every string copied into events, headers or logs)', () => {
    it('accepts a record within every bound, up to the limits themselves', () => {
      expect(partnerRecordTooLarge(rec, 400)).toEqual([]);
      const atLimit = { ...rec, partnerOrderId: 'o'.repeat(PARTNER_FIELD_MAX_CHARS.partnerOrderId) };
      expect(partnerRecordTooLarge(atLimit, PARTNER_RECORD_MAX_BYTES)).toEqual([]);
    });

    it('refuses a record over the byte limit, naming the record', () => {
      expect(partnerRecordTooLarge(rec, 921_831)).toEqual([`too_large: record is 921831 bytes (at most ${PARTNER_RECORD_MAX_BYTES})`]);
    });

    it.each(Object.entries(PARTNER_FIELD_MAX_CHARS))('refuses %s one character over its bound (%i), naming it', (field, max) => {
      const long = 'x'.repeat(max + 1);
      const [head, tail] = field.split('.');
      const bad = tail ? { ...rec, envelope: { ...rec.envelope, [tail]: long } } : { ...rec, [head]: long };
      expect(partnerRecordTooLarge(bad)).toEqual([`too_large: ${field} is ${max + 1} characters (at most ${max})`]);
    });

    it('names every field over its bound and the record at once (a 921,831-byte correlation id)', () => {
      const huge = { ...rec, envelope: { ...rec.envelope, correlationId: 'c'.repeat(921_000) }, partnerCustomerId: 'p'.repeat(200) };
      expect(partnerRecordTooLarge(huge, 921_831)).toEqual([
        `too_large: record is 921831 bytes (at most ${PARTNER_RECORD_MAX_BYTES})`,
        'too_large: envelope.correlationId is 921000 characters (at most 128)',
        'too_large: partnerCustomerId is 200 characters (at most 128)',
      ]);
    });

    it('clips a long partner string for logs and headers, and leaves a short one as it is', () => {
      expect(clipped('po-1')).toBe('po-1');
      expect(clipped('a'.repeat(100), 10)).toBe('aaaaaaaaaa…(100 chars)');
    });
  });
});

describe('channel activity, recorded at most once per refresh interval', () => {
  const key = RecentActivity.key('web-de', 'c-1');

  it('writes the first activity, skips later ones within the interval, and writes again after it', () => {
    const recent = new RecentActivity(60_000);
    expect(recent.due(key, 1_000)).toBe(true);
    recent.record(key, 1_000);
    expect(recent.due(key, 1_000)).toBe(false); // a redelivery
    expect(recent.due(key, 60_999)).toBe(false);
    expect(recent.due(key, 61_000)).toBe(true);
    expect(recent.due(RecentActivity.key('app-de', 'c-1'), 2_000)).toBe(true); // another channel is another pair
  });

  it('writes an activity older than the recorded one (a clock behind, a replay from another instance)', () => {
    const recent = new RecentActivity(60_000);
    recent.record(key, 100_000);
    expect(recent.due(key, 99_000)).toBe(true);
  });

  it("forgets an erased customer's pairs and no one else's", () => {
    const recent = new RecentActivity(60_000);
    const other = RecentActivity.key('web-de', 'c-10');
    recent.record(key, 1_000);
    recent.record(RecentActivity.key('app-de', 'c-1'), 1_000);
    recent.record(other, 1_000);
    recent.forgetCustomer('c-1');
    expect(recent.due(key, 2_000)).toBe(true);
    expect(recent.due(RecentActivity.key('app-de', 'c-1'), 2_000)).toBe(true);
    expect(recent.due(other, 2_000)).toBe(false);
  });

  it('keeps at most `max` pairs, forgetting the least recently recorded', () => {
    const recent = new RecentActivity(60_000, 2);
    recent.record('a:1', 1_000);
    recent.record('b:1', 1_000);
    recent.record('a:1', 1_000); // a:1 is now the most recent
    recent.record('c:1', 1_000);
    expect(recent.due('b:1', 2_000)).toBe(true);
    expect(recent.due('a:1', 2_000)).toBe(false);
    expect(recent.due('c:1', 2_000)).toBe(false);
  });
});
