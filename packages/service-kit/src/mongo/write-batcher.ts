/**
 * Group commit of the consumers' effect-once upserts: many single-document upserts in one bulk write,
 * each keeping its own outcome (see WriteBatcher).
 */
import type { AnyBulkWriteOperation, FilterQuery, Model, UpdateQuery } from 'mongoose';
import type { Histogram } from 'prom-client';
import { isDuplicateKeyError } from '../errors';

/** What an upsert did: updated the document its filter matched, inserted one, or collided on `_id`. */
export type UpsertOutcome = 'updated' | 'inserted' | 'duplicate';

interface Queued {
  op: AnyBulkWriteOperation;
  resolve: (outcome: UpsertOutcome) => void;
  reject: (err: unknown) => void;
}

interface Lane {
  queue: Queued[];
  busy: boolean;
}

/** A driver write error (one statement of a bulk write). */
interface StatementError {
  index: number;
  code?: number;
  errmsg?: string;
}

/** What a bulk write answered, whether it resolved or threw (mongoose and the driver decorate both alike). */
interface BulkOutcome {
  upsertedIds?: Record<number, unknown>;
  writeErrors?: StatementError | StatementError[];
  result?: { upsertedIds?: Record<number, unknown> };
  mongoose?: { validationErrors: unknown[]; results: unknown[] };
}

/**
 * Group commit of single-document upserts, one lane per model (so per collection): whatever callers queue while a
 * bulk write is in flight goes out as the next single `bulkWrite` (unordered, at most `maxBatch`
 * statements). An idle lane waits only for the current turn of the event loop, so an upsert alone
 * costs no added latency; under load the batches grow by themselves. A statement in a batch costs the
 * driver (most of what an effect-once write costs a service) far less than a lone update does (see
 * the kit's README for the measurement).
 *
 * Each statement keeps its own outcome: the server reports, per statement index, the upserts it made
 * and the write errors it met (the local FerretDB only since deploy/local/ferretdb/patches/0010).
 * A duplicate `_id` (the filter did not match a document that exists) is an outcome, not an error;
 * any other statement error rejects that statement alone, and a failure of the whole command rejects
 * every statement in it. Statements of one batch may touch the same document: each is still atomic,
 * as if they had been sent side by side.
 */
export class WriteBatcher {
  /** One lane per model: its schema casts the statements, its collection receives them. */
  private readonly lanes = new Map<Model<any>, Lane>(); // eslint-disable-line @typescript-eslint/no-explicit-any

  constructor(
    private readonly batchSize?: Histogram<'collection'>,
    private readonly maxBatch = 100,
  ) {}

  upsertOne<T>(model: Model<T>, filter: FilterQuery<T>, update: UpdateQuery<T>): Promise<UpsertOutcome> {
    const lane = this.lanes.get(model) ?? { queue: [], busy: false };
    this.lanes.set(model, lane);
    const op = { updateOne: { filter, update, upsert: true } } as AnyBulkWriteOperation;
    return new Promise<UpsertOutcome>((resolve, reject) => {
      lane.queue.push({ op, resolve, reject });
      if (lane.busy) return;
      lane.busy = true;
      setImmediate(() => void this.drain(model, lane));
    });
  }

  private async drain<T>(model: Model<T>, lane: Lane): Promise<void> {
    try {
      while (lane.queue.length) {
        const batch = lane.queue.splice(0, this.maxBatch);
        this.batchSize?.labels(model.collection.collectionName).observe(batch.length);
        await this.write(model, batch);
      }
    } finally {
      lane.busy = false;
    }
  }

  private async write<T>(model: Model<T>, batch: Queued[]): Promise<void> {
    let answer: BulkOutcome;
    try {
      answer = (await model.bulkWrite(
        batch.map((q) => q.op),
        { ordered: false },
      )) as unknown as BulkOutcome;
    } catch (err) {
      const e = err as BulkOutcome;
      if (!e || (e.writeErrors === undefined && e.mongoose === undefined)) {
        for (const q of batch) q.reject(err);
        return;
      }
      answer = e;
    }
    // Statements mongoose could not cast were never sent; the server numbered the rest in order.
    const invalid = new Set(answer.mongoose?.validationErrors ?? []);
    const results = answer.mongoose?.results ?? [];
    const errors = new Map<number, StatementError>();
    for (const w of [answer.writeErrors ?? []].flat()) errors.set(w.index, w);
    const upserted = answer.result?.upsertedIds ?? answer.upsertedIds ?? {};
    let sent = 0;
    batch.forEach((q, i) => {
      if (invalid.has(results[i])) return q.reject(results[i]);
      const index = sent++;
      const error = errors.get(index);
      if (!error) return q.resolve(index in upserted ? 'inserted' : 'updated');
      if (isDuplicateKeyError(error)) return q.resolve('duplicate');
      q.reject(Object.assign(new Error(error.errmsg ?? 'write error'), { code: error.code }));
    });
  }
}
