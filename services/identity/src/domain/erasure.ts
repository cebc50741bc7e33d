import { createHash } from 'node:crypto';

/**
 * Erasure keeps the profile as evidence (its id, standing history, merges, violations) but replaces
 * every personal field by a pseudonym that cannot be reversed without the original value: a salted
 * digest lets a compliance officer confirm "was this email erased?" when given the email, nothing more.
 */
export function pseudonym(value: string, salt: string): string {
  return createHash('sha256').update(`${salt}:${value.trim().toLowerCase()}`).digest('hex');
}

export function erasedEmail(customerId: string): string {
  return `erased+${customerId}@erased.invalid`;
}
