import type { Collection, Model } from 'mongoose';
import type { OutgoingEvent, Outbox } from '@omnimall/service-kit';
import { DEVICE_PREFIX, type CartRecord, type CartState } from '../domain/cart';
import type { CartDoc } from './schemas';

/**
 * The carts. Every write is a read-decide-write through the kit's outbox: a compare-and-set on the
 * document's `writeRev`, so the new state and its events commit together and no concurrent writer
 * (another instance included) loses an update. The collection is tracked `exclusive` (nothing else
 * writes it), so a write decides on the cart as this process last wrote it without reading it first.
 *
 * The one write outside the outbox is the retention pass's delete of device carts (pruneDeviceCarts).
 * It is safe beside the outbox: it matches only documents with no outbox entry left (nothing lost to
 * publish) and no merge in flight, and is atomic per document against a concurrent write (which
 * either lands first, moving `updatedAt` out of the filter, or finds the cart gone: the outbox's
 * compare-and-set on a remembered copy then fails, it reads again, and decides on "no cart").
 */

/** What a decision on a cart writes: the fields it sets, and the events committed with them. */
export interface CartChange {
  set: Partial<Omit<CartRecord, 'cartId'>>;
  events: readonly OutgoingEvent[];
}

export interface CartRepository {
  /** The cart's content (lines, wishlist, version) without its merge bookkeeping; null when there is no cart. */
  content(cartId: string): Promise<CartState | null>;
  /** The cart's version; 0 when there is no cart. */
  version(cartId: string): Promise<number>;
  /** The whole cart as stored, merge bookkeeping included; null when there is none. */
  get(cartId: string): Promise<CartRecord | null>;
  /**
   * Lets `decide` turn the current cart (null: none yet) into a change and writes it if the cart is
   * still as decided on; otherwise decides again on a fresh read, so `decide` has no side effects. It
   * may throw a domain error (nothing is written) or return null (nothing to do). Returns the cart
   * after the write, or as it was when nothing was written. Throws the kit's WriteConflictError when
   * other writers won every round. A missing cart is created unless `upsert` is false.
   */
  transact(
    cartId: string,
    decide: (current: CartRecord | null) => CartChange | null,
    opts?: { upsert?: boolean },
  ): Promise<CartRecord | null>;
  /**
   * Removes the anonymous device carts untouched since before `untouchedBefore` (epoch millis) or
   * erased, except those with events not yet published or a merge in flight; returns how many.
   */
  pruneDeviceCarts(untouchedBefore: number): Promise<number>;
  /**
   * Customers' carts (not devices') whose lines or wishlist hold one of `skus` or, with `skus` empty,
   * changed at or after `touchedSince`; at most `limit`, with their lines and wishlist.
   */
  customerCartsFor(query: { skus: readonly string[]; touchedSince: number }, limit: number): Promise<CartRecord[]>;
}

function toRecord(doc: CartDoc): CartRecord {
  return {
    cartId: doc._id,
    customerId: doc.customerId ?? null,
    lines: doc.lines ?? [],
    wishlist: doc.wishlist ?? [],
    version: doc.version ?? 0,
    mergedSources: doc.mergedSources ?? [],
    orderedBy: doc.orderedBy ?? [],
    pendingMerge: doc.pendingMerge ?? null,
    updatedAt: doc.updatedAt ?? 0,
    erasedAt: doc.erasedAt ?? null,
  };
}

export class MongoCartRepository implements CartRepository {
  /** The driver's collection under the model, typed: reads skip mongoose documents and fetch only the fields asked for. */
  private readonly collection: Collection<CartDoc>;

  constructor(
    private readonly model: Model<CartDoc>,
    private readonly outbox: Outbox,
  ) {
    this.collection = model.db.collection<CartDoc>(model.collection.collectionName);
  }

  async content(cartId: string): Promise<CartState | null> {
    const doc = await this.collection.findOne({ _id: cartId }, { projection: { lines: 1, wishlist: 1, version: 1 } });
    return doc ? { lines: doc.lines ?? [], wishlist: doc.wishlist ?? [], version: doc.version ?? 0 } : null;
  }

  async version(cartId: string): Promise<number> {
    const doc = await this.collection.findOne({ _id: cartId }, { projection: { version: 1 } });
    return doc?.version ?? 0;
  }

  async get(cartId: string): Promise<CartRecord | null> {
    const doc = await this.model.findById(cartId).lean<CartDoc>();
    return doc ? toRecord(doc) : null;
  }

  async transact(
    cartId: string,
    decide: (current: CartRecord | null) => CartChange | null,
    opts: { upsert?: boolean } = {},
  ): Promise<CartRecord | null> {
    const { doc } = await this.outbox.transact(
      this.model,
      cartId,
      (cur) => {
        const change = decide(cur ? toRecord(cur) : null);
        return change && { update: { $set: change.set }, events: change.events };
      },
      opts,
    );
    return doc ? toRecord(doc) : null;
  }

  async customerCartsFor(query: { skus: readonly string[]; touchedSince: number }, limit: number): Promise<CartRecord[]> {
    const which = query.skus.length
      ? { $or: [{ 'lines.sku': { $in: [...query.skus] } }, { wishlist: { $in: [...query.skus] } }] }
      : { updatedAt: { $gte: query.touchedSince } };
    const docs = await this.collection
      .find({ customerId: { $ne: null }, ...which }, { projection: { customerId: 1, lines: 1, wishlist: 1, version: 1, updatedAt: 1 } })
      .limit(limit)
      .toArray();
    return docs.map(toRecord);
  }

  async pruneDeviceCarts(untouchedBefore: number): Promise<number> {
    const r = await this.collection.deleteMany({
      _id: { $regex: `^${DEVICE_PREFIX}` },
      $and: [
        { $or: [{ updatedAt: { $lt: untouchedBefore } }, { erasedAt: { $gt: 0 } }] },
        { $or: [{ outboxCount: 0 }, { outboxCount: { $exists: false } }] },
      ],
      pendingMerge: null,
    });
    return r.deletedCount;
  }
}
