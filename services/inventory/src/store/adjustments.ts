import type { Model } from 'mongoose';
import type { AdjustmentDoc } from './schemas';

export type Adjustment = Omit<AdjustmentDoc, '_id'> & { id: string };

/**
 * The append-only history of stock changes: one document per inventory.stock-adjustment event, keyed
 * by its event id, written by the service's own `history` subscription (so a replay writes nothing
 * twice) and never updated or deleted.
 */
export interface AdjustmentRepository {
  /** Appends one adjustment; false when it was there already. */
  append(a: Adjustment): Promise<boolean>;
  /** A SKU's history, newest first. */
  ofSku(sku: string, limit: number, before?: number): Promise<Adjustment[]>;
}

export class MongoAdjustmentRepository implements AdjustmentRepository {
  constructor(private readonly model: Model<AdjustmentDoc>) {}

  async append(a: Adjustment): Promise<boolean> {
    const { id, ...rest } = a;
    const r = await this.model.updateOne({ _id: id }, { $setOnInsert: rest }, { upsert: true });
    return r.upsertedCount === 1;
  }

  async ofSku(sku: string, limit: number, before?: number): Promise<Adjustment[]> {
    const filter = before === undefined ? { sku } : { sku, version: { $lt: before } };
    const docs = await this.model.find(filter).sort({ version: -1 }).limit(limit).lean<AdjustmentDoc[]>();
    return docs.map(({ _id, ...rest }) => ({ ...rest, id: _id }));
  }
}
