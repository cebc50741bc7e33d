import type { Logger } from '@omnimall/service-kit';
import type { LocalItemDoc, PendingDoc } from '../store/models';
import { localItemEvent } from '../events/outgoing';
import { propagateProduct } from './propagation';
import type { CatalogContext } from './context';

/**
 * Completes what a crash interrupted: every intent older than `graceMs` that no running operation of
 * this process holds is replayed — products are re-propagated with their current state re-emitted,
 * items re-emit their current state — and then removed. Replays are idempotent.
 * It also removes, once a minute, journal documents whose events were all published (outboxCount 0)
 * a while ago: normally a journal document is deleted as soon as its events are published, so these
 * are only what a failed delete left, and on FerretDB the query reads every journal document (large
 * ones, while a bulk sync runs), so it does not run on every pass.
 */
const PRUNE_EVERY_MS = 60_000;

export class RecoverySweep {
  private timer?: NodeJS.Timeout;
  private running?: Promise<unknown>;
  private lastPrune = 0;

  constructor(
    private readonly ctx: CatalogContext,
    private readonly logger: Logger,
    private readonly graceMs = 5000,
    private readonly everyMs = 2000,
  ) {}

  async runOnce(): Promise<number> {
    const { m } = this.ctx;
    const due = ((await m.Pending.find({}).lean()) as PendingDoc[]).filter(
      (p) => !this.ctx.activeIntents.has(p._id) && Date.now() - new Date(p.createdAt).getTime() >= this.graceMs,
    );
    for (const p of due) {
      const products = p.kind === 'product' && p.productId ? [p.productId] : p.kind === 'products' ? (p.productIds ?? []) : [];
      for (const id of products) await this.ctx.productLock(id, () => propagateProduct(this.ctx, id, { force: true }));
      if (p.kind === 'items') {
        const items = (await Promise.all(p.itemIds.map((id) => m.LocalItem.findById(id).lean()))) as (LocalItemDoc | null)[];
        await this.ctx.emit(
          'recovery',
          items.filter((i): i is LocalItemDoc => !!i).map((i) => localItemEvent(i)),
        );
      }
      await m.Pending.collection.deleteOne({ _id: p._id } as never);
      this.logger.info('recovered interrupted change', { intent: p._id, kind: p.kind });
    }
    if (Date.now() - this.lastPrune >= PRUNE_EVERY_MS) {
      this.lastPrune = Date.now();
      await this.pruneJournal();
    }
    return due.length;
  }

  /** Deletes fully published journal documents older than a minute (their events are in Kafka). */
  async pruneJournal(olderThanMs = 60_000): Promise<number> {
    const { Journal } = this.ctx.m;
    const done = await Journal.find({ outboxCount: 0, createdAt: { $lt: new Date(Date.now() - olderThanMs) } }, { _id: 1 })
      .limit(500)
      .lean();
    if (!done.length) return 0;
    const res = await Journal.deleteMany({ _id: { $in: done.map((d) => d._id) }, outboxCount: 0 });
    return res.deletedCount;
  }

  start(): void {
    const tick = (): void => {
      this.running = this.runOnce()
        .catch((err) => this.logger.warn('recovery sweep failed', { err: String(err) }))
        .finally(() => {
          if (this.timer) this.timer = setTimeout(tick, this.everyMs);
        });
    };
    this.timer = setTimeout(tick, this.everyMs);
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
