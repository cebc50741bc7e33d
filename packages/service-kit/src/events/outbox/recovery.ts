/**
 * The recovery pass: publishes what a crash left between commit and publish.
 *
 * Guarantee: every committed entry is published at least once. A pass reads, per tracked
 * collection, a bounded batch of documents with `outboxCount > 0` and dispatches their entries older
 * than `graceMs` that this process has not published. The grace keeps it from republishing what
 * another live instance has just written (its relay publishes that) or published and not yet removed
 * (its cleanup does that): it must exceed that instance's cleanupAfterMs + cleanupIntervalMs.
 * Passes walk each collection in `_id` order, resuming where the previous pass stopped, so documents
 * that merely wait for their cleanup cannot hide, batch after batch, one a crash left unpublished.
 * Parked entries (see relay.ts) are neither published nor counted as pending.
 * On FerretDB such a filter reads the whole collection, which is why the outbox runs this rarely.
 *
 * Orphans at once: an entry whose writer is known to be gone (`orphaned` in entries.ts: a process of
 * this host that no longer exists, or this pid in an earlier start) has nobody else to publish it, so
 * the grace does not apply to it. `sweep` reads a whole collection for such entries; the outbox runs
 * it once per collection at start (when the collection is tracked), so what a crashed predecessor
 * committed and did not publish goes out before the service is ready, not at the next poll.
 */
import type { Model } from 'mongoose';
import type { ServiceMetrics } from '../../observability/metrics';
import { orphaned, type OutboxDoc, type OutboxEntry } from './entries';
import type { PublishedEntries } from './published';
import type { OutboxRelay } from './relay';

export class RecoveryPass {
  /** collection → the _id after which the next pass continues. */
  private readonly pollFrom = new Map<string, unknown>();

  constructor(
    private readonly models: ReadonlyMap<string, Model<any>>, // eslint-disable-line @typescript-eslint/no-explicit-any
    private readonly published: PublishedEntries,
    private readonly relay: OutboxRelay,
    private readonly metrics: ServiceMetrics,
    private readonly batchSize: number,
    private readonly graceMs: number,
  ) {}

  /** One pass over every tracked collection; returns how many events it published. */
  async run(): Promise<number> {
    let published = 0;
    for (const [name, model] of this.models) {
      const from = this.pollFrom.get(name);
      const docs = await this.batchAfter(model, from);
      if (docs.length < this.batchSize) this.pollFrom.delete(name);
      else this.pollFrom.set(name, docs[docs.length - 1]._id);
      const now = Date.now();
      let depth = 0;
      let oldest = 0;
      for (const doc of docs) {
        // The read may predate the removal of entries published since: those are known as published too.
        const entries = Object.entries(doc.outbox ?? {}).filter(([id, e]) => !this.published.wasPublished(name, doc._id, id) && !e.parked);
        depth += entries.length;
        for (const [, e] of entries) oldest = Math.max(oldest, now - new Date(e.createdAt).getTime());
        published += await this.publish(
          model,
          doc._id,
          entries.filter(([, e]) => orphaned(e.by) || now - new Date(e.createdAt).getTime() >= this.graceMs),
        );
      }
      this.metrics.outboxDepth.labels(name).set(depth);
      this.metrics.outboxOldestAge.labels(name).set(oldest / 1000);
    }
    return published;
  }

  /**
   * Publishes every orphaned entry of one collection (all its documents, a batch at a time), or those
   * of the writers `gone` picks (a writer whose lease ran out, see leases.ts); returns how many.
   */
  async sweep<T>(model: Model<T>, gone: (by: OutboxEntry['by']) => boolean = (by) => orphaned(by)): Promise<number> {
    const name = model.collection.collectionName;
    let published = 0;
    let from: unknown;
    for (;;) {
      const docs = await this.batchAfter(model, from);
      for (const doc of docs) {
        const due = Object.entries(doc.outbox ?? {}).filter(
          ([id, e]) => gone(e.by) && !e.parked && !this.published.wasPublished(name, doc._id, id),
        );
        published += await this.publish(model, doc._id, due);
      }
      if (docs.length < this.batchSize) return published;
      from = docs[docs.length - 1]._id;
    }
  }

  /** The next batch of documents with entries, in `_id` order after `from`. */
  private async batchAfter<T>(model: Model<T>, from: unknown): Promise<OutboxDoc[]> {
    return (await model.collection
      .find({ outboxCount: { $gt: 0 }, ...(from === undefined ? {} : { _id: { $gt: from } }) } as never, {
        projection: { outbox: 1, outboxCount: 1 },
      })
      .sort({ _id: 1 })
      .limit(this.batchSize)
      .toArray()) as unknown as OutboxDoc[];
  }

  /** Dispatches some entries of one document; a failure is retried by the relay (and logged there). */
  private async publish<T>(model: Model<T>, docId: unknown, due: [string, OutboxEntry][]): Promise<number> {
    if (!due.length) return 0;
    const outbox = Object.fromEntries(due);
    try {
      await this.relay.dispatch(model, { _id: docId, outbox });
      return due.length;
    } catch {
      this.relay.retryLater(model, { _id: docId, outbox });
      return 0;
    }
  }
}
