import { randomUUID } from 'node:crypto';
import {
  AppError,
  ForbiddenError,
  NotFoundError,
  progressOf,
  ValidationError,
  type JobProgress,
  type JobProgressSink,
  type Logger,
  type Principal,
} from '@omnimall/service-kit';
import type { BulkJob } from '../domain/records';
import { bulkAssign } from './bulk';
import type { Catalog } from './catalog';
import { unknownChannel } from './lookups';

/**
 * Bulk sync as a job: a request names up to BULK_MAX_PAIRS channel × product pairs, is checked at
 * once (channels known, products exist and are the caller's: 404/403 before anything is queued; too
 * large: 413 with a hint), stored as a job, and answered 202 with the job's id and `Location`. The
 * worker runs jobs in slices of about SLICE_PAIRS pairs through `bulkAssign`, writing progress after
 * each slice under a lease; a job whose runner stopped or crashed (its lease expired) is taken up
 * again by any instance at the first product not yet done (a slice cut short is done again: its
 * products are assigned already, so they take the locked path, and the slice's intent lets recovery
 * finish its writes). Finished jobs are kept JOB_KEEP_MS for their progress to be read, then pruned.
 * Its progress is also the kit's JobProgress view (`GET /jobs/:id`, kind `bulk-sync`), published on
 * platform.job-progress after each slice (at most once a second) and once when the job ends.
 */
export const BULK_MAX_PAIRS = 100_000;
const SLICE_PAIRS = 5_000;
const PASS_EVERY_MS = 1000;
const LEASE_MS = 30_000;
const JOB_KEEP_MS = 24 * 3600_000;
/** Refusals and failures a job keeps in detail (the counts are complete). */
export const JOB_DETAILS_KEPT = 100;
/** Runs of one job that ended without finishing it (crashes) before it is failed. */
const MAX_ATTEMPTS = 5;

export interface BulkRequest {
  channels: string[];
  productIds: string[];
}

/** Checks a bulk request and queues it as a job. */
export async function submitBulkJob(c: Catalog, p: Principal, req: BulkRequest): Promise<BulkJob> {
  const pairs = req.channels.length * req.productIds.length;
  if (pairs > BULK_MAX_PAIRS)
    throw new AppError(
      413,
      'bulk_too_large',
      `${req.channels.length} channels × ${req.productIds.length} products is ${pairs} listings; one request takes at most ${BULK_MAX_PAIRS}`,
      `split it into requests of at most ${BULK_MAX_PAIRS} channel × product pairs (e.g. ${Math.floor(BULK_MAX_PAIRS / req.channels.length)} products per request for ${req.channels.length} channels)`,
      { pairs, max: BULK_MAX_PAIRS },
    );
  if (new Set(req.productIds).size !== req.productIds.length)
    throw new ValidationError('duplicate_product', 'a product id appears twice', 'send each product once');
  if (new Set(req.channels).size !== req.channels.length)
    throw new ValidationError('duplicate_channel', 'a channel appears twice', 'name each channel once');
  const channels = await c.channels.all();
  for (const code of req.channels) if (!channels.has(code)) throw unknownChannel(code);
  const owners = new Map((await c.products.owners(req.productIds)).map((x) => [x._id, x.sellerId]));
  const missing = req.productIds.filter((id) => !owners.has(id));
  if (missing.length)
    throw new NotFoundError(
      'product_not_found',
      `unknown products: ${missing.slice(0, 10).join(', ')}`,
      'create them with POST /products first',
    );
  const foreign = p.roles.includes('admin') ? undefined : req.productIds.find((id) => owners.get(id) !== p.sub);
  if (foreign)
    throw new ForbiddenError('not_product_owner', `product ${foreign} belongs to another seller`, 'sellers assign only their own products');
  const job = newBulkJob({ sub: p.sub, roles: p.roles }, req, new Date());
  await c.jobs.create(job);
  return job;
}

