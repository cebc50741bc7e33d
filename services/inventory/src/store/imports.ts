import type { Model } from 'mongoose';
import type { ImportDoc, ImportError, ImportLine } from './schemas';

export type ImportJob = Omit<ImportDoc, '_id'> & { id: string };

/**
 * Bulk import jobs: the parsed file, how far it got, and its errors. A job is claimed by one instance
 * for a lease; a worker that dies leaves the lease to run out and another instance goes on from the
 * job's cursor (each line is applied with an idempotency key of its own, so a line applied just before
 * the crash is not applied twice).
 */
export interface ImportRepository {
  create(job: ImportJob): Promise<void>;
  get(id: string): Promise<ImportJob | null>;
  /** Claims a queued or running job whose lease ran out, for `leaseMs` (the first claim sets `startedAt`); null when there is none. */
  claim(now: number, leaseMs: number): Promise<ImportJob | null>;
  /** Records progress up to `cursor` (and renews the lease); the state becomes done (and `finishedAt` set) at the end. */
  progress(
    id: string,
    p: { cursor: number; done: number; failed: number; errors: ImportError[]; leaseUntil: number; finished: boolean },
  ): Promise<void>;
}

const MAX_ERRORS_KEPT = 500;

export class MongoImportRepository implements ImportRepository {
  constructor(private readonly model: Model<ImportDoc>) {}

  async create(job: ImportJob): Promise<void> {
    const { id, ...rest } = job;
    await this.model.create({ _id: id, ...rest });
  }

  async get(id: string): Promise<ImportJob | null> {
    const d = await this.model.findById(id).lean<ImportDoc>();
    if (!d) return null;
    const { _id, ...rest } = d;
    return { ...rest, id: _id };
  }

  async claim(now: number, leaseMs: number): Promise<ImportJob | null> {
    const d = await this.model
      .findOneAndUpdate(
        { state: { $in: ['queued', 'running'] }, leaseUntil: { $lte: now } },
        { $set: { state: 'running', leaseUntil: now + leaseMs, updatedAt: now } },
        { new: true },
      )
      .lean<ImportDoc>();
    if (!d) return null;
    if (!d.startedAt) {
      // the first claim starts the job's clock (a resumed job keeps it: the rate is over the whole run)
      await this.model.updateOne({ _id: d._id }, { $set: { startedAt: now } });
      d.startedAt = now;
    }
    const { _id, ...rest } = d;
    return { ...rest, id: _id };
  }

  async progress(
    id: string,
    p: { cursor: number; done: number; failed: number; errors: ImportError[]; leaseUntil: number; finished: boolean },
  ): Promise<void> {
    await this.model.updateOne(
      { _id: id },
      {
        $set: {
          cursor: p.cursor,
          done: p.done,
          failed: p.failed,
          errors: p.errors.slice(0, MAX_ERRORS_KEPT),
          leaseUntil: p.finished ? 0 : p.leaseUntil,
          state: p.finished ? 'done' : 'running',
          updatedAt: Date.now(),
          ...(p.finished ? { finishedAt: Date.now() } : {}),
        },
      },
    );
  }
}

export type { ImportLine };
