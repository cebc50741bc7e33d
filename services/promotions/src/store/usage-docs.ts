import type { Collection, Model } from 'mongoose';
import { outboxPaths, type OutgoingEvent, type Outbox } from '@omnimall/service-kit';
import type { Counter, Made } from '../domain/usage';

/** What a decision writes: the new record and the events committed with it. */
export interface RecordChange<R> {
  record: R;
  events: readonly OutgoingEvent[];
}

export type DecideRecord<R> = (current: R | null) => RecordChange<R> | null;

/** An aggregate's documents as its application services use them. */
export interface Documents<R> {
  get(id: string): Promise<R | null>;
  transact(id: string, decide: DecideRecord<R>, assumeNew?: boolean): Promise<R | null>;
  /** Ids of the documents with an expiry at or before `now` (the sweepers' scan), at most `limit`. */
  due(now: number, limit: number): Promise<string[]>;
}

/**
 * One aggregate whose documents are written only through the outbox (a compare-and-set on `writeRev`,
 * `decide` run again on a fresh read when another writer, in any instance, got there first), the
 * mapping between record and document kept in one place. `nextExpiry` (the earliest expiry the
 * record's holds or lots carry) is stored beside the fields for the sweepers' scan.
 */
export class OutboxDocuments<R, D extends { _id: string }> implements Documents<R> {
  private readonly collection: Collection<D>;

  constructor(
    private readonly model: Model<D>,
    private readonly outbox: Outbox,
    private readonly toRecord: (doc: D) => R,
    private readonly toFields: (record: R) => Omit<D, '_id'>,
    private readonly expiryOf: (record: R) => number | null = () => null,
  ) {
    this.collection = model.db.collection<D>(model.collection.collectionName);
  }

  async get(id: string): Promise<R | null> {
    const doc = await this.collection.findOne({ _id: id } as never, { projection: { outbox: 0 } });
    return doc ? this.toRecord(doc as D) : null;
  }

  /**
   * Lets `decide` turn the current record (null: none) into a new one and its events, written if the
   * document is still as decided on. `decide` may throw (nothing written) or return null (nothing to
   * do); it has no side effects. The record after the write, or as stored when nothing was written.
   * `assumeNew`: the first decision is made on "none" without reading (a new hold's record).
   */
  async transact(id: string, decide: DecideRecord<R>, assumeNew = false): Promise<R | null> {
    const { doc } = await this.outbox.transact(
      this.model,
      id,
      (cur) => {
        const change = decide(cur ? this.toRecord(cur) : null);
        if (!change) return null;
        return { update: { $set: { ...this.toFields(change.record), nextExpiry: this.expiryOf(change.record) } }, events: change.events };
      },
      { assumeNew },
    );
    return doc ? this.toRecord(doc) : null;
  }

  /** Ids of the documents with an expiry at or before `now` (the sweepers' scan), at most `limit`. */
  async due(now: number, limit: number): Promise<string[]> {
    const docs = await this.collection
      .find({ nextExpiry: { $ne: null, $lte: now } } as never, { projection: { _id: 1 } })
      .limit(limit)
      .toArray();
    return docs.map((d) => String(d._id));
  }

  /** Documents matching a filter of the store's own (small reads: ids and a few fields). */
  async find(filter: Record<string, unknown>, limit: number): Promise<R[]> {
    const docs = await this.collection
      .find(filter as never, { projection: { outbox: 0 } })
      .limit(limit)
      .toArray();
    return docs.map((d) => this.toRecord(d as D));
  }
}

/** The mongoose paths of a counter document (a code's or a campaign's), with the outbox's. */
export const counterPaths = {
  used: { type: Number, default: 0 },
  perCustomerUsed: { type: Object, default: {} },
  holds: { type: Object, default: {} },
  committed: { type: Object, default: {} },
  createdBy: String,
  createdAt: Number,
  updatedAt: Number,
  version: { type: Number, default: 0 },
  nextExpiry: { type: Number, default: null },
  ...outboxPaths,
};

/** A counter document's counter and making fields, defaults filled in. */
export const counterOf = (d: Partial<Counter> & Omit<Made, 'version'> & { version?: number }): Counter & Made => ({
  used: d.used ?? 0,
  perCustomerUsed: d.perCustomerUsed ?? {},
  holds: d.holds ?? {},
  committed: d.committed ?? {},
  createdBy: d.createdBy,
  createdAt: d.createdAt,
  updatedAt: d.updatedAt,
  version: d.version ?? 0,
});
