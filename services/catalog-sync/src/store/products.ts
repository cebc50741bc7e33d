import type { Model } from 'mongoose';
import { mapLimit } from '@omnimall/service-kit';
import type { StoredProduct } from '../domain/records';
import { collectionOf } from './models';

/** What a master change sets (the product's own fields, not its id, owner or version). */
export type ProductFields = Omit<StoredProduct, '_id' | 'sellerId' | 'version' | 'createdAt'>;

/** Master products (`_id` = productId). */
export interface ProductRepository {
  byId(id: string): Promise<StoredProduct | null>;
  /** The owner and version only (listings, access checks), or null when there is no such product. */
  header(id: string): Promise<{ sellerId: string; version: number } | null>;
  /** Products by id, in no particular order; unknown ids are left out. */
  byIds(ids: readonly string[]): Promise<StoredProduct[]>;
  /** Inserts a new product; a product with its id already answers a duplicate-key error (409 through the app). */
  create(product: StoredProduct): Promise<void>;
  /** Inserts new products in bulk (seeding: benchmarks). */
  createMany(products: readonly StoredProduct[]): Promise<void>;
  /**
   * A master change in one conditional write: sets the fields and bumps the version, only when the
   * product is owned by `ownerId` (null: by anyone). Answers the product as written and as it was
   * before (its SKUs are released when dropped), or null when there is no such product or it belongs
   * to another seller.
   */
  change(id: string, ownerId: string | null, fields: ProductFields): Promise<{ product: StoredProduct; previous: StoredProduct } | null>;
  /** The owners of the products by id (unknown ids are left out): what bulk requests are checked against. */
  owners(ids: readonly string[]): Promise<{ _id: string; sellerId: string }[]>;
  /** Every product's SKUs, oldest product first (a scan, in pages: the one-time claim backfill only). */
  declaredSkus(): AsyncIterable<{ productId: string; skus: string[] }>;
}

/** Ids per read of `byIds` (`_id: {$in}`: index lookups, also on the local FerretDB build: patch 5). */
const IDS_PER_READ = 1000;

function slicesOf(ids: readonly string[]): string[][] {
  const slices: string[][] = [];
  for (let i = 0; i < ids.length; i += IDS_PER_READ) slices.push(ids.slice(i, i + IDS_PER_READ));
  return slices;
}

export class MongoProductRepository implements ProductRepository {
  constructor(private readonly model: Model<StoredProduct>) {}

  byId(id: string): Promise<StoredProduct | null> {
    return this.model.findById(id).lean<StoredProduct | null>().exec();
  }

  header(id: string): Promise<{ sellerId: string; version: number } | null> {
    return this.model.findById(id, { version: 1, sellerId: 1 }).lean<{ sellerId: string; version: number } | null>().exec();
  }

  async byIds(ids: readonly string[]): Promise<StoredProduct[]> {
    const read = await mapLimit(slicesOf(ids), 2, (slice) =>
      collectionOf(this.model)
        .find({ _id: { $in: slice } })
        .toArray(),
    );
    return read.flat();
  }

  async owners(ids: readonly string[]): Promise<{ _id: string; sellerId: string }[]> {
    const read = await mapLimit(slicesOf(ids), 2, (slice) =>
      collectionOf(this.model)
        .find({ _id: { $in: slice } }, { projection: { sellerId: 1 } })
        .toArray(),
    );
    return read.flat().map((d) => ({ _id: d._id, sellerId: d.sellerId }));
  }

  async *declaredSkus(): AsyncIterable<{ productId: string; skus: string[] }> {
    const cursor = collectionOf(this.model)
      .find({}, { projection: { 'variants.sku': 1, createdAt: 1 } })
      .sort({ createdAt: 1, _id: 1 })
      .batchSize(1000);
    for await (const d of cursor) yield { productId: d._id, skus: (d.variants ?? []).map((v) => v.sku) };
  }

  async create(product: StoredProduct): Promise<void> {
    await collectionOf(this.model).insertOne(product);
  }

  async createMany(products: readonly StoredProduct[]): Promise<void> {
    if (products.length) await collectionOf(this.model).insertMany(products);
  }

  async change(
    id: string,
    ownerId: string | null,
    fields: ProductFields,
  ): Promise<{ product: StoredProduct; previous: StoredProduct } | null> {
    // The document before the write; the written one is the same fields set and the version bumped
    // (each field is replaced whole by $set), so one round trip answers both.
    const previous = await collectionOf(this.model).findOneAndUpdate(
      { _id: id, ...(ownerId === null ? {} : { sellerId: ownerId }) },
      { $set: fields, $inc: { version: 1 } },
      { returnDocument: 'before' },
    );
    return previous ? { previous, product: { ...previous, ...fields, version: previous.version + 1 } } : null;
  }
}
