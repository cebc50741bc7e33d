import type { Model } from 'mongoose';
import { USED_HASHES_KEPT, type Session } from '../domain/refresh-tokens';

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
  /** Replaces the current secret's hash, keeping the old one (the newest USED_HASHES_KEPT) for reuse detection. */
  rotate(id: string, rotation: { currentHash: string; previousHash: string; at: Date }): Promise<void>;
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
    async rotate(id, { currentHash, previousHash, at }) {
      await Session.updateOne(
        { _id: id },
        { $set: { currentHash, lastUsedAt: at }, $push: { usedHashes: { $each: [previousHash], $slice: -USED_HASHES_KEPT } } },
      );
    },
  };
}
