/**
 * TrustState: what this service instance knows, in memory, about whom to trust — identity's signing
 * keys, disabled staff, revoked sessions, and the channels' API keys — fed by the kit's trust reader
 * from the four table topics (identity.signing-keys, identity.staff-changed, identity.session-revoked,
 * channels.channel-credentials) and consulted on every request, so a revocation takes effect in every
 * instance as soon as its record arrives, without a call to another service.
 *
 * Guarantees:
 * - a signing key's `kid` is recomputed from its JWK (RFC 7638), never taken from the record; a record
 *   whose kid does not match, or whose key is not an EC P-256 public key, is refused (the reader logs it);
 *   a retired kid is refused even when it is also configured locally;
 * - a channel API key is checked by its SHA-256 compared in constant time with the published hash;
 *   the key itself is never held;
 * - a session revocation covers the token's `sid`, or every token of the subject issued at or before
 *   `revokedAt`; it is forgotten after its `notAfter` (no token it covers is valid then);
 * - a disabled staff member's tokens are refused at once; after a re-enable, tokens issued after it are
 *   accepted and those issued before it stay refused (as far as this instance saw the disable; a
 *   compacted topic read later keeps only the latest state, and those tokens expire within their TTL);
 * - `'revoked'` is emitted for each session revocation or staff disable that is still in force.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { calculateJwkThumbprint, importJWK, type JWK, type KeyLike } from 'jose';
import { LRUCache } from 'lru-cache';
import type { ChannelCredentialChanged, SessionRevoked, SigningKeyPublished, StaffChanged } from '@omnimall/contracts';
import { ForbiddenError, UnauthorizedError } from '../errors';
import { TOKEN_ALG, type Principal, type PublicJwk } from './tokens';

/** Why a verified token is no longer valid. */
export type RevocationReason = 'staff_disabled' | 'session_revoked';

/** What `'revoked'` carries: the subject whose session (or every session: `sessionId` null) ended. */
export interface TrustRevocation {
  subject: string;
  kind: 'customer' | 'staff';
  sessionId: string | null;
  reason: RevocationReason;
  /** The record's own reason (logout, logout_all, password_changed, password_reset, erased; disabled). */
  cause: string;
}

/** The four table topics the trust state is fed from. */
export const TRUST_TOPICS = [
  'identity.signing-keys',
  'identity.staff-changed',
  'identity.session-revoked',
  'channels.channel-credentials',
] as const;
export type TrustTopic = (typeof TRUST_TOPICS)[number];

interface SigningKey {
  status: 'active' | 'retired';
  jwk: PublicJwk;
  key: KeyLike;
  changedAt: number;
}

interface StaffEntry {
  disabled: boolean;
  changedAt: number;
  /** After a re-enable this instance saw: tokens issued up to it (the re-enable) stay refused. */
  refusedUpTo?: number;
}

interface SubjectRevocations {
  /** sid → { notAfter, cause } */
  sessions: Map<string, { notAfter: number; cause: string }>;
  /** every token issued at or before `revokedAt`, until `notAfter` */
  all?: { revokedAt: number; notAfter: number; cause: string };
}

interface Credential {
  channel: string;
  keyHash: string;
  status: string;
  changedAt: number;
}

/** Revocations past their notAfter are dropped at most this often (a pass walks them all). */
const PRUNE_EVERY_MS = 60_000;

const sha256Hex = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

/** A JWK reduced to its public EC members, or null when it is not an EC P-256 key. */
function publicEcJwk(jwk: JWK): { kty: string; crv: string; x: string; y: string } | null {
  if (jwk.kty !== 'EC' || jwk.crv !== 'P-256' || typeof jwk.x !== 'string' || typeof jwk.y !== 'string') return null;
  return { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y };
}

// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging -- typed 'revoked' listeners on the EventEmitter
export declare interface TrustState {
  on(event: 'revoked', listener: (r: TrustRevocation) => void): this;
  off(event: 'revoked', listener: (r: TrustRevocation) => void): this;
  once(event: 'revoked', listener: (r: TrustRevocation) => void): this;
  emit(event: 'revoked', r: TrustRevocation): boolean;
}

// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class TrustState extends EventEmitter {
  private readonly keys = new Map<string, SigningKey>();
  private readonly staff = new Map<string, StaffEntry>();
  private readonly revocations = new Map<string, SubjectRevocations>();
  private readonly credentials = new Map<string, Credential>();
  /** keyHash → keyId */
  private readonly byHash = new Map<string, string>();
  /** eventIds of recently applied records (tests await their records through hasApplied). */
  private readonly applied = new LRUCache<string, true>({ max: 10_000 });
  private caughtUp = false;
  private prunedAt = 0;
  private readonly readyPromise: Promise<void>;
  private resolveReady!: () => void;

  constructor(private readonly now: () => number = Date.now) {
    super();
    this.readyPromise = new Promise((r) => (this.resolveReady = r));
  }

  // ---- readiness --------------------------------------------------------------------------------

  /** Resolves once the reader caught up with the table topics' end offsets as of its start. */
  ready(): Promise<void> {
    return this.readyPromise;
  }

  isReady(): boolean {
    return this.caughtUp;
  }

  /** Called by the reader once caught up (or by a test or tool that feeds the state itself). */
  markReady(): void {
    this.caughtUp = true;
    this.resolveReady();
  }

  // ---- queries ----------------------------------------------------------------------------------

  /**
   * The channel an API key authenticates, for a request naming channel `code`. Throws 401
   * `channel_key_invalid` (unknown key), `channel_key_revoked`, `channel_retired`, or 403
   * `channel_mismatch` (a valid key of another channel).
   */
  channelOfKey(code: string, apiKey: string): string {
    const hash = sha256Hex(apiKey);
    const keyId = this.byHash.get(hash);
    const cred = keyId ? this.credentials.get(keyId) : undefined;
    if (!cred || !timingSafeEqual(Buffer.from(cred.keyHash, 'utf8'), Buffer.from(hash, 'utf8')))
      throw new UnauthorizedError(
        'channel_key_invalid',
        'the channel API key is not valid',
        'send the API key issued to the channel app in x-channel-key, with its channel code in x-channel-code',
      );
    if (cred.status === 'revoked')
      throw new UnauthorizedError('channel_key_revoked', 'the channel API key was revoked', 'ask the channel operator for a new API key');
    if (cred.status === 'channel_retired')
      throw new UnauthorizedError('channel_retired', `channel ${cred.channel} is retired`, 'a retired channel cannot be used any more');
    if (cred.status !== 'active')
      throw new UnauthorizedError('channel_key_invalid', 'the channel API key is not active', 'ask the channel operator for a new API key');
    if (cred.channel !== code)
      throw new ForbiddenError(
        'channel_mismatch',
        `the API key belongs to another channel than ${code}`,
        'send the channel code the API key was issued for in x-channel-code',
        { keyId },
      );
    return cred.channel;
  }

  /** Why a verified token is no longer valid (`staff_disabled`, `session_revoked`), or null. */
  revocationOf(p: Principal): RevocationReason | null {
    if (p.kind === 'staff') {
      const s = this.staff.get(p.sub);
      if (s?.disabled) return 'staff_disabled';
      if (s?.refusedUpTo !== undefined && p.issuedAt <= s.refusedUpTo) return 'staff_disabled';
    }
    const r = this.revocations.get(`${p.kind}:${p.sub}`);
    if (!r) return null;
    const now = this.now();
    if (p.sid) {
      const one = r.sessions.get(p.sid);
      if (one && one.notAfter >= now) return 'session_revoked';
    }
    if (r.all && r.all.notAfter >= now && p.issuedAt <= r.all.revokedAt) return 'session_revoked';
    return null;
  }

  /** The published state of a signing key: active (with its key), retired, or undefined when unknown. */
  signingKey(kid: string): { status: 'active'; key: KeyLike } | { status: 'retired' } | undefined {
    const k = this.keys.get(kid);
    if (!k) return undefined;
    return k.status === 'active' ? { status: 'active', key: k.key } : { status: 'retired' };
  }

  /** The active published keys as JWKs. */
  activeKeys(): PublicJwk[] {
    return [...this.keys.values()].filter((k) => k.status === 'active').map((k) => ({ ...k.jwk }));
  }

  // ---- feeding (the trust reader; tests through testAuth) -----------------------------------------

  /**
   * Applies one record of a table topic (`value` null: a tombstone for `key`). Throws when the record
   * cannot be trusted (a signing key whose kid does not match its JWK...); the state is then unchanged.
   */
  async apply(topic: string, key: string | null, value: unknown): Promise<void> {
    await this.applyOne(topic, key, value);
    const eventId = (value as { envelope?: { eventId?: unknown } } | null)?.envelope?.eventId;
    if (typeof eventId === 'string') this.applied.set(eventId, true);
  }

  /** Whether a record with this envelope eventId was applied (recent ones only). */
  hasApplied(eventId: string): boolean {
    return this.applied.has(eventId);
  }

  private async applyOne(topic: string, key: string | null, value: unknown): Promise<void> {
    switch (topic) {
      case 'identity.signing-keys':
        if (value === null) return void (key !== null && this.keys.delete(key));
        return this.applySigningKey(value as SigningKeyPublished);
      case 'identity.staff-changed':
        if (value === null) return void (key !== null && this.staff.delete(key));
        return this.applyStaffChanged(value as StaffChanged);
      case 'identity.session-revoked':
        if (value === null) return;
        return this.applySessionRevoked(value as SessionRevoked);
      case 'channels.channel-credentials':
        if (value === null) return void (key !== null && this.forgetCredential(key));
        return this.applyCredential(value as ChannelCredentialChanged);
      default:
        throw new Error(`${topic} is not a trust topic`);
    }
  }

  async applySigningKey(r: SigningKeyPublished): Promise<void> {
    if (r.status !== 'active' && r.status !== 'retired') throw new Error(`signing key ${r.kid}: unknown status ${r.status}`);
    const bare = publicEcJwk(JSON.parse(r.jwk) as JWK);
    if (!bare) throw new Error(`signing key ${r.kid} is not an EC P-256 public key`);
    const kid = await calculateJwkThumbprint(bare);
    if (kid !== r.kid) throw new Error(`signing key record names kid ${r.kid} but its key's thumbprint is ${kid}`);
    const known = this.keys.get(kid);
    if (known && known.changedAt > r.changedAt) return;
    const key = (await importJWK({ ...bare, alg: TOKEN_ALG }, TOKEN_ALG)) as KeyLike;
    this.keys.set(kid, { status: r.status, jwk: { ...bare, kid, alg: TOKEN_ALG, use: 'sig' }, key, changedAt: r.changedAt });
  }

  applyStaffChanged(r: StaffChanged): void {
    const known = this.staff.get(r.staffId);
    if (known && known.changedAt > r.changedAt) return;
    // Re-enabled: what was issued before (revoked by the disable) stays refused; later tokens pass.
    const refusedUpTo = !r.disabled && known?.disabled ? r.changedAt : known?.refusedUpTo;
    this.staff.set(r.staffId, { disabled: r.disabled, changedAt: r.changedAt, ...(refusedUpTo !== undefined ? { refusedUpTo } : {}) });
    if (r.disabled && !known?.disabled)
      this.emit('revoked', { subject: r.staffId, kind: 'staff', sessionId: null, reason: 'staff_disabled', cause: 'disabled' });
  }

  applySessionRevoked(r: SessionRevoked): void {
    const now = this.now();
    if (r.notAfter < now) return;
    const kind = r.kind === 'staff' ? 'staff' : 'customer';
    const id = `${kind}:${r.subject}`;
    const entry: SubjectRevocations = this.revocations.get(id) ?? { sessions: new Map() };
    if (r.sessionId) {
      const prev = entry.sessions.get(r.sessionId);
      entry.sessions.set(r.sessionId, { notAfter: Math.max(prev?.notAfter ?? 0, r.notAfter), cause: r.reason });
    } else if (!entry.all || r.revokedAt >= entry.all.revokedAt) {
      entry.all = { revokedAt: r.revokedAt, notAfter: Math.max(entry.all?.notAfter ?? 0, r.notAfter), cause: r.reason };
    }
    this.revocations.set(id, entry);
    if (now - this.prunedAt > PRUNE_EVERY_MS) this.forgetExpired(now);
    this.emit('revoked', { subject: r.subject, kind, sessionId: r.sessionId, reason: 'session_revoked', cause: r.reason });
  }

  applyCredential(r: ChannelCredentialChanged): void {
    const known = this.credentials.get(r.keyId);
    if (known && known.changedAt > r.changedAt) return;
    if (!/^[0-9a-f]{64}$/.test(r.keyHash)) throw new Error(`credential ${r.keyId}: keyHash is not a hex SHA-256`);
    this.forgetCredential(r.keyId);
    this.credentials.set(r.keyId, { channel: r.channel, keyHash: r.keyHash, status: r.status, changedAt: r.changedAt });
    this.byHash.set(r.keyHash, r.keyId);
  }

  private forgetCredential(keyId: string): void {
    const known = this.credentials.get(keyId);
    if (!known) return;
    this.credentials.delete(keyId);
    if (this.byHash.get(known.keyHash) === keyId) this.byHash.delete(known.keyHash);
  }

  /** Drops revocations past their notAfter (no token they cover is valid any more). */
  private forgetExpired(now: number): void {
    this.prunedAt = now;
    for (const [id, r] of this.revocations) {
      for (const [sid, s] of r.sessions) if (s.notAfter < now) r.sessions.delete(sid);
      if (r.all && r.all.notAfter < now) r.all = undefined;
      if (!r.all && r.sessions.size === 0) this.revocations.delete(id);
    }
  }
}
