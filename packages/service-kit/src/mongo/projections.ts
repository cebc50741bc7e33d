import type { Collection, FilterQuery, Model, UpdateQuery } from 'mongoose';
import type { EventContext } from '../events/consumer/types';

/**
 * A service's local projections of other services' aggregates (a customer's status, a channel's
 * state, a channel's items...). Every source event carries the aggregate's full state, so a projection keeps only the
 * latest: a write matches only a document at an older aggregateVersion (or none), so a late or
 * replayed event never moves it back, and the consumer reports it as a duplicate.
 */

/** The handler's context as far as a projection write needs it: the kit's effect-once update. */
export type EffectOnce = Pick<EventContext, 'applyOnce'>;

/** A projection document: the state's fields, the source aggregateVersion and the ids of the events applied (in-document effect-once). */
export type Projected<T> = T & { _id: string; aggregateVersion: number; appliedEvents: string[] };

/** A projection's state with the source aggregateVersion it reflects. */
export interface Versioned<V> {
  value: V;
  version: number;
}

export interface ProjectionRepository<V> {
  /** Writes an event's full state at `version`, at most once per event, unless the projection is already there or newer. */
  project(once: EffectOnce, id: string, value: V, version: number): Promise<void>;
  /** The projections of these ids (absent ids are left out), with one read for all. */
  readMany(ids: readonly string[]): Promise<Map<string, Versioned<V>>>;
  /** One projection, or null. */
  get(id: string): Promise<Versioned<V> | null>;
  /** Every projection, at most `limit` (for small collections such as the channels). */
  list(limit: number): Promise<Map<string, Versioned<V>>>;
}

/** A projection document as reads see it: its key, its version, and V's fields (read by name). */
interface ProjectionRow {
  _id: string;
  aggregateVersion?: number;
  [field: string]: unknown;
}

export class MongoProjections<V extends object> implements ProjectionRepository<V> {
  /** What reads fetch: the state's fields and the version, never the applied-event ids. */
  private readonly projection: Record<string, 1>;
  /** The driver's collection under the model: reads skip mongoose documents. */
  private readonly collection: Collection<ProjectionRow>;

  constructor(
    private readonly model: Model<Projected<V>>,
    private readonly fields: readonly (keyof V & string)[],
  ) {
    this.collection = model.db.collection<ProjectionRow>(model.collection.collectionName);
    this.projection = { aggregateVersion: 1 };
    for (const f of fields) this.projection[f] = 1;
  }

  async project(once: EffectOnce, id: string, value: V, version: number): Promise<void> {
    // mongoose cannot check a filter or update against a generic document type; both name only
    // `_id`, `aggregateVersion` and V's own fields, which Projected<V> has.
    const filter = { _id: id, aggregateVersion: { $lt: version } } as FilterQuery<Projected<V>>;
    const update = { $set: { ...value, aggregateVersion: version } } as UpdateQuery<Projected<V>>;
    await once.applyOnce(this.model, filter, update, { upsert: true });
  }

  // One driver call (findOne when there is a single id), no mongoose documents.
  async readMany(ids: readonly string[]): Promise<Map<string, Versioned<V>>> {
    const out = new Map<string, Versioned<V>>();
    if (!ids.length) return out;
    const coll = this.collection;
    const opts = { projection: this.projection };
    const docs =
      ids.length === 1 ? [await coll.findOne({ _id: ids[0] }, opts)] : await coll.find({ _id: { $in: [...ids] } }, opts).toArray();
    return this.rows(docs);
  }

  async list(limit: number): Promise<Map<string, Versioned<V>>> {
    return this.rows(await this.collection.find({}, { projection: this.projection }).limit(limit).toArray());
  }

  private rows(docs: (ProjectionRow | null)[]): Map<string, Versioned<V>> {
    const out = new Map<string, Versioned<V>>();
    for (const d of docs) {
      if (!d) continue;
      const value = {} as Record<string, unknown>;
      for (const f of this.fields) value[f] = d[f] ?? null;
      out.set(d._id, { value: value as V, version: d.aggregateVersion ?? 0 });
    }
    return out;
  }

  async get(id: string): Promise<Versioned<V> | null> {
    return (await this.readMany([id])).get(id) ?? null;
  }
}
