import { createHash, randomBytes } from 'node:crypto';

/**
 * Password-reset tokens: 32 random bytes (base64url) handed to the customer through their channel,
 * kept by identity only as a sha256, valid once and for a short time. Pure.
 */
export interface PasswordReset {
  /** sha256 of the token (hex): a lookup by `_id`, and a leaked database yields no usable token. */
  _id: string;
  requestId: string;
  subject: string;
  channel: string | null;
  createdAt: Date;
  expiresAt: Date;
  usedAt: Date | null;
}

export const newResetToken = (): string => randomBytes(32).toString('base64url');

export const resetTokenHash = (token: string): string => createHash('sha256').update(token).digest('hex');

/** Whether a string has the shape of a reset token (anything else is refused without a lookup). */
export const isResetToken = (token: string): boolean => /^[A-Za-z0-9_-]{43}$/.test(token);
