import type { Model } from 'mongoose';
import type { Assignment, ChannelAssignment, ShelfPrice } from '../domain/records';
import { insertNew } from './items';
import { collectionOf } from './models';

/** Where each product is assigned (`_id` = productId). Written under the product's lock. */
export interface AssignmentRepository {
  byId(productId: string): Promise<Assignment | null>;
  /** Sets one channel's assignment of a product; `isNew`: the product has no assignment document yet (created, with no items). */
  setChannel(productId: string, sellerId: string, code: string, entry: ChannelAssignment, isNew: boolean): Promise<void>;
  /** Assigns every variant of the product to those of `codes` it is not assigned to yet (bulk sync's locked path). */
  addChannels(productId: string, sellerId: string, codes: readonly string[], since: Date): Promise<void>;
  setPrices(productId: string, code: string, prices: ShelfPrice[]): Promise<void>;
  removeChannel(productId: string, code: string): Promise<void>;
  /** Replaces the list of every item id the product ever had. */
  setItems(productId: string, items: string[]): Promise<void>;
  /** Writes new assignment documents (unordered, each atomic); returns the product ids that had one already. */
  insertNew(assignments: readonly Assignment[]): Promise<Set<string>>;
  /** The ids of the products assigned to any of the channels (a scan: rule and channel changes only). */
  assignedTo(codes: readonly string[]): Promise<string[]>;
}

export class MongoAssignmentRepository implements AssignmentRepository {
  constructor(private readonly model: Model<Assignment>) {}

  byId(productId: string): Promise<Assignment | null> {
    return this.model.findById(productId).lean<Assignment | null>().exec();
  }

  async setChannel(productId: string, sellerId: string, code: string, entry: ChannelAssignment, isNew: boolean): Promise<void> {
    await this.model.findOneAndUpdate(
      { _id: productId },
      { $set: { [`channels.${code}`]: entry, sellerId, ...(isNew ? { items: [] } : {}) } },
      { upsert: true },
    );
  }

  async addChannels(productId: string, sellerId: string, codes: readonly string[], since: Date): Promise<void> {
    const current = await this.byId(productId);
    const set: Record<string, unknown> = {};
    for (const c of codes) if (!current?.channels[c]) set[`channels.${c}`] = { skus: null, prices: [], since };
    if (!current) set.items = [];
    await this.model.findOneAndUpdate({ _id: productId }, { $set: { ...set, sellerId } }, { upsert: true });
  }

  async setPrices(productId: string, code: string, prices: ShelfPrice[]): Promise<void> {
    await this.model.findOneAndUpdate({ _id: productId }, { $set: { [`channels.${code}.prices`]: prices } });
  }

  async removeChannel(productId: string, code: string): Promise<void> {
    await this.model.findOneAndUpdate({ _id: productId }, { $unset: { [`channels.${code}`]: '' } });
  }

  async setItems(productId: string, items: string[]): Promise<void> {
    await collectionOf(this.model).updateOne({ _id: productId }, { $set: { items } });
  }

  insertNew(assignments: readonly Assignment[]): Promise<Set<string>> {
    return insertNew(this.model, assignments);
  }

  async assignedTo(codes: readonly string[]): Promise<string[]> {
    const docs = await this.model
      .find({ $or: codes.map((c) => ({ [`channels.${c}`]: { $exists: true } })) }, { _id: 1 })
      .lean<{ _id: string }[]>();
    return docs.map((d) => d._id);
  }
}
