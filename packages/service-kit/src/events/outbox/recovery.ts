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
 */
import type { Model } from 'mongoose';
import type { ServiceMetrics } from '../../observability/metrics';
import type { OutboxDoc } from './entries';
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
      const docs = (await model.collection
        .find({ outboxCount: { $gt: 0 }, ...(from === undefined ? {} : { _id: { $gt: from } }) } as never, {
          projection: { outbox: 1, outboxCount: 1 },
        })
        .sort({ _id: 1 })
        .limit(this.batchSize)
        .toArray()) as unknown as OutboxDoc[];
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
        const due = Object.fromEntries(entries.filter(([, e]) => now - new Date(e.createdAt).getTime() >= this.graceMs));
        if (!Object.keys(due).length) continue;
        try {
          await this.relay.dispatch(model, { _id: doc._id, outbox: due });
          published += Object.keys(due).length;
        } catch {
          this.relay.retryLater(model, { _id: doc._id, outbox: due }); // logged in dispatch
        }
      }
      this.metrics.outboxDepth.labels(name).set(depth);
      this.metrics.outboxOldestAge.labels(name).set(oldest / 1000);
    }
    return published;
  }
}
