/**
 * Channel API keys: `ock_<keyId>_<secret>`, shown once when issued; only the SHA-256 of the whole
 * key is stored, looked up by keyId and compared in constant time.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export interface IssuedKey {
  keyId: string;
  apiKey: string;
  hash: string;
}

export function hashApiKey(apiKey: string): string {
  return createHash('sha256').update(apiKey).digest('hex');
}

export function issueApiKey(): IssuedKey {
  const keyId = randomBytes(6).toString('hex');
  const apiKey = `ock_${keyId}_${randomBytes(24).toString('base64url')}`;
  return { keyId, apiKey, hash: hashApiKey(apiKey) };
}

/** The keyId of a well-formed key, or null. */
export function keyIdOf(apiKey: string): string | null {
  const m = /^ock_([0-9a-f]{12})_[A-Za-z0-9_-]{32}$/.exec(apiKey);
  return m ? m[1] : null;
}

export function matchesHash(apiKey: string, hash: string): boolean {
  const a = Buffer.from(hashApiKey(apiKey), 'hex');
  const b = Buffer.from(hash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}

/** A key's state as published on channels.channel-credentials. */
export type CredentialStatus = 'active' | 'revoked' | 'channel_retired';

/** Orders a key's states (each can only move forward): the events' aggregateVersion. */
export const CREDENTIAL_STATUS_VERSION: Readonly<Record<CredentialStatus, number>> = { active: 1, revoked: 2, channel_retired: 3 };

/** A key's state: a retired channel's keys all stop working, whether revoked before or not. */
export function credentialStatus(cred: { revokedAt: Date | null }, channelState: string): CredentialStatus {
  if (channelState === 'retired') return 'channel_retired';
  return cred.revokedAt ? 'revoked' : 'active';
}
