/**
 * Idempotency keys: the id a caller's Idempotency-Key stands for, and the fingerprint of a request's
 * meaning, so a retry finds the same record and a key reused for another request is told apart.
 */
import { createHash } from 'node:crypto';

/** `<prefix><32 hex>`: the same caller and key always name the same record, another caller's key never does. */
export function idempotentId(prefix: string, caller: string, key: string): string {
  return `${prefix}${createHash('sha256').update(`${caller}\n${key}`).digest('hex').slice(0, 32)}`;
}

/** SHA-256 of a request's meaning (JSON of `value`), to tell a replay from a reused key. */
export function requestHash(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex');
}
