import { Periodic, type Logger } from '@omnimall/service-kit';
import { localItemEvent } from '../events/out';
import type { Catalog } from './catalog';
import { propagateProduct } from './propagation';

/**
 * The recovery worker: completes what a crash interrupted. Every intent older than `graceMs` that no
 * running operation of this process holds is replayed — products are re-propagated with their
 * current state re-emitted, items re-emit their current state — and then removed. Replays are
 * idempotent (every event is full state). It also prunes, once a minute, journal documents whose
 * events were all published a while ago: normally a journal document is deleted as soon as its
 * events are published, so these are only what a failed delete left, and the query scans the
 * journal, so it does not run on every pass.
 */
const PRUNE_EVERY_MS = 60_000;

export class RecoverySweep {
  private readonly loop = new Periodic(
    () => this.runOnce(),
    (err) => this.logger.warn('recovery sweep failed', { err: String(err) }),
  );
  private lastPrune = 0;

  constructor(
    private readonly c: Catalog,
    private readonly logger: Logger,
    private readonly graceMs = 5000,
    private readonly everyMs = 2000,
  ) {}

  /** One pass; answers how many intents it replayed. */
  async runOnce(): Promise<number> {
    const { c } = this;
    const due = (await c.intents.all()).filter(
      (p) => !c.changes.active.has(p._id) && Date.now() - new Date(p.createdAt).getTime() >= this.graceMs,
    );
    for (const p of due) {
      const products = p.kind === 'product' && p.productId ? [p.productId] : p.kind === 'products' ? (p.productIds ?? []) : [];
      for (const id of products) await c.locks.product(id, () => propagateProduct(c, id, { force: true }));
      if (p.kind === 'items') {
        const items = await c.items.get(p.itemIds, true);
        await c.journal.append(
          'recovery',
          p.itemIds.flatMap((id) => {
            const item = items.get(id);
            return item ? [localItemEvent(item)] : [];
          }),
        );
      }
      await c.intents.remove(p._id);
      this.logger.info('recovered interrupted change', { intent: p._id, kind: p.kind });
    }
    if (Date.now() - this.lastPrune >= PRUNE_EVERY_MS) {
      this.lastPrune = Date.now();
      await this.pruneJournal();
    }
    return due.length;
  }

  /** Deletes fully published journal documents older than `olderThanMs` (their events are in Kafka). */
  pruneJournal(olderThanMs = 60_000): Promise<number> {
    return this.c.journal.prune(olderThanMs);
  }

  start(): void {
    this.loop.start(this.everyMs);
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }
}
