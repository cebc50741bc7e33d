import type { Model } from 'mongoose';
import type { Conflict, StagedDiff } from '../domain/records';
import { collectionOf } from './models';

/**
 * Conflicts and staged diffs: small records of one item each, written whole under the item's
 * product lock, listed per channel and status (a scan: they are few).
 */
export interface CurationRecords<T extends { _id: string; channel: string; status: string }> {
  byId(id: string): Promise<T | null>;
  /** Writes a record that exists (nothing when it does not). */
  update(record: T): Promise<void>;
  /** Writes the records, creating those that do not exist (one unordered bulk write). */
  upsertAll(records: readonly T[]): Promise<void>;
  inChannel(channel: string, status: T['status']): Promise<T[]>;
}

export type ConflictRepository = CurationRecords<Conflict>;
export type StagedDiffRepository = CurationRecords<StagedDiff>;

export class MongoCurationRecords<T extends { _id: string; channel: string; status: string }> implements CurationRecords<T> {
  constructor(private readonly model: Model<T>) {}

  byId(id: string): Promise<T | null> {
    return this.model.findById(id).lean<T | null>().exec();
  }

  async update(record: T): Promise<void> {
    const { _id, ...rest } = record;
    const set: Record<string, unknown> = rest; // every field but the id, written whole
    await this.model.findOneAndUpdate({ _id }, { $set: set });
  }

  async upsertAll(records: readonly T[]): Promise<void> {
    if (!records.length) return;
    const ops = records.map(({ _id, ...rest }) => ({ updateOne: { filter: { _id }, update: { $set: rest }, upsert: true } }));
    // The driver's Filter and UpdateFilter types cannot be resolved for a generic T; the ops name
    // `_id` (a string on every T) and the record's own fields.
    await collectionOf(this.model).bulkWrite(ops as never, { ordered: false });
  }

  inChannel(channel: string, status: T['status']): Promise<T[]> {
    return this.model.find({ channel, status }).lean<T[]>().exec();
  }
}
