import type { Model } from 'mongoose';
import type { RateEntry } from '../domain/rates';
import { Cached } from './cached';
import { compareAndSet } from './compare-and-set';
import type { RateTableDoc, Revised } from './models';

/** The versioned, append-only rate table (one document, `_id` 'table'). */
export interface RateRepository {
  /** The table, cached for a second; a rate added here drops it at once. */
  table(): Promise<RateEntry[]>;
  /** Read-decide-write of the table (compare-and-set): `decide` gets the current entries and answers the next ones. */
  change<R>(decide: (entries: RateEntry[]) => { entries: RateEntry[]; result: R }): Promise<R>;
}

const TABLE_ID = 'table';

export class MongoRateRepository implements RateRepository {
  private readonly cached: Cached<RateEntry[]>;

  constructor(private readonly model: Model<Revised<RateTableDoc>>) {
    this.cached = new Cached(async () => (await model.findById(TABLE_ID, { entries: 1 }).lean<RateTableDoc | null>())?.entries ?? []);
  }

  table(): Promise<RateEntry[]> {
    return this.cached.get();
  }

  async change<R>(decide: (entries: RateEntry[]) => { entries: RateEntry[]; result: R }): Promise<R> {
    const result = await compareAndSet<RateTableDoc, R>(this.model, TABLE_ID, (current) => {
      const { entries, result } = decide(current?.entries ?? []);
      return { set: { entries }, result };
    });
    this.cached.invalidate();
    return result;
  }
}
