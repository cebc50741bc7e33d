import type { Model } from 'mongoose';
import type { Outbox, OutgoingEvent } from '@omnimall/service-kit';
import type { PasswordReset } from '../domain/password-reset';

/**
 * Password-reset tokens, stored only as their sha256 (`_id`), inserted together with the event that
 * carries the token to the channel (outbox; the published entry is removed from the document by the
 * outbox's cleanup). Using one is a single conditional update, so a token works once.
 */
export interface PasswordResetRepository {
  create(reset: PasswordReset, events: readonly OutgoingEvent[]): Promise<void>;
  /** Marks the reset used if it is unused and unexpired at `now`; the reset, or null when it cannot be used. */
  use(tokenHash: string, now: Date): Promise<PasswordReset | null>;
  /** Marks every unused reset of a subject used (after a reset or a password change). */
  voidOf(subject: string, now: Date): Promise<void>;
  /** Deletes resets that expired before `now`; how many. */
  prune(now: Date): Promise<number>;
  /** Deletes every reset of a subject, used or not (erasure); how many. */
  removeOf(subject: string): Promise<number>;
}

export function passwordResetRepository(Reset: Model<PasswordReset>, outbox: Outbox): PasswordResetRepository {
  return {
    async create(reset, events) {
      await outbox.create(Reset, reset, events);
    },
    async use(tokenHash, now) {
      return (await Reset.findOneAndUpdate(
        { _id: tokenHash, usedAt: null, expiresAt: { $gt: now } },
        { $set: { usedAt: now } },
        { new: true },
      ).lean()) as PasswordReset | null;
    },
    async voidOf(subject, now) {
      await Reset.updateMany({ subject, usedAt: null }, { $set: { usedAt: now } });
    },
    async prune(now) {
      return (await Reset.deleteMany({ expiresAt: { $lt: now } })).deletedCount;
    },
    async removeOf(subject) {
      return (await Reset.deleteMany({ subject })).deletedCount;
    },
  };
}
