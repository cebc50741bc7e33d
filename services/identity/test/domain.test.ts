import { AppError } from '@omnimall/service-kit';
import { hashPassword, passwordProblem, verifyPassword } from '../src/domain/passwords';
import { applyStandingChange, effectiveStatus, refusal, type Standing } from '../src/domain/standing';
import { parseChannelDataRegions, residencyVerdict } from '../src/domain/residency';
import {
  decideRefresh,
  formatRefreshToken,
  hashSecret,
  newSecret,
  parseRefreshToken,
  rotated,
  USED_HASHES_KEPT,
} from '../src/domain/refresh-tokens';
import { afterFailure, lockedFor, type ThrottlePolicy } from '../src/domain/login-throttle';
import { erasedEmail, pseudonym } from '../src/domain/erasure';

const cheap = { N: 1024, r: 8, p: 1 };

describe('passwords (scrypt, per-user salt)', () => {
  it('verifies the right password and refuses a wrong one', async () => {
    const h = await hashPassword('correct horse battery', cheap);
    expect(h).toMatch(/^scrypt\$1024\$8\$1\$/);
    expect(await verifyPassword('correct horse battery', h)).toBe(true);
    expect(await verifyPassword('correct horse batterY', h)).toBe(false);
  });

  it('salts every hash, and refuses a malformed stored value', async () => {
    const [a, b] = await Promise.all([hashPassword('same password!', cheap), hashPassword('same password!', cheap)]);
    expect(a).not.toBe(b);
    expect(await verifyPassword('same password!', 'md5$abc')).toBe(false);
  });

  it('enforces a length policy', () => {
    expect(passwordProblem('short')).toMatch(/at least 10/);
    expect(passwordProblem('x'.repeat(201))).toMatch(/at most 200/);
    expect(passwordProblem('long enough pw')).toBeNull();
  });
});

describe('standing rules', () => {
  const base: Standing = { status: 'active', reason: null, until: null, loyaltyTier: 'standard', verified: false, dataRegion: 'eu' };
  const now = 1_700_000_000_000;

  it('bans, suspends until a time, and reinstates', () => {
    const banned = applyStandingChange(base, { kind: 'ban', reason: 'fraud' }, now);
    expect(banned).toMatchObject({ status: 'banned', reason: 'fraud' });
    expect(refusal(banned, now)?.code).toBe('customer_banned');
    const back = applyStandingChange(banned, { kind: 'reinstate', reason: 'appeal' }, now);
    expect(back.status).toBe('active');
    const suspended = applyStandingChange(base, { kind: 'suspend', reason: 'chargebacks', until: now + 1000 }, now);
    expect(refusal(suspended, now)).toMatchObject({ code: 'customer_suspended', until: now + 1000 });
  });

  it('ends a suspension by itself when its time passes', () => {
    const suspended = applyStandingChange(base, { kind: 'suspend', reason: 'cool-off', until: now + 1000 }, now);
    expect(effectiveStatus(suspended, now + 999)).toBe('suspended');
    expect(effectiveStatus(suspended, now + 1000)).toBe('active');
    expect(refusal(suspended, now + 1000)).toBeNull();
  });

  it('refuses impossible changes with a code', () => {
    const codeOf = (fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        return (e as AppError).code;
      }
      return 'none';
    };
    expect(codeOf(() => applyStandingChange(base, { kind: 'suspend', reason: 'x', until: now - 1 }, now))).toBe('suspension_in_past');
    expect(codeOf(() => applyStandingChange(base, { kind: 'reinstate', reason: null }, now))).toBe('customer_already_active');
    const erased = applyStandingChange(base, { kind: 'erase' }, now);
    expect(codeOf(() => applyStandingChange(erased, { kind: 'tier', loyaltyTier: 'gold' }, now))).toBe('customer_erased');
  });

  it('changes entitlements without touching standing', () => {
    const s = applyStandingChange(
      applyStandingChange(base, { kind: 'tier', loyaltyTier: 'gold' }, now),
      { kind: 'badge', verified: true },
      now,
    );
    expect(s).toMatchObject({ status: 'active', loyaltyTier: 'gold', verified: true });
  });
});

