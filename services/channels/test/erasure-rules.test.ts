/** Pure rules behind secrets at rest, erasure and credential publishing (no I/O). */
import { credentialStatus } from '../src/domain/credentials';
import { receives } from '../src/domain/delivery';
import { erasureNoticeId, pseudonymFor, pseudonymiseBody } from '../src/domain/erasure';
import { open, parseDeliveryKey, seal } from '../src/domain/sealed';
import { credentialUpdates } from '../src/events/out/channels.channel-credentials';

const key = Buffer.alloc(32, 3);

describe('sealed delivery parts (AES-256-GCM)', () => {
  it('opens with its key and delivery id only, and each box is fresh', () => {
    const box = seal(key, '{"token":"t0p-secret"}', 'dlv:1');
    expect(box).not.toContain('t0p-secret');
    expect(open(key, box, 'dlv:1')).toBe('{"token":"t0p-secret"}');
    expect(seal(key, '{"token":"t0p-secret"}', 'dlv:1')).not.toBe(box);
    expect(() => open(Buffer.alloc(32, 4), box, 'dlv:1')).toThrow();
    expect(() => open(key, box, 'dlv:2')).toThrow();
    const [v, iv, tag, ct] = box.split('.');
    const flipped = Buffer.from(ct, 'base64url');
    flipped[0] ^= 1;
    expect(() => open(key, [v, iv, tag, flipped.toString('base64url')].join('.'), 'dlv:1')).toThrow();
    expect(() => open(key, 'not a box', 'dlv:1')).toThrow(/not a sealed delivery box/);
  });

  it('takes a key of exactly 32 bytes', () => {
    expect(parseDeliveryKey('0f'.repeat(32), 'K')).toEqual(Buffer.alloc(32, 0x0f));
    expect(() => parseDeliveryKey('0f'.repeat(31), 'K')).toThrow(/K must be 32 random bytes/);
  });
});

describe('erasure rules', () => {
  it('replaces the customer everywhere in a body, and nothing else', () => {
    const body = JSON.stringify({
      id: 'e1:ep',
      data: { customerId: 'cus_1', cartId: 'cus_1', recipientIds: ['cus_1', 'cus_2'], note: 'for cus_1', n: 3, nested: { cus_1: true } },
    });
    expect(JSON.parse(pseudonymiseBody(body, 'cus_1', 'erased_r'))).toEqual({
      id: 'e1:ep',
      data: {
        customerId: 'erased_r',
        cartId: 'erased_r',
        recipientIds: ['erased_r', 'cus_2'],
        note: 'for erased_r',
        n: 3,
        nested: { erased_r: true },
      },
    });
  });

  it('derives the pseudonym and the notice ids from the request, never from the customer or the partner id in clear', () => {
    expect(pseudonymFor('req-1')).toBe('erased_req-1');
    const id = erasureNoticeId(key, 'req-1', 'aff-1', 'partner-42');
    expect(id).toBe(erasureNoticeId(key, 'req-1', 'aff-1', 'partner-42'));
    expect(id).not.toContain('partner-42');
    expect(erasureNoticeId(key, 'req-1', 'aff-1', 'partner-43')).not.toBe(id);
    expect(erasureNoticeId(key, 'req-1', 'aff-2', 'partner-42')).not.toBe(id);
    expect(erasureNoticeId(Buffer.alloc(32, 9), 'req-1', 'aff-1', 'partner-42')).not.toBe(id);
  });

  it('sends erasure notices to every endpoint, other kinds only to subscribers', () => {
    expect(receives({ events: ['stock.level'] }, 'customer.erased')).toBe(true);
    expect(receives({ events: ['stock.level'] }, 'order.status')).toBe(false);
    expect(receives({ events: ['order.status'] }, 'order.status')).toBe(true);
  });
});

describe('credential states', () => {
  const cred = (published: string | undefined, revokedAt: Date | null = null) => ({
    keyId: 'abcdefabcdef',
    hash: 'ff'.repeat(32),
    createdAt: new Date(0),
    createdBy: 'stf',
    revokedAt,
    published: published as never,
  });

  it('a retired channel’s keys are channel_retired whether revoked or not', () => {
    expect(credentialStatus({ revokedAt: null }, 'active')).toBe('active');
    expect(credentialStatus({ revokedAt: new Date() }, 'active')).toBe('revoked');
    expect(credentialStatus({ revokedAt: new Date() }, 'retired')).toBe('channel_retired');
    expect(credentialStatus({ revokedAt: null }, 'retired')).toBe('channel_retired');
  });

  it('publishes only the keys whose published state is behind, and marks them', () => {
    const now = new Date(1000);
    const { credentials, events } = credentialUpdates(
      'web-de',
      [cred('active'), cred(undefined), cred('active', new Date())],
      'active',
      now,
    );
    expect(events.map((e) => [e.value.status, e.value.changedAt, e.key])).toEqual([
      ['active', 1000, 'abcdefabcdef'],
      ['revoked', 1000, 'abcdefabcdef'],
    ]);
    expect(credentials.map((c) => c.published)).toEqual(['active', 'active', 'revoked']);
    expect(credentialUpdates('web-de', credentials, 'active', now).events).toEqual([]);
    expect(credentialUpdates('web-de', credentials, 'retired', now).events.map((e) => e.value.envelope.aggregateVersion)).toEqual([
      3, 3, 3,
    ]);
  });
});
