/**
 * The cleanup pass: removes published entries from documents that were not written again.
 *
 * Most removals ride on the next write of the same document (see published.ts); this pass removes,
 * once they are `olderThanMs` old, the entries of documents nobody wrote since, up to 50 documents
 * in one bulk write, so that a pass keeps up with the write rate and entries do not outlive the
 * recovery pass's grace.
 *
 * Guarantees:
 *  - a removal never races a write of this process: the pass takes the writer turn of every document
 *    of a batch (queued behind that document's writes);
 *  - a removal never loses another process's write: each statement is a compare-and-set on
 *    `writeRev`. The server reports how many statements matched, not which, so when one did not, the
 *    copies of the whole batch are dropped and the next pass reads those documents and retries;
 *  - an entry stays listed as published until its removal is committed;
 *  - one pass at a time (passes chain).
 */
import type { Model } from 'mongoose';
import type { Logger } from '../../observability/logger';
import type { KeyedQueue } from '../../concurrency/keyed-queue';
import { documentKey, unchangedSince, type OutboxDoc } from './entries';
import type { LastWritten } from './last-written';
import type { PublishedEntries, DueRemoval } from './published';

/** Documents one cleanup write covers. */
const CLEANUP_BATCH = 50;

interface Removal extends DueRemoval {
  key: string;
}

export class CleanupPass {
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly models: ReadonlyMap<string, Model<any>>, // eslint-disable-line @typescript-eslint/no-explicit-any
    private readonly published: PublishedEntries,
    private readonly lastWritten: LastWritten,
    private readonly writers: KeyedQueue,
    private readonly logger: Logger,
  ) {}

  /** Removes entries published at least `olderThanMs` ago, after any pass already running. */
  run(olderThanMs: number): Promise<void> {
    this.chain = this.chain.then(() => this.pass(olderThanMs));
    return this.chain;
  }

  private async pass(olderThanMs: number): Promise<void> {
    for (const [collection, due] of this.published.dueBy(Date.now() - olderThanMs)) {
      const model = this.models.get(collection);
      if (!model) continue;
      const work: Removal[] = due.map((r) => ({ ...r, key: documentKey(collection, r.docId) }));
      for (let i = 0; i < work.length; i += CLEANUP_BATCH) {
        const batch = work.slice(i, i + CLEANUP_BATCH);
        await this.holding(
          batch.map((r) => r.key),
          () => this.removeEntries(model, collection, batch),
        ).catch((err) => {
          this.logger.warn('outbox cleanup failed; the next pass retries', { err: String(err), collection, documents: batch.length });
        });
      }
    }
  }

  /** Runs `task` holding the writer turn of every key (each taken behind that key's queued writes). */
  private async holding<R>(keys: string[], task: () => Promise<R>): Promise<R> {
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    await Promise.all(keys.map((k) => new Promise<void>((taken) => void this.writers.run(k, () => (taken(), released)))));
    try {
      return await task();
    } finally {
      release();
    }
  }

  /**
   * Conditional removals, one bulk write for the batch. For an exclusive collection the document
   * this process last wrote is current unless another process wrote since, which the
   * compare-and-set detects; other documents are read first (one read for the batch).
   */
  private async removeEntries<T>(model: Model<T>, collection: string, batch: Removal[]): Promise<void> {
    const unknown = batch.filter((r) => !this.lastWritten.has(r.key)).map((r) => r.docId);
    const read = unknown.length
      ? ((await model.collection
          .find({ _id: { $in: unknown } } as never, { projection: { outbox: 1, writeRev: 1 } })
          .toArray()) as unknown as OutboxDoc[])
      : [];
    const fresh = new Map(read.map((d) => [String(d._id), d]));
    const plans = batch.map((r) => {
      const known = this.lastWritten.get(r.key);
      const doc = known ?? fresh.get(String(r.docId)) ?? null;
      return { ...r, known, doc, present: r.wanted.filter((id) => doc?.outbox && id in doc.outbox) };
    });
    const writes = plans.filter((p) => p.present.length);
    if (writes.length) {
      const res = await model.collection.bulkWrite(
        writes.map((p) => ({
          updateOne: {
            filter: unchangedSince(p.docId, p.doc) as never,
            update: {
              $unset: Object.fromEntries(p.present.map((id) => [`outbox.${id}`, ''])),
              $inc: { outboxCount: -p.present.length, writeRev: 1 },
            } as never,
          },
        })),
        { ordered: false },
      );
      if (res.matchedCount < writes.length) {
        for (const p of writes) this.lastWritten.forget(p.key);
        for (const p of plans) if (!p.present.length) this.published.forget(collection, p.docId, p.wanted);
        return;
      }
      for (const p of writes) {
        if (!p.known) continue;
        const outbox = { ...p.known.outbox };
        for (const id of p.present) delete outbox[id];
        this.lastWritten.remember(collection, p.key, {
          ...p.known,
          outbox,
          outboxCount: (p.known.outboxCount ?? 0) - p.present.length,
          writeRev: (p.known.writeRev ?? 0) + 1,
        });
      }
    }
    for (const p of plans) this.published.forget(collection, p.docId, p.wanted);
  }
}
