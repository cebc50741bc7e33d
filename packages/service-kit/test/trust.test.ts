/**
 * The trust state's rules, pure (records applied directly, no Kafka): session revocations by sid and
 * by subject up to an instant, forgotten after notAfter; staff disabled and re-enabled; channel API
 * keys by hash; signing keys by recomputed kid; and the verifier bound to it refusing revoked and
 * retired tokens on the cached path too, and device tokens as bearer tokens (and the reverse).
 */
import { createHash } from 'node:crypto';
import {
  ForbiddenError,
  generateTokenKeys,
  TokenRevokedError,
  TokenSigner,
  TokenVerifier,
  TrustState,
  UnauthorizedError,
  type Principal,
  type TrustRevocation,
} from '../src';

const envelope = {
  eventId: 'e',
  type: 't',
  occurredAt: 0,
  producer: 'identity',
  sourceChannel: null,
  correlationId: 'c',
  aggregateId: 'a',
  aggregateVersion: 1,
};
const customer = (over: Partial<Principal> = {}): Principal => ({
  sub: 'c-1',
  kind: 'customer',
  roles: [],
  channels: [],
  channel: 'web',
  sid: 's-1',
  issuedAt: 1_000,
  ...over,
});
const hash = (key: string): string => createHash('sha256').update(key).digest('hex');

function revoke(
  trust: TrustState,
  r: { subject: string; sessionId?: string | null; revokedAt: number; notAfter: number; kind?: string },
): void {
  trust.applySessionRevoked({
    envelope,
    subject: r.subject,
    kind: r.kind ?? 'customer',
    sessionId: r.sessionId ?? null,
    reason: 'logout',
    revokedAt: r.revokedAt,
    notAfter: r.notAfter,
  });
}

async function signerAndKey(): Promise<{ signer: TokenSigner; publicKey: string }> {
  const { publicKey, privateKey } = await generateTokenKeys();
  return { signer: await TokenSigner.fromPem(privateKey), publicKey };
}

describe('TrustState: session revocations', () => {
  it('revokes one sid and leaves the subject other sessions valid', () => {
    let now = 5_000;
    const trust = new TrustState(() => now);
    revoke(trust, { subject: 'c-1', sessionId: 's-1', revokedAt: 4_000, notAfter: 10_000 });
    expect(trust.revocationOf(customer({ sid: 's-1' }))).toBe('session_revoked');
    expect(trust.revocationOf(customer({ sid: 's-2' }))).toBeNull();
    expect(trust.revocationOf(customer({ sub: 'c-2', sid: 's-1' }))).toBeNull();
    expect(trust.revocationOf(customer({ kind: 'staff', sid: 's-1' }))).toBeNull();
    now = 10_001;
    expect(trust.revocationOf(customer({ sid: 's-1' }))).toBeNull();
  });

  it('revokes every token of the subject issued at or before revokedAt, not those issued after (ms precision)', () => {
    const trust = new TrustState(() => 5_000);
    revoke(trust, { subject: 'c-1', revokedAt: 4_000, notAfter: 10_000 });
    expect(trust.revocationOf(customer({ issuedAt: 3_999, sid: 'a' }))).toBe('session_revoked');
    expect(trust.revocationOf(customer({ issuedAt: 4_000, sid: undefined }))).toBe('session_revoked');
    expect(trust.revocationOf(customer({ issuedAt: 4_001 }))).toBeNull();
  });

  it('ignores a revocation already past its notAfter, and emits revoked for one in force', () => {
    const trust = new TrustState(() => 5_000);
    const seen: TrustRevocation[] = [];
    trust.on('revoked', (r) => seen.push(r));
    revoke(trust, { subject: 'c-1', sessionId: 'old', revokedAt: 1_000, notAfter: 4_999 });
    revoke(trust, { subject: 'c-1', sessionId: 's-1', revokedAt: 4_000, notAfter: 9_000 });
    expect(trust.revocationOf(customer({ sid: 'old' }))).toBeNull();
    expect(seen).toEqual([{ subject: 'c-1', kind: 'customer', sessionId: 's-1', reason: 'session_revoked', cause: 'logout' }]);
  });
});

