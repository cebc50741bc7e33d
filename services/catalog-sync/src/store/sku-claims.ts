import type { Model } from 'mongoose';
import type { SkuClaim } from '../domain/records';
import { insertNew } from './items';
import { collectionOf } from './models';

/**
 * SKU ownership claims (`_id` = the SKU, so one SKU has at most one owner product: the database's
 * unique `_id` decides every race, on FerretDB as on MongoDB). Every read and write is by `_id`
 * (`$in` lookups), never a scan: FerretDB answers other filters by scanning.
 */
export interface SkuClaimRepository {
  /** The claims of those SKUs that have one. */
  of(skus: readonly string[]): Promise<Map<string, SkuClaim>>;
  /** Inserts the claims (unordered, each atomic); answers the SKUs claimed already (nothing of theirs written). */
  insertNew(claims: readonly SkuClaim[]): Promise<Set<string>>;
  /** Moves a claim from `from` to `to` only if `from` still holds it (compare-and-set); answers whether it moved. */
  transfer(sku: string, from: string, to: string, at: Date): Promise<boolean>;
  /** Removes the claims on those SKUs that `productId` holds (another product's claim is left alone). */
  release(productId: string, skus: readonly string[]): Promise<void>;
  /** Whether the one-time claim of the products stored before claims existed has run (the backfill marker). */
  backfilled(): Promise<boolean>;
  markBackfilled(at: Date): Promise<void>;
}

/** Ids per `$in` read. */
const IDS_PER_READ = 1000;
/**
 * The backfill marker lives in the claims collection under an `_id` no SKU can take (SKUs start
 * with a letter or digit: `Sku` in http/schemas.ts).
 */
const BACKFILL_MARKER = '#backfilled';

export class MongoSkuClaimRepository implements SkuClaimRepository {
  constructor(private readonly model: Model<SkuClaim>) {}

  async of(skus: readonly string[]): Promise<Map<string, SkuClaim>> {
    const out = new Map<string, SkuClaim>();
    for (let i = 0; i < skus.length; i += IDS_PER_READ) {
      const docs = await collectionOf(this.model)
        .find({ _id: { $in: skus.slice(i, i + IDS_PER_READ) } })
        .toArray();
      for (const d of docs) out.set(d._id, d);
    }
    return out;
  }

  insertNew(claims: readonly SkuClaim[]): Promise<Set<string>> {
    return insertNew(this.model, claims);
  }

  async transfer(sku: string, from: string, to: string, at: Date): Promise<boolean> {
    const res = await collectionOf(this.model).updateOne({ _id: sku, productId: from }, { $set: { productId: to, claimedAt: at } });
    return res.modifiedCount === 1;
  }

  async release(productId: string, skus: readonly string[]): Promise<void> {
    if (skus.length) await collectionOf(this.model).deleteMany({ _id: { $in: [...skus] }, productId });
  }

  async backfilled(): Promise<boolean> {
    return (await collectionOf(this.model).countDocuments({ _id: BACKFILL_MARKER }, { limit: 1 })) === 1;
  }

  async markBackfilled(at: Date): Promise<void> {
    await collectionOf(this.model).updateOne({ _id: BACKFILL_MARKER }, { $set: { productId: '', claimedAt: at } }, { upsert: true });
  }
}