/** A job just queued: nothing done yet, no runner. */
export function newBulkJob(actor: BulkJob['actor'], req: BulkRequest, now: Date): BulkJob {
  return {
    _id: randomUUID(),
    actor,
    channels: req.channels,
    productIds: req.productIds,
    state: 'queued',
    total: req.productIds.length,
    done: 0,
    listed: 0,
    lockedPath: 0,
    refused: [],
    refusedCount: 0,
    failed: [],
    failedCount: 0,
    error: null,
    attempts: 0,
    lease: null,
    createdAt: now,
    updatedAt: now,
    finishedAt: null,
  };
}

/** The job, when the caller may read it: its submitter or an admin (404 `job_not_found`, 403 `not_job_owner`). */
async function readableJob(c: Catalog, p: Principal, id: string): Promise<BulkJob> {
  const job = await c.jobs.byId(id);
  if (!job)
    throw new NotFoundError(
      'job_not_found',
      `no bulk sync job ${id}`,
      'use the id (or Location) POST /bulk-sync answered; finished jobs are kept for a day',
    );
  if (job.actor.sub !== p.sub && !p.roles.includes('admin'))
    throw new ForbiddenError('not_job_owner', `bulk sync job ${id} belongs to another seller`, 'sellers see only their own jobs');
  return job;
}

/** A job as its submitter (or an admin) sees it: its progress, not its product list or lease. */
export async function jobView(c: Catalog, p: Principal, id: string): Promise<Record<string, unknown>> {
  const job = await readableJob(c, p, id);
  const { productIds: _products, lease: _lease, actor: _actor, attempts: _attempts, _id, ...rest } = job;
  return { id: _id, ...rest, progress: job.total ? job.done / job.total : 1 };
}

/** The service whose jobs these are (JobProgress.service). */
const SERVICE = 'catalog-sync';

/** A bulk sync job as the kit's JobProgress view at `now` (errors: refusals and failures, failures listed first). */
export function bulkJobProgress(job: BulkJob, now: number = Date.now()): JobProgress {
  return progressOf(
    {
      id: job._id,
      kind: 'bulk-sync',
      service: SERVICE,
      state: job.state === 'succeeded' ? 'done' : job.state,
      done: job.done,
      total: job.total,
      errors: job.failedCount + job.refusedCount,
      firstErrors: [
        ...job.failed.map((f) => ({ unit: `${f.productId}@${f.channel}`, code: 'listing_failed', message: f.reason })),
        ...job.refused.map((r) => ({ unit: `${r.productId}@${r.channel}`, code: 'restriction_refused', message: r.restriction })),
      ],
      startedAt: job.startedAt ?? (job.state === 'queued' ? null : job.createdAt),
      updatedAt: job.updatedAt,
      finishedAt: job.finishedAt,
      location: `/bulk-sync/jobs/${job._id}`,
    },
    now,
  );
}

/** `GET /jobs/:id`: the JobProgress view of a job the caller may read (as GET /bulk-sync/jobs/:id decides). */
export async function jobProgressView(c: Catalog, p: Principal, id: string): Promise<JobProgress> {
  return bulkJobProgress(await readableJob(c, p, id));
}

/** Runs queued jobs (and jobs whose runner's lease expired) in the background; `kick` starts a pass at once. */
export class BulkJobWorker {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private again = false;
  private stopped = false;
  private lastPrune = 0;
  private readonly owner = randomUUID();

  private readonly everyMs: number;
  private readonly slicePairs: number;

  private readonly progressSink?: JobProgressSink;

  constructor(
    private readonly c: Catalog,
    private readonly logger: Logger,
    /** `progress`: where the jobs' progress is published (the runtime's `jobs`; none: not published). */
    opts: { everyMs?: number; slicePairs?: number; progress?: JobProgressSink } = {},
  ) {
    this.everyMs = opts.everyMs ?? PASS_EVERY_MS;
    this.slicePairs = opts.slicePairs ?? SLICE_PAIRS;
    this.progressSink = opts.progress;
  }

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** A pass soon (a job was just queued). */
  kick(): void {
    if (this.stopped) return;
    if (this.running) this.again = true;
    else this.schedule(0);
  }