describe('TrustState: staff', () => {
  const staff = (issuedAt: number): Principal => ({ sub: 'st-1', kind: 'staff', roles: ['admin'], channels: [], channel: null, issuedAt });
  const change = (disabled: boolean, changedAt: number) => ({
    envelope,
    staffId: 'st-1',
    disabled,
    roles: ['admin'],
    channels: [],
    change: disabled ? 'disabled' : 'enabled',
    changedBy: 'root',
    changedAt,
  });

  it('refuses a disabled member at once; after a re-enable accepts tokens issued after it, not before', () => {
    const trust = new TrustState();
    const seen: TrustRevocation[] = [];
    trust.on('revoked', (r) => seen.push(r));
    trust.applyStaffChanged(change(false, 1_000));
    expect(trust.revocationOf(staff(500))).toBeNull();
    trust.applyStaffChanged(change(true, 2_000));
    expect(trust.revocationOf(staff(2_500))).toBe('staff_disabled');
    expect(seen).toEqual([{ subject: 'st-1', kind: 'staff', sessionId: null, reason: 'staff_disabled', cause: 'disabled' }]);
    trust.applyStaffChanged(change(false, 3_000));
    expect(trust.revocationOf(staff(1_500))).toBe('staff_disabled');
    expect(trust.revocationOf(staff(3_001))).toBeNull();
    // an older record read late changes nothing
    trust.applyStaffChanged(change(true, 2_000));
    expect(trust.revocationOf(staff(3_001))).toBeNull();
  });
});

describe('TrustState: channel API keys', () => {
  const cred = (keyId: string, channel: string, apiKey: string, status: string, changedAt = 1) => ({
    envelope,
    keyId,
    channel,
    keyHash: hash(apiKey),
    status,
    changedAt,
  });

  it('answers the channel of an active key and refuses unknown, revoked, retired and other-channel keys with their codes', () => {
    const trust = new TrustState();
    trust.applyCredential(cred('k1', 'web', 'secret-1', 'active'));
    trust.applyCredential(cred('k2', 'app', 'secret-2', 'revoked'));
    trust.applyCredential(cred('k3', 'old', 'secret-3', 'channel_retired'));
    expect(trust.channelOfKey('web', 'secret-1')).toBe('web');
    const refusal = (code: string, key: string): unknown => {
      try {
        trust.channelOfKey(code, key);
      } catch (err) {
        return { type: (err as Error).constructor, code: (err as UnauthorizedError).code, status: (err as UnauthorizedError).status };
      }
      return 'accepted';
    };
    expect(refusal('web', 'nope')).toEqual({ type: UnauthorizedError, code: 'channel_key_invalid', status: 401 });
    expect(refusal('app', 'secret-2')).toEqual({ type: UnauthorizedError, code: 'channel_key_revoked', status: 401 });
    expect(refusal('old', 'secret-3')).toEqual({ type: UnauthorizedError, code: 'channel_retired', status: 401 });
    expect(refusal('app', 'secret-1')).toEqual({ type: ForbiddenError, code: 'channel_mismatch', status: 403 });
    // revoked later, then a tombstone forgets the key
    trust.applyCredential(cred('k1', 'web', 'secret-1', 'revoked', 2));
    expect(refusal('web', 'secret-1')).toMatchObject({ code: 'channel_key_revoked' });
    return trust.apply('channels.channel-credentials', 'k1', null).then(() => {
      expect(refusal('web', 'secret-1')).toMatchObject({ code: 'channel_key_invalid' });
    });
  });

  it('refuses a record whose keyHash is not a hex SHA-256', () => {
    const trust = new TrustState();
    expect(() => trust.applyCredential({ ...cred('k1', 'web', 'x', 'active'), keyHash: 'plain-key' })).toThrow(/hex SHA-256/);
  });
});

