import type { Collection, Model } from 'mongoose';
import type { OutgoingEvent, Outbox } from '@omnimall/service-kit';
import type { StockRecord } from '../domain/types';
import type { StockDoc } from './schemas';

/**
 * The stock of each SKU: one document holding every location's levels, the holds of reservations,
 * the quota used per channel and what each channel was last told. Every write is a read-decide-write
 * through the kit's outbox — a compare-and-set on the document's `writeRev` — so a change, its
 * adjustment and its availability events commit together, and two writers (two instances included)
 * can never both take the last unit: the loser decides again on what the winner wrote.
 */

/** What a decision writes: the new record and the events committed with it. */
export interface StockChange {
  record: StockRecord;
  events: readonly OutgoingEvent[];
}

export interface StockRepository {
  get(sku: string): Promise<StockRecord | null>;
  /**
   * Lets `decide` turn the current stock (null: none yet) into a new record and its events, and writes
   * them if the document is still as decided on; otherwise decides again on a fresh read (so `decide`
   * has no side effects). It may throw a domain error (nothing written) or return null (nothing to do).
   * Returns the stock after the write, or as it was when nothing was written.
   */
  transact(sku: string, decide: (current: StockRecord | null) => StockChange | null): Promise<StockRecord | null>;
  /** The SKUs with a hold that expired by `now` (the sweeper's scan), at most `limit`. */
  withExpiredHolds(now: number, limit: number): Promise<string[]>;
  /** Every SKU after `after` in _id order, `limit` at a time (the recompute's walk). */
  page(after: string | null, limit: number): Promise<string[]>;
  /** Every stock record, for global totals (one read of the levels, no holds' detail). */
  all(): AsyncIterable<Pick<StockRecord, 'sku' | 'sellerId' | 'levels' | 'published'>>;
}

export function toRecord(doc: StockDoc): StockRecord {
  return {
    sku: doc._id,
    sellerId: doc.sellerId ?? null,
    version: doc.version ?? 0,
    levels: doc.levels ?? {},
    holds: doc.holds ?? {},
    quotaUsed: doc.quotaUsed ?? {},
    published: doc.published ?? {},
    ops: doc.ops ?? {},
    updatedAt: doc.updatedAt ?? 0,
  };
}

/** The earliest expiry among the holds (null: none), kept on the document for the sweeper's scan. */
function nextExpiry(r: StockRecord): number | null {
  let min: number | null = null;
  for (const h of Object.values(r.holds)) if (min === null || h.expiresAt < min) min = h.expiresAt;
  return min;
}

export class MongoStockRepository implements StockRepository {
  private readonly collection: Collection<StockDoc>;

  constructor(
    private readonly model: Model<StockDoc>,
    private readonly outbox: Outbox,
  ) {
    this.collection = model.db.collection<StockDoc>(model.collection.collectionName);
  }

  async get(sku: string): Promise<StockRecord | null> {
    const doc = await this.collection.findOne({ _id: sku }, { projection: { outbox: 0 } });
    return doc ? toRecord(doc) : null;
  }

  async transact(sku: string, decide: (current: StockRecord | null) => StockChange | null): Promise<StockRecord | null> {
    const { doc } = await this.outbox.transact(this.model, sku, (cur) => {
      const change = decide(cur ? toRecord(cur) : null);
      if (!change) return null;
      const r = change.record;
      const set = {
        sellerId: r.sellerId,
        version: r.version,
        levels: r.levels,
        holds: r.holds,
        quotaUsed: r.quotaUsed,
        published: r.published,
        ops: r.ops,
        updatedAt: r.updatedAt,
        nextExpiry: nextExpiry(r),
      };
      return { update: { $set: set }, events: change.events };
    });
    return doc ? toRecord(doc) : null;
  }

  async withExpiredHolds(now: number, limit: number): Promise<string[]> {
    const docs = await this.collection
      .find({ nextExpiry: { $ne: null, $lte: now } }, { projection: { _id: 1 } })
      .limit(limit)
      .toArray();
    return docs.map((d) => d._id);
  }

  async page(after: string | null, limit: number): Promise<string[]> {
    const docs = await this.collection
      .find(after === null ? {} : { _id: { $gt: after } }, { projection: { _id: 1 } })
      .sort({ _id: 1 })
      .limit(limit)
      .toArray();
    return docs.map((d) => d._id);
  }

  async *all(): AsyncIterable<Pick<StockRecord, 'sku' | 'sellerId' | 'levels' | 'published'>> {
    const cursor = this.collection.find({}, { projection: { sellerId: 1, levels: 1, published: 1 } });
    for await (const d of cursor) yield { sku: d._id, sellerId: d.sellerId ?? null, levels: d.levels ?? {}, published: d.published ?? {} };
  }
}
