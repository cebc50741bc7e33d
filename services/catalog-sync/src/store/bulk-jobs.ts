import type { Model } from 'mongoose';
import type { BulkJob } from '../domain/records';
import { collectionOf } from './models';

/** What a runner writes after each slice of a job: how far it got and what it found. */
export type JobProgress = Pick<BulkJob, 'done' | 'listed' | 'lockedPath' | 'refused' | 'refusedCount' | 'failed' | 'failedCount'>;

/**
 * Bulk sync jobs (`_id` = jobId). A job is run by whoever holds its lease: taking it is one
 * conditional write (free or expired lease), and every progress write is conditional on still
 * holding it, so two instances never run one job at once and a runner that lost its lease stops.
 * Listing the open jobs scans the collection: it holds only the jobs of the last JOB_KEEP_MS
 * (finished ones are pruned), so it stays small.
 */
export interface BulkJobRepository {
  create(job: BulkJob): Promise<void>;
  byId(id: string): Promise<BulkJob | null>;
  /** Ids of the jobs not finished whose lease is free or expired at `now`, oldest first. */
  runnable(now: Date): Promise<string[]>;
  /**
   * Takes the job's lease (free or expired) for `owner` until `until`, counting an attempt (the first
   * sets `startedAt`); answers the job, or null when someone holds it or it finished.
   */
  acquire(id: string, owner: string, until: Date, now: Date): Promise<BulkJob | null>;
  /** Records progress and extends the lease, only while `owner` holds it; answers whether it did. */
  progress(id: string, owner: string, p: JobProgress, until: Date, now: Date): Promise<boolean>;
  /** Ends the job (succeeded or failed) or lets its lease go (state left running), only while `owner` holds it. */
  finish(id: string, owner: string, set: Partial<BulkJob>, now: Date): Promise<boolean>;
  /** Deletes jobs that finished before `before`; answers how many. */
  prune(before: Date): Promise<number>;
}

const OPEN: BulkJob['state'][] = ['queued', 'running'];

export class MongoBulkJobRepository implements BulkJobRepository {
  constructor(private readonly model: Model<BulkJob>) {}

  async create(job: BulkJob): Promise<void> {
    await collectionOf(this.model).insertOne(job);
  }

  byId(id: string): Promise<BulkJob | null> {
    return collectionOf(this.model).findOne({ _id: id });
  }

  async runnable(now: Date): Promise<string[]> {
    const docs = await collectionOf(this.model)
      .find({ state: { $in: OPEN } }, { projection: { lease: 1, createdAt: 1 } })
      .toArray();
    return docs
      .filter((d) => !d.lease || new Date(d.lease.until).getTime() < now.getTime())
      .sort((a, b) => new Date(a.createdAt).getTime() - new Date(b.createdAt).getTime())
      .map((d) => d._id);
  }

  async acquire(id: string, owner: string, until: Date, now: Date): Promise<BulkJob | null> {
    const job = await collectionOf(this.model).findOneAndUpdate(
      { _id: id, state: { $in: OPEN }, $or: [{ lease: null }, { 'lease.until': { $lt: now } }] },
      { $set: { state: 'running', lease: { owner, until }, updatedAt: now }, $inc: { attempts: 1 } },
      { returnDocument: 'after' },
    );
    if (!job || job.startedAt) return job;
    // the first run starts the job's clock (a resumed run keeps it: the rate is over the whole run)
    await collectionOf(this.model).updateOne({ _id: id, 'lease.owner': owner }, { $set: { startedAt: now } });
    return { ...job, startedAt: now };
  }

  async progress(id: string, owner: string, p: JobProgress, until: Date, now: Date): Promise<boolean> {
    const res = await collectionOf(this.model).updateOne(
      { _id: id, 'lease.owner': owner },
      { $set: { ...p, 'lease.until': until, updatedAt: now } },
    );
    return res.matchedCount === 1;
  }

  async finish(id: string, owner: string, set: Partial<BulkJob>, now: Date): Promise<boolean> {
    const res = await collectionOf(this.model).updateOne(
      { _id: id, 'lease.owner': owner },
      { $set: { ...set, lease: null, updatedAt: now } },
    );
    return res.matchedCount === 1;
  }

  async prune(before: Date): Promise<number> {
    const res = await collectionOf(this.model).deleteMany({ state: { $in: ['succeeded', 'failed'] }, finishedAt: { $lt: before } });
    return res.deletedCount;
  }
}
