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