  /** One pass: runs every runnable job to its end (or until stopped); answers how many it ran. */
  async runOnce(): Promise<number> {
    const now = new Date();
    if (now.getTime() - this.lastPrune >= 60_000) {
      this.lastPrune = now.getTime();
      await this.c.jobs.prune(new Date(now.getTime() - JOB_KEEP_MS));
    }
    let ran = 0;
    for (const id of await this.c.jobs.runnable(now)) {
      if (this.stopped) break;
      const job = await this.c.jobs.acquire(id, this.owner, this.leaseEnd(), new Date());
      if (!job) continue; // another instance took it
      ran++;
      await this.run(job);
    }
    return ran;
  }

  private schedule(ms: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.running = this.runOnce()
        .then(
          () => undefined,
          (err: unknown) => void this.logger.warn('bulk job pass failed', { err: String(err) }),
        )
        .finally(() => {
          this.running = undefined;
          if (!this.stopped) this.schedule(this.again ? 0 : this.everyMs);
          this.again = false;
        });
    }, ms);
  }

  private leaseEnd(): Date {
    return new Date(Date.now() + LEASE_MS);
  }

  /** Publishes the end of a job as stored (through the outbox: awaited). */
  private async announceEnd(id: string): Promise<void> {
    if (!this.progressSink) return;
    const job = await this.c.jobs.byId(id);
    if (job) await this.progressSink.report(bulkJobProgress(job));
  }

  private async run(job: BulkJob): Promise<void> {
    const { c } = this;
    const fail = async (code: string, message: string): Promise<void> => {
      const ended = await c.jobs.finish(
        job._id,
        this.owner,
        { state: 'failed', error: { code, message }, finishedAt: new Date() },
        new Date(),
      );
      if (ended) await this.announceEnd(job._id);
    };
    if (job.attempts > MAX_ATTEMPTS) {
      await fail('job_failed', `the job's runner stopped ${job.attempts - 1} times before finishing it`);
      return;
    }
    const p: Principal = { sub: job.actor.sub, kind: 'staff', roles: job.actor.roles, channels: [], channel: null, issuedAt: Date.now() };
    const slice = Math.max(1, Math.floor(this.slicePairs / job.channels.length));
    const progress = { ...job };
    while (progress.done < job.total) {
      if (this.stopped) {
        // Let the lease go at once: the next start (or another instance) resumes where this one stopped.
        await c.jobs.finish(job._id, this.owner, {}, new Date());
        return;
      }
      let r;
      try {
        r = await bulkAssign(c, p, job.channels, job.productIds.slice(progress.done, progress.done + slice));
      } catch (err) {
        if (!(err instanceof AppError)) throw err; // the lease expires; the job is resumed from here
        await fail(err.code, err.message);
        return;
      }
      progress.done = Math.min(job.total, progress.done + slice);
      progress.listed += r.listed;
      progress.lockedPath += r.lockedPath;
      progress.refusedCount += r.refused.length;
      progress.failedCount += r.failed.length;
      progress.refused = [...progress.refused, ...r.refused].slice(0, JOB_DETAILS_KEPT);
      progress.failed = [...progress.failed, ...r.failed].slice(0, JOB_DETAILS_KEPT);
      const { done, listed, lockedPath, refused, refusedCount, failed, failedCount } = progress;
      const held = await c.jobs.progress(
        job._id,
        this.owner,
        { done, listed, lockedPath, refused, refusedCount, failed, failedCount },
        this.leaseEnd(),
        new Date(),
      );
      if (!held) return; // another runner took the job over (this one was too slow to extend its lease)
      if (progress.done < job.total)
        void this.progressSink?.report(bulkJobProgress({ ...progress, state: 'running', updatedAt: new Date() }));
    }
    if (await c.jobs.finish(job._id, this.owner, { state: 'succeeded', finishedAt: new Date() }, new Date()))
      await this.announceEnd(job._id);
    this.logger.info('bulk sync job finished', { job: job._id, products: job.total, listed: progress.listed });
  }
}
