/**
 * Secrets at rest in deliveries: the part of a delivery that must not be stored in clear (a password
 * reset's token and e-mail, the partner's customer id in an erasure notice) is kept as an
 * AES-256-GCM box under the service's delivery key (DELIVERY_SECRET_KEY, settings.ts), opened only
 * to send, and dropped when the delivery ends.
 *
 * Guarantees: a box is `v1.<iv>.<tag>.<ciphertext>` (base64url), a fresh 12-byte IV per box; opening
 * checks the GCM tag, so a box altered in the database or sealed under another key throws instead of
 * sending garbage. The delivery's id is bound as additional data, so a box copied onto another
 * delivery does not open there.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const VERSION = 'v1';
const ALGORITHM = 'aes-256-gcm';
export const DELIVERY_KEY_BYTES = 32;

export function seal(key: Buffer, plaintext: string, boundTo: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv(ALGORITHM, key, iv);
  cipher.setAAD(Buffer.from(boundTo, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return [VERSION, iv, cipher.getAuthTag(), ciphertext].map((p) => (typeof p === 'string' ? p : p.toString('base64url'))).join('.');
}

export function open(key: Buffer, box: string, boundTo: string): string {
  const [version, iv, tag, ciphertext] = box.split('.');
  if (version !== VERSION || !iv || !tag || ciphertext === undefined) throw new Error('not a sealed delivery box');
  const decipher = createDecipheriv(ALGORITHM, key, Buffer.from(iv, 'base64url'));
  decipher.setAAD(Buffer.from(boundTo, 'utf8'));
  decipher.setAuthTag(Buffer.from(tag, 'base64url'));
  return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8');
}

/** A 32-byte key from its setting: 64 hex digits or base64 (url-safe or not) of 32 bytes. */
export function parseDeliveryKey(raw: string, name: string): Buffer {
  const text = raw.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(text) ? Buffer.from(text, 'hex') : Buffer.from(text, 'base64');
  if (key.length !== DELIVERY_KEY_BYTES)
    throw new Error(`${name} must be ${DELIVERY_KEY_BYTES} random bytes as 64 hex digits or base64 (e.g. openssl rand -base64 32)`);
  return key;
}