describe('TrustState and the bound verifier: signing keys and revocations', () => {
  it('verifies tokens under a published key, refuses them once it is retired, and refuses a record whose kid is not its thumbprint', async () => {
    const { signer } = await signerAndKey();
    const trust = new TrustState();
    const verifier = (await TokenVerifier.fromJwks({ keys: [] })).boundTo(trust);
    const token = await signer.sign({ sub: 'c-1', kind: 'customer', roles: [], channels: [], channel: 'web' });
    await expect(verifier.verify(token)).rejects.toThrow(/not among the accepted keys/);
    const jwk = JSON.stringify({ kty: 'EC', crv: 'P-256', x: signer.publicJwk.x, y: signer.publicJwk.y });
    await expect(trust.applySigningKey({ envelope, kid: 'forged', jwk, status: 'active', changedAt: 1 })).rejects.toThrow(/thumbprint/);
    await trust.applySigningKey({ envelope, kid: signer.kid, jwk, status: 'active', changedAt: 1 });
    expect((await verifier.verify(token)).sub).toBe('c-1');
    expect(verifier.jwks().keys.map((k) => k.kid)).toEqual([signer.kid]);
    await trust.applySigningKey({ envelope, kid: signer.kid, jwk, status: 'retired', changedAt: 2 });
    await expect(verifier.verify(token)).rejects.toThrow(/identity retired/);
  });

  it('refuses a retired key even when it is configured locally', async () => {
    const { signer, publicKey } = await signerAndKey();
    const trust = new TrustState();
    const verifier = (await TokenVerifier.fromPem(publicKey)).boundTo(trust);
    const token = await signer.sign({ sub: 'c-1', kind: 'customer', roles: [], channels: [], channel: 'web' });
    expect((await verifier.verify(token)).sub).toBe('c-1');
    const jwk = JSON.stringify({ kty: 'EC', crv: 'P-256', x: signer.publicJwk.x, y: signer.publicJwk.y });
    await trust.applySigningKey({ envelope, kid: signer.kid, jwk, status: 'retired', changedAt: 1 });
    await expect(verifier.verify(token)).rejects.toThrow(/identity retired/);
    expect(verifier.jwks().keys).toEqual([]);
  });

  it('refuses a cached token as soon as its session is revoked, with the reason; issuedAt carries milliseconds', async () => {
    const { signer, publicKey } = await signerAndKey();
    const trust = new TrustState();
    const verifier = (await TokenVerifier.fromPem(publicKey)).boundTo(trust);
    const before = Date.now();
    const token = await signer.sign({ sub: 'c-7', kind: 'customer', roles: [], channels: [], channel: 'web', sid: 's-7' });
    const p = await verifier.verify(token);
    expect(p.issuedAt).toBeGreaterThanOrEqual(before);
    expect(p.issuedAt).toBeLessThanOrEqual(Date.now());
    revoke(trust, { subject: 'c-7', sessionId: 's-7', revokedAt: Date.now(), notAfter: Date.now() + 60_000 });
    const err = await verifier.verify(token).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TokenRevokedError);
    expect((err as TokenRevokedError).reason).toBe('session_revoked');
  });

  it('never takes a device token as a bearer token, nor an access token as a device token', async () => {
    const { signer, publicKey } = await signerAndKey();
    const verifier = await TokenVerifier.fromPem(publicKey);
    const device = await signer.signDevice({ deviceId: 'd-1', channel: 'kiosk' }, 60);
    const access = await signer.sign({ sub: 'c-1', kind: 'customer', roles: [], channels: [], channel: 'web' });
    await expect(verifier.verify(device)).rejects.toThrow(/device token is not a bearer token/);
    await expect(verifier.verifyDevice(access)).rejects.toThrow(/access token is not a device token/);
    expect(await verifier.verifyDevice(device)).toMatchObject({ deviceId: 'd-1', channel: 'kiosk' });
    // a device token is still refused as bearer once it is in the device cache
    await expect(verifier.verify(device)).rejects.toThrow(/device token/);
  });
});
