import { randomUUID } from 'node:crypto';
import type { OutgoingEvent, ServiceRuntime } from '@omnimall/service-kit';
import type { CatalogModels, ChannelDoc, PendingDoc } from '../store/models';
import type { RateEntry } from '../domain/rates';
import type { SyncRule } from '../domain/rules';

/**
 * What the use cases share: the runtime, the models, and three small services over them —
 * the journal (events leave through it), intents (crash recovery) and cached reads.
 *
 * Why a journal rather than an outbox in each local item: the kit's recovery poll scans every
 * tracked collection for pending events, and on FerretDB a scan reads the whole collection; local
 * items number in the tens of thousands, the journal in the few. A change to local items therefore
 * writes (1) an intent naming them, (2) the items, (3) one journal document carrying every event of
 * the change (atomic: published by the kit's outbox relay), (4) removes the intent. After a crash
 * between (1) and (4) the recovery sweep re-derives the events from the items' current state (all
 * events are full state, so re-emitting is always correct; consumers dedupe by version).
 */
/** Events per journal document. */
export const JOURNAL_EVENTS = 200;

export class CatalogContext {
  private channelCache?: { at: number; map: Map<string, ChannelDoc> };
  private rulesCache?: { at: number; map: Map<string, SyncRule[]> };
  private ratesCache?: { at: number; entries: RateEntry[] };
  readonly activeIntents = new Set<string>();

  constructor(
    readonly rt: ServiceRuntime,
    readonly m: CatalogModels,
  ) {}

  /**
   * Writes the events of one change in journal documents, published by the outbox relay. A change
   * with many events (a bulk sync) is split into documents of at most JOURNAL_EVENTS events: one
   * huge document is slow to write, to publish from and to clean up.
   */
  async emit(kind: string, events: readonly OutgoingEvent[], awaitPublish = false): Promise<void> {
    const writes: Promise<unknown>[] = [];
    for (let i = 0; i < events.length; i += JOURNAL_EVENTS) {
      const part = events.slice(i, i + JOURNAL_EVENTS);
      writes.push(this.rt.outbox.create(this.m.Journal, { _id: randomUUID(), kind, createdAt: new Date() }, part, { awaitPublish }));
    }
    await Promise.all(writes);
  }

  /** Runs `fn` with a recorded intent, removed when `fn` completed (kept after a throw for recovery only when `keepOnError`). */
  async withIntent<R>(intent: Omit<PendingDoc, '_id' | 'createdAt'>, fn: () => Promise<R>): Promise<R> {
    const _id = randomUUID();
    this.activeIntents.add(_id);
    await this.m.Pending.collection.insertOne({ _id, ...intent, createdAt: new Date() } as never);
    try {
      const out = await fn();
      await this.m.Pending.collection.deleteOne({ _id } as never);
      return out;
    } catch (err) {
      // Domain refusals wrote nothing worth recovering; other failures leave the intent to the sweep.
      if ((err as { status?: number }).status !== undefined)
        await this.m.Pending.collection.deleteOne({ _id } as never).catch(() => undefined);
      throw err;
    } finally {
      this.activeIntents.delete(_id);
    }
  }

  /** Every known channel (projection of channels.channel-changed), cached for a second. */
  async channels(): Promise<Map<string, ChannelDoc>> {
    if (this.channelCache && Date.now() - this.channelCache.at < 1000) return this.channelCache.map;
    const docs = (await this.m.Channel.find({}).lean()) as ChannelDoc[];
    const map = new Map(docs.map((d) => [d._id, d]));
    this.channelCache = { at: Date.now(), map };
    return map;
  }

  invalidateChannels(): void {
    this.channelCache = undefined;
  }

  /** Every channel's rules (one small document per channel), cached for a second; writes here invalidate. */
  async rulesOf(codes: readonly string[]): Promise<Map<string, SyncRule[]>> {
    if (!this.rulesCache || Date.now() - this.rulesCache.at > 1000) {
      const sets = await this.m.RuleSet.find({}, { rules: 1 }).lean();
      this.rulesCache = { at: Date.now(), map: new Map(sets.map((s) => [s._id, s.rules ?? []])) };
    }
    const all = this.rulesCache.map;
    return new Map(codes.map((c) => [c, all.get(c) ?? []]));
  }

  /** The rate table, cached for a second; an added rate invalidates it. */
  async rates(): Promise<RateEntry[]> {
    if (!this.ratesCache || Date.now() - this.ratesCache.at > 1000) {
      this.ratesCache = { at: Date.now(), entries: (await this.m.RateTable.findById('table').lean())?.entries ?? [] };
    }
    return this.ratesCache.entries;
  }

  invalidateRules(): void {
    this.rulesCache = undefined;
  }

  invalidateRates(): void {
    this.ratesCache = undefined;
  }

  /**
   * Serialises every write of one product and of its local items: master edits, assignments,
   * propagation, and channel managers' curation of the product's items. One lock per product (not per
   * item) keeps a fan-out to many channels to two database round trips per item.
   */
  productLock<R>(productId: string, fn: () => Promise<R>): Promise<R> {
    return this.rt.locks.run(`product:${productId}`, fn);
  }

  /** Runs `fn` under the lock of the product an existing local item belongs to. */
  async itemProductLock<R>(itemId: string, fn: () => Promise<R>): Promise<R> {
    const item = await this.m.LocalItem.findById(itemId, { productId: 1 }).lean();
    if (!item) return fn(); // fn reports the missing item
    return this.productLock(item.productId, fn);
  }
}

/** Runs `fn` over `items` with at most `limit` in flight, keeping order of results. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
