import type { Model } from 'mongoose';
import { isDuplicateKeyError } from '@omnimall/service-kit';
import type { AttemptCount } from '../domain/login-throttle';
import type { LoginAttemptDoc } from './models';

/**
 * Login-attempt counters, one document per key and window (`<key>#<window>`, e.g.
 * `pair:ada@example.com|10.0.0.1#1950000`). Counting is one `$inc` upsert by `_id` that returns
 * the document as it was before: no read-then-write window, so parallel attempts each see the ones
 * before them. Documents carry `expiresAt` (the end of their window): FerretDB has no TTL
 * indexes, so `prune` drops them (the service's pruning worker).
 */
export interface LoginAttemptRepository {
  /** Counts one attempt at `at`; the count before it (null: the first in the window). */
  count(key: string, window: number, at: number, expiresAt: Date): Promise<AttemptCount | null>;
  /** Takes one attempt back (a successful login is not held against its address or account). */
  refund(key: string, window: number): Promise<void>;
  /** Forgets a key's attempts in the window (a successful login on that account from that address). */
  clear(key: string, window: number): Promise<void>;
  /** Deletes the counters of windows that ended before `now`; how many. */
  prune(now: Date): Promise<number>;
  /** Deletes every counter whose key starts with one of `prefixes` (an erased account's); how many. */
  removeKeys(prefixes: readonly string[]): Promise<number>;
}

const escapeRegex = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const id = (key: string, window: number): string => `${key}#${window}`;

export function loginAttemptRepository(LoginAttempt: Model<LoginAttemptDoc>): LoginAttemptRepository {
  const increment = (key: string, window: number, at: number, expiresAt: Date) =>
    LoginAttempt.findOneAndUpdate(
      { _id: id(key, window) },
      { $inc: { n: 1 }, $max: { last: at }, $setOnInsert: { expiresAt } },
      { upsert: true, new: false }, // no projection: FerretDB's findAndModify lacks `fields`
    ).lean();
  return {
    async count(key, window, at, expiresAt) {
      let before;
      try {
        before = await increment(key, window, at, expiresAt);
      } catch (err) {
        // Two first attempts raced to insert the window's document: the loser increments the winner's.
        if (!isDuplicateKeyError(err)) throw err;
        before = await increment(key, window, at, expiresAt);
      }
      return before ? { n: before.n, last: before.last } : null;
    },
    async refund(key, window) {
      await LoginAttempt.updateOne({ _id: id(key, window), n: { $gt: 0 } }, { $inc: { n: -1 } });
    },
    async clear(key, window) {
      await LoginAttempt.deleteOne({ _id: id(key, window) });
    },
    async prune(now) {
      return (await LoginAttempt.deleteMany({ expiresAt: { $lt: now } })).deletedCount;
    },
    async removeKeys(prefixes) {
      if (!prefixes.length) return 0;
      const pattern = new RegExp(`^(?:${prefixes.map(escapeRegex).join('|')})`);
      return (await LoginAttempt.deleteMany({ _id: { $regex: pattern } })).deletedCount;
    },
  };
}
