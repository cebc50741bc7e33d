import type { Connection } from 'mongoose';
import { RateLimiterMongo, RateLimiterRes } from 'rate-limiter-flexible';
import type { AddressLimit } from '../settings';

/**
 * Request limits per client address (registration, password-reset requests), counted in the
 * identity database with rate-limiter-flexible's MongoDB store, so every instance shares one count
 * (an in-process limiter would allow the limit once per instance). FerretDB has no TTL indexes, so
 * the library's index creation is off: `ensureRateLimitIndexes` creates the unique key index its
 * conflict handling needs, and `pruneRateLimits` drops expired counters (run by the pruning worker).
 */
const COLLECTION = 'rate_limits';

export interface AddressLimiter {
  /** Counts one request from `address`: 0 when it is within the limit, else the seconds until it is. */
  consume(address: string): Promise<number>;
}

export function addressLimiter(db: Connection, name: string, limit: AddressLimit): AddressLimiter {
  const limiter = new RateLimiterMongo({
    storeClient: db,
    tableName: COLLECTION,
    keyPrefix: name,
    points: limit.points,
    duration: limit.durationSeconds,
    disableIndexesCreation: true,
  });
  return {
    async consume(address) {
      try {
        await limiter.consume(address);
        return 0;
      } catch (err) {
        if (err instanceof RateLimiterRes) return Math.max(1, Math.ceil(err.msBeforeNext / 1000));
        throw err;
      }
    },
  };
}

/** The unique index on the limiter's key: two first requests of an address cannot both insert a counter. */
export async function ensureRateLimitIndexes(db: Connection): Promise<void> {
  await db.collection(COLLECTION).createIndex({ key: 1 }, { unique: true });
}

/** Deletes counters whose duration is over; how many. */
export async function pruneRateLimits(db: Connection, now = new Date()): Promise<number> {
  return (await db.collection(COLLECTION).deleteMany({ expire: { $lt: now } })).deletedCount;
}
