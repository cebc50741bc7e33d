import type { Model } from 'mongoose';
import type { Evidence } from '../domain/records';
import { insertNew } from './items';
import { collectionOf } from './models';

/** Evidence of each propagation into an item (`_id` = evidenceId; the item lists its last ids). */
export interface EvidenceRepository {
  /** Stores the records (one unordered insertMany; any failure throws). */
  insertAll(records: readonly Evidence[]): Promise<void>;
  /** Stores new records (unordered, each atomic); returns the ids that existed already. */
  insertNew(records: readonly Evidence[]): Promise<Set<string>>;
  /** The records by id, in the order asked, leaving out those not found (by id: no scan). */
  byIds(ids: readonly string[]): Promise<Evidence[]>;
}

export class MongoEvidenceRepository implements EvidenceRepository {
  constructor(private readonly model: Model<Evidence>) {}

  async insertAll(records: readonly Evidence[]): Promise<void> {
    if (records.length) await collectionOf(this.model).insertMany(records, { ordered: false });
  }

  insertNew(records: readonly Evidence[]): Promise<Set<string>> {
    return insertNew(this.model, records);
  }

  async byIds(ids: readonly string[]): Promise<Evidence[]> {
    const docs = await Promise.all(ids.map((id) => this.model.findById(id).lean<Evidence | null>()));
    return docs.filter((d): d is Evidence => !!d);
  }
}