describe('data residency', () => {
  it('allows a region the channel may receive and names the rule otherwise', () => {
    expect(residencyVerdict('web', 'eu', { allowedDataRegions: ['eu', 'us'], source: 'channels' }).allowed).toBe(true);
    const v = residencyVerdict('us-kiosk', 'eu', { allowedDataRegions: ['us'], source: 'configuration' });
    expect(v).toMatchObject({ allowed: false, rule: 'data_residency', allowedRegions: ['us'], source: 'configuration' });
    expect(v.remediation).toMatch(/allowedDataRegions/);
  });

  it('denies a channel nobody declared', () => {
    expect(residencyVerdict('ghost', 'eu', null)).toMatchObject({ allowed: false, source: 'unknown_channel' });
  });

  it('parses CHANNEL_DATA_REGIONS and rejects bad shapes', () => {
    expect(parseChannelDataRegions('{"web":["eu","us"]}')).toEqual({ web: ['eu', 'us'] });
    expect(parseChannelDataRegions(undefined)).toEqual({});
    expect(() => parseChannelDataRegions('{"web":"eu"}')).toThrow(/array/);
    expect(() => parseChannelDataRegions('nope')).toThrow(/JSON/);
  });
});

describe('refresh token rotation', () => {
  const secret = newSecret();
  const family = {
    currentHash: hashSecret(secret),
    usedHashes: [hashSecret('old-secret-value-aaaaaaaa')],
    revokedAt: null,
    expiresAt: new Date(Date.now() + 60_000),
  };

  it('round-trips the token format', () => {
    const raw = formatRefreshToken({ familyId: 'fam_0123456789', secret });
    expect(parseRefreshToken(raw)).toEqual({ familyId: 'fam_0123456789', secret });
    expect(parseRefreshToken('garbage')).toBeNull();
  });

  it('rotates the current secret, detects reuse of a rotated one, and ignores strangers', () => {
    expect(decideRefresh(family, secret).outcome).toBe('rotate');
    expect(decideRefresh(family, 'old-secret-value-aaaaaaaa').outcome).toBe('reused');
    expect(decideRefresh(family, 'never-issued-secret-xxxxx').outcome).toBe('unknown');
    expect(decideRefresh({ ...family, revokedAt: new Date() }, secret).outcome).toBe('revoked');
    expect(decideRefresh({ ...family, expiresAt: new Date(0) }, secret).outcome).toBe('expired');
  });

  it('keeps the rotated-out hash for reuse detection, the newest USED_HASHES_KEPT only', () => {
    const next = rotated(family, 'next-hash');
    expect(next).toEqual({ currentHash: 'next-hash', usedHashes: [...family.usedHashes, family.currentHash] });
    expect(decideRefresh({ ...family, ...next }, secret).outcome).toBe('reused');
    const full = { currentHash: 'c', usedHashes: Array.from({ length: USED_HASHES_KEPT }, (_, i) => `u${i}`) };
    expect(rotated(full, 'd').usedHashes).toEqual([...full.usedHashes.slice(1), 'c']);
  });
});

describe('login throttling', () => {
  const policy: ThrottlePolicy = { accountMaxFailures: 3, addressMaxFailures: 10, windowMs: 60_000, lockoutMs: 30_000 };
  it('locks after the maximum failures within the window, then forgets', () => {
    let s = afterFailure(null, 3, policy, 0);
    s = afterFailure(s, 3, policy, 1000);
    expect(lockedFor(s, 1000)).toBe(0);
    s = afterFailure(s, 3, policy, 2000);
    expect(lockedFor(s, 2000)).toBe(30_000);
    expect(lockedFor(s, 32_000)).toBe(0);
    expect(afterFailure(s, 3, policy, 32_001).failures).toBe(1);
  });

  it('starts a new window when the old one is over', () => {
    const s = afterFailure(afterFailure(null, 3, policy, 0), 3, policy, 1);
    expect(afterFailure(s, 3, policy, 70_000)).toMatchObject({ failures: 1, lockedUntil: 0 });
  });
});

describe('erasure pseudonyms', () => {
  it('are stable for one value and salt, and reveal nothing of it', () => {
    expect(pseudonym('Ada@Example.com ', 's')).toBe(pseudonym('ada@example.com', 's'));
    expect(pseudonym('ada@example.com', 's')).not.toContain('ada');
    expect(pseudonym('ada@example.com', 's')).not.toBe(pseudonym('ada@example.com', 't'));
    expect(erasedEmail('c1')).toBe('erased+c1@erased.invalid');
  });
});
