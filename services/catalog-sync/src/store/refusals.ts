import type { Model } from 'mongoose';
import type { Refusal } from '../domain/records';
import { collectionOf } from './models';

/** Every refusal by a restriction (audit), listed per product. */
export interface RefusalRepository {
  /** Stores the refusals (one insertMany). */
  record(refusals: readonly Refusal[]): Promise<void>;
  /** A product's refusals, oldest first (a scan: audit only). */
  ofProduct(productId: string): Promise<Refusal[]>;
}

export class MongoRefusalRepository implements RefusalRepository {
  constructor(private readonly model: Model<Refusal>) {}

  async record(refusals: readonly Refusal[]): Promise<void> {
    if (refusals.length === 1) await collectionOf(this.model).insertOne(refusals[0]);
    else if (refusals.length) await collectionOf(this.model).insertMany(refusals);
  }

  ofProduct(productId: string): Promise<Refusal[]> {
    return this.model.find({ productId }).sort({ at: 1 }).lean<Refusal[]>().exec();
  }
}
