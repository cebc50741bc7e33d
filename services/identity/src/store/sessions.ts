import type { Model } from 'mongoose';
import type { FamilyState, Session } from '../domain/refresh-tokens';

/**
 * Sessions (refresh-token families). Read-modify-writes of one session (refresh, revoke) run under
 * the caller's document lock `sessions:<id>`; the writes here are single updates.
 */
export interface SessionRepository {
  open(session: Session): Promise<void>;
  get(id: string): Promise<Session | null>;
  /** Whether the session exists and is not revoked. */
  isOpen(id: string): Promise<boolean>;
  /** The ids of a subject's open sessions. */
  openIdsOf(subject: string): Promise<string[]>;
  ofSubject(subject: string): Promise<Session[]>;
  /** Revokes the session if it is still open (the first reason stays). */
  close(id: string, reason: string, at: Date): Promise<void>;
  /** Revokes the session whatever its state (reuse detected). */
  revoke(id: string, reason: string, at: Date): Promise<void>;
  /**
   * Stores a rotation (see domain `rotated`) if the current hash is still `previousHash`; whether it
   * did. The whole list is set: FerretDB ignores `$slice` in `$push`, which would let it grow forever.
   */
  rotate(id: string, previousHash: string, next: Pick<FamilyState, 'currentHash' | 'usedHashes'> & { at: Date }): Promise<boolean>;
  /** Deletes every session of a subject (erasure: with them go their addresses and client details). */
  removeOf(subject: string): Promise<number>;
  /** Deletes sessions that expired or were closed before `before` (retention); how many. */
  prune(before: Date): Promise<number>;
}

export function sessionRepository(Session: Model<Session>): SessionRepository {
  return {
    async open(session) {
      await Session.create(session);
    },
    async get(id) {
      return (await Session.findById(id).lean()) as Session | null;
    },
    async isOpen(id) {
      const s = await Session.findById(id, { revokedAt: 1 }).lean();
      return !!s && !s.revokedAt;
    },
    async openIdsOf(subject) {
      return (await Session.find({ subject, revokedAt: null }, { _id: 1 }).lean()).map((s) => s._id);
    },
    async ofSubject(subject) {
      return (await Session.find({ subject }).lean()) as Session[];
    },
    async close(id, reason, at) {
      await Session.updateOne({ _id: id, revokedAt: null }, { $set: { revokedAt: at, revokedReason: reason } });
    },
    async revoke(id, reason, at) {
      await Session.updateOne({ _id: id }, { $set: { revokedAt: at, revokedReason: reason } });
    },
    async rotate(id, previousHash, { currentHash, usedHashes, at }) {
      const res = await Session.updateOne({ _id: id, currentHash: previousHash }, { $set: { currentHash, usedHashes, lastUsedAt: at } });
      return res.matchedCount > 0;
    },
    async removeOf(subject) {
      return (await Session.deleteMany({ subject })).deletedCount;
    },
    async prune(before) {
      return (await Session.deleteMany({ $or: [{ expiresAt: { $lt: before } }, { revokedAt: { $lt: before } }] })).deletedCount;
    },
  };
}
