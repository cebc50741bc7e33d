/**
 * Locks across processes for work that spans several documents (see DocumentLocks).
 */
import { randomUUID } from 'node:crypto';
import { Schema, type Connection, type Model } from 'mongoose';
import { isDuplicateKeyError } from '../errors';
import { KeyedQueue } from '../concurrency/keyed-queue';

/**
 * Mutual exclusion per key, across processes, for work that spans several documents or reads
 * (a session family rotation, a rate-table edit). Single-document writes do not need it: they use
 * conditional updates (see events/outbox/ and effect-once.ts), which are atomic on MongoDB and on the
 * locally built FerretDB (deploy/local/ferretdb/patches/0002).
 *
 * A lock is an insert of `{_id: key}` (atomic on the unique _id) and its release a delete. A holder
 * that dies leaves its lock until `ttlMs` passes; then the next caller takes it over.
 */
interface LockDoc {
  _id: string;
  owner: string;
  until: Date;
}

const lockSchema = new Schema<LockDoc>({ _id: String, owner: String, until: Date }, { versionKey: false });

export class LockTimeoutError extends Error {
  constructor(key: string, ms: number) {
    super(`could not lock ${key} within ${ms} ms`);
  }
}

export class DocumentLocks {
  private readonly model: Model<LockDoc>;
  private readonly local = new KeyedQueue();

  constructor(
    db: Connection,
    private readonly ttlMs = 5000,
    private readonly waitMs = 5000,
  ) {
    this.model = (db.models.DocumentLock as Model<LockDoc>) ?? db.model<LockDoc>('DocumentLock', lockSchema, 'locks');
  }

  /** Runs `fn` while holding the lock on `key`; callers in this process queue without touching the database. */
  run<R>(key: string, fn: () => Promise<R>): Promise<R> {
    return this.local.run(key, () => this.holding(key, fn));
  }

  private async holding<R>(key: string, fn: () => Promise<R>): Promise<R> {
    const owner = randomUUID();
    await this.acquire(key, owner);
    try {
      return await fn();
    } finally {
      await this.model.deleteOne({ _id: key, owner }).catch(() => undefined);
    }
  }

  private async acquire(key: string, owner: string): Promise<void> {
    const deadline = Date.now() + this.waitMs;
    for (let i = 0; ; i++) {
      try {
        await this.model.collection.insertOne({ _id: key, owner, until: new Date(Date.now() + this.ttlMs) } as never);
        return;
      } catch (err) {
        if (!isDuplicateKeyError(err)) throw err;
      }
      const held = await this.model.findById(key).lean();
      if (held && held.until.getTime() < Date.now()) {
        await this.model.deleteOne({ _id: key, owner: held.owner });
        continue;
      }
      if (Date.now() > deadline) throw new LockTimeoutError(key, this.waitMs);
      await new Promise((r) => setTimeout(r, Math.min(2 ** Math.min(i, 5), 25)));
    }
  }
}
