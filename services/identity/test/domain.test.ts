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
import { DEFAULT_THROTTLE, delayAfter, waitBefore, windowEnd, windowOf } from '../src/domain/login-throttle';
import { isResetToken, newResetToken, resetTokenHash } from '../src/domain/password-reset';
import { editStaff, type StaffAccount } from '../src/domain/staff';
import { activeOn } from '../src/domain/customer';
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

describe('login throttling (progressive delay, never a lock)', () => {
  const rule = { free: 3, baseMs: 1000, maxMs: 8000 };
  it('lets the free attempts pass, then doubles the delay up to its bound', () => {
    expect([0, 1, 2].map((n) => delayAfter(n, rule))).toEqual([0, 0, 0]);
    expect([3, 4, 5, 6, 7, 50].map((n) => delayAfter(n, rule))).toEqual([1000, 2000, 4000, 8000, 8000, 8000]);
  });

  it('admits an attempt once the delay since the previous one has passed', () => {
    expect(waitBefore(null, rule, 5000)).toBe(0);
    expect(waitBefore({ n: 2, last: 5000 }, rule, 5000)).toBe(0);
    expect(waitBefore({ n: 2, last: 5009 }, rule, 5000)).toBe(0); // a parallel attempt stamped later

    expect(waitBefore({ n: 4, last: 5000 }, rule, 5500)).toBe(1500);
    expect(waitBefore({ n: 4, last: 5000 }, rule, 7000)).toBe(0);
  });

  it('counts in fixed windows whose counters can be dropped at their end', () => {
    const policy = { ...DEFAULT_THROTTLE, windowMs: 60_000 };
    expect(windowOf(119_999, policy)).toBe(1);
    expect(windowOf(120_000, policy)).toBe(2);
    expect(windowEnd(61_000, policy).getTime()).toBe(120_000);
  });
});

describe('staff changes', () => {
  const admin: StaffAccount = {
    _id: 'a1',
    email: 'a@x.test',
    passwordHash: 'h',
    roles: ['admin'],
    channels: [],
    createdBy: 'b',
    createdAt: new Date(),
  };
  const mgr: StaffAccount = { ...admin, _id: 'm1', roles: ['channel_manager'], channels: ['web'], version: 4 };
  it('names what changed and counts the version', () => {
    expect(editStaff(mgr, { disabled: true }, 'a1')).toMatchObject({ changes: ['disabled'], next: { disabled: true, version: 5 } });
    expect(editStaff(mgr, { roles: ['seller'], channels: [] }, 'a1').changes).toEqual(['roles_changed', 'channels_changed']);
    expect(editStaff(mgr, { roles: ['channel_manager'], disabled: false }, 'a1').changes).toEqual([]);
  });

  it('refuses an admin disabling themself or dropping their own admin role, and an unscoped manager', () => {
    expect(() => editStaff(admin, { disabled: true }, 'a1')).toThrow(expect.objectContaining({ code: 'own_admin_access' }));
    expect(() => editStaff(admin, { roles: ['seller'] }, 'a1')).toThrow(expect.objectContaining({ code: 'own_admin_access' }));
    expect(() => editStaff(mgr, { channels: [] }, 'a1')).toThrow(expect.objectContaining({ code: 'channel_scope_required' }));
  });
});

describe('password-reset tokens and channel activity', () => {
  it('are random, checked by shape, and stored as a hash', () => {
    const t = newResetToken();
    expect(isResetToken(t)).toBe(true);
    expect(isResetToken(`${t}x`)).toBe(false);
    expect(newResetToken()).not.toBe(t);
    expect(resetTokenHash(t)).toMatch(/^[0-9a-f]{64}$/);
    expect(resetTokenHash(t)).not.toContain(t);
  });

  it('counts the registration channel and the channels logged in through', () => {
    expect(activeOn({ registeredChannel: 'web', channels: undefined }, 'web')).toBe(true);
    expect(activeOn({ registeredChannel: 'web', channels: ['web', 'app'] }, 'app')).toBe(true);
    expect(activeOn({ registeredChannel: 'web', channels: ['web'] }, 'app')).toBe(false);
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
