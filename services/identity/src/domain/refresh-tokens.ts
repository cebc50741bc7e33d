import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Rotating refresh tokens. A token is `<familyId>.<secret>`; only sha256(secret) is stored. Each
 * refresh replaces the family's current secret and remembers the old hash: presenting an old secret
 * again means the token was copied (reuse), so the whole family (the session) is revoked.
 */
export interface RefreshToken {
  familyId: string;
  secret: string;
}

export function newSecret(): string {
  return randomBytes(32).toString('base64url');
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

export function formatRefreshToken(t: RefreshToken): string {
  return `${t.familyId}.${t.secret}`;
}

export function parseRefreshToken(raw: string): RefreshToken | null {
  const m = /^([A-Za-z0-9_-]{8,64})\.([A-Za-z0-9_-]{20,100})$/.exec(raw);
  return m ? { familyId: m[1], secret: m[2] } : null;
}

function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && timingSafeEqual(x, y);
}

export interface FamilyState {
  currentHash: string;
  usedHashes: string[];
  revokedAt: Date | null;
  expiresAt: Date;
}

export type RefreshDecision =
  { outcome: 'rotate' } | { outcome: 'revoked' } | { outcome: 'expired' } | { outcome: 'reused' } | { outcome: 'unknown' };

/** What a refresh with this secret means for the family. */
export function decideRefresh(family: FamilyState | null, secret: string, now = Date.now()): RefreshDecision {
  if (!family) return { outcome: 'unknown' };
  if (family.revokedAt) return { outcome: 'revoked' };
  const h = hashSecret(secret);
  if (sameHash(h, family.currentHash)) return family.expiresAt.getTime() <= now ? { outcome: 'expired' } : { outcome: 'rotate' };
  if (family.usedHashes.some((u) => sameHash(h, u))) return { outcome: 'reused' };
  return { outcome: 'unknown' };
}

/** A session: one refresh-token family, its `_id` the `sid` claim of the access tokens it signs. */
export interface Session extends FamilyState {
  _id: string;
  subject: string;
  kind: 'customer' | 'staff';
  channel: string | null;
  revokedReason: string | null;
  createdAt: Date;
  lastUsedAt: Date;
  address: string | null;
}

/** Rotated hashes kept per family for reuse detection. */
export const USED_HASHES_KEPT = 50;

/** The family's hashes after a rotation to `nextHash`: the current one joins the used ones (the newest USED_HASHES_KEPT). */
export function rotated(
  family: Pick<FamilyState, 'currentHash' | 'usedHashes'>,
  nextHash: string,
): Pick<FamilyState, 'currentHash' | 'usedHashes'> {
  return { currentHash: nextHash, usedHashes: [...family.usedHashes, family.currentHash].slice(-USED_HASHES_KEPT) };
}
