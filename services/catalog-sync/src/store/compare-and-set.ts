import type { Model } from 'mongoose';
import { ConflictError, isDuplicateKeyError } from '@omnimall/service-kit';
import { collectionOf, type Revised } from './models';

/** What a decision on a small document writes (its fields) and answers the caller. */
export interface Decision<D, R> {
  set: Partial<Omit<D, '_id'>>;
  result: R;
}

/**
 * Read-decide-write of one small document (a channel's rule set, the rate table) as a compare-and-set
 * on its `rev`: the write applies only if nobody wrote the document since it was read, else it is read
 * and decided again. One read and one write, no lock documents. `decide` may throw (nothing written)
 * and may run more than once (no side effects).
 */
export async function compareAndSet<D extends { _id: string }, R>(
  model: Model<Revised<D>>,
  id: string,
  decide: (current: D | null) => Decision<D, R>,
): Promise<R> {
  for (let attempt = 1; ; attempt++) {
    const current = await model.findById(id).lean<Revised<D> | null>();
    const { set, result } = decide(current);
    try {
      // The filter and update name only `_id` and `rev`, which every Revised<D> has; the driver's
      // Filter type cannot be resolved for a generic D, hence the casts.
      const res = await collectionOf(model).updateOne(
        { _id: id, rev: current?.rev ?? { $exists: false } } as never,
        { $set: { ...set, rev: (current?.rev ?? 0) + 1 } } as never,
        { upsert: !current },
      );
      if (res.matchedCount + res.upsertedCount > 0) return result;
    } catch (err) {
      if (!isDuplicateKeyError(err)) throw err; // created by another writer meanwhile: decide again
    }
    if (attempt >= 20) throw new ConflictError('concurrent_update', `${id} kept changing`, 'retry');
  }
}
