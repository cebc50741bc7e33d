/**
 * Long work as jobs with one progress shape. A catalogue bulk sync, a stock import and an audit report
 * each keep their own job record and route; what a caller, the dashboard and the `platform.job-progress`
 * topic see of any of them is the same `JobProgress` view: done of total, rate, ETA, errors, and where
 * the kind-specific resource is. Each service answers it at `GET /jobs/:id` for its own jobs.
 *
 *  - `progressOf` (pure) turns what a job record knows (counts and times) into the view: the rate is
 *    units per second over the run so far (from the first start to now, or to the end once finished),
 *    the ETA what is left at that rate, and null when it cannot be told (nothing done yet, queued,
 *    failed, or stalled: running without progress for STALLED_AFTER_MS).
 *  - `JobProgressReporter` (the runtime's `jobs`) publishes the view on `platform.job-progress`: while a
 *    job is queued or running at most once per JOB_PROGRESS_EVERY_MS per job, straight through the
 *    publisher (a lost one is harmless: the next supersedes it); when it ends (done or failed), once,
 *    through the outbox (a small document of its own in `platform_job_progress`, published by the
 *    relay, re-published by the recovery poll after a crash), so the last word on a job is never lost.
 *    Published documents are pruned once the outbox has cleaned them. `report` never rejects.
 */
import type { JobProgress as JobProgressEvent } from '@omnimall/contracts';
import { LRUCache } from 'lru-cache';
import type { Connection } from 'mongoose';
import type { Logger } from './observability/logger';
import type { EventPublisher } from './kafka/publisher';
import { newEvent, type OutgoingEvent } from './events/envelope';
import type { Outbox } from './events/outbox';
import { StandaloneEvents } from './events/outbox/standalone';
import { z } from './http/api';

export const JOB_KINDS = ['bulk-sync', 'stock-import', 'report'] as const;
export type JobKind = (typeof JOB_KINDS)[number];
export const JOB_STATES = ['queued', 'running', 'done', 'failed'] as const;
export type JobState = (typeof JOB_STATES)[number];

/** One error of a job: what it concerns (a product id, a line number, a topic), a code and the service's own message. */
export interface JobError {
  unit: string;
  code: string;
  message: string;
}

/** How many errors the view lists (the count is complete). */
export const JOB_ERRORS_SHOWN = 10;
/** A running job without progress for this long is stalled: its ETA is unknown. */
export const STALLED_AFTER_MS = 60_000;
/** At most one progress event per job this often while it runs. */
export const JOB_PROGRESS_EVERY_MS = 1000;

/** The progress of one job, as every service answers it (`GET /jobs/:id`) and publishes it (`platform.job-progress`). */
export interface JobProgress {
  id: string;
  kind: JobKind;
  service: string;
  state: JobState;
  done: number;
  total: number;
  /** How many units failed or were refused (complete). */
  errors: number;
  /** The first errors (at most JOB_ERRORS_SHOWN). */
  firstErrors: JobError[];
  /** ISO time a runner first took the job; null while queued. */
  startedAt: string | null;
  updatedAt: string;
  finishedAt: string | null;
  /** Units per second over the run so far. */
  rate: number;
  /** Seconds left at that rate; 0 once done; null when unknown (nothing done yet, queued, failed, stalled). */
  etaSeconds: number | null;
  /** Running without progress for STALLED_AFTER_MS. */
  stalled: boolean;
  /** The kind-specific resource (its own route: `/bulk-sync/jobs/<id>`, `/imports/<id>`, `/audit/reports/<id>`). */
  location: string;
}

/** The view's schema, for the services' OpenAPI (`GET /jobs/{id}`). */
export const JobProgressSchema = z
  .object({
    id: z.string(),
    kind: z.enum(JOB_KINDS),
    service: z.string(),
    state: z.enum(JOB_STATES),
    done: z.number().int().openapi({ description: 'units processed so far (products, lines, records)' }),
    total: z.number().int().openapi({ description: 'units in the job' }),
    errors: z.number().int().openapi({ description: 'units that failed or were refused (complete count)' }),
    firstErrors: z
      .array(z.object({ unit: z.string(), code: z.string(), message: z.string() }))
      .openapi({ description: `the first errors (at most ${JOB_ERRORS_SHOWN})` }),
    startedAt: z.string().nullable(),
    updatedAt: z.string(),
    finishedAt: z.string().nullable(),
    rate: z.number().openapi({ description: 'units per second over the run so far' }),
    etaSeconds: z.number().int().nullable().openapi({ description: 'seconds left at that rate; null when unknown' }),
    stalled: z.boolean().openapi({ description: `running without progress for ${STALLED_AFTER_MS / 1000} s` }),
    location: z.string().openapi({ description: 'the kind-specific resource' }),
  })
  .openapi('JobProgress');

/** The hint of a `job_not_found` answer of `GET /jobs/:id`. */
export const JOB_NOT_FOUND_HINT = 'use the id a job was submitted with (its Location names it); a service answers only its own jobs';

type Time = number | Date | string;

/** What a job record knows, for `progressOf`. */
export interface JobFacts {
  id: string;
  kind: JobKind;
  service: string;
  state: JobState;
  done: number;
  total: number;
  errors: number;
  firstErrors?: readonly JobError[];
  startedAt: Time | null | undefined;
  updatedAt: Time;
  finishedAt?: Time | null;
  location: string;
}

const ms = (t: Time): number => (typeof t === 'number' ? t : new Date(t).getTime());
const iso = (t: Time | null | undefined): string | null => (t === null || t === undefined ? null : new Date(ms(t)).toISOString());
const count = (n: number): number => (Number.isFinite(n) && n > 0 ? Math.floor(n) : 0);
const bounded = (s: string, max: number): string => (s.length > max ? `${s.slice(0, max - 1)}…` : s);

/**
 * The view of a job at `now`: counts clamped (done never above total), rate over the run so far
 * (start to now, or to the end once finished; 0 before the start), ETA at that rate (see JobProgress).
 */
export function progressOf(f: JobFacts, now: number = Date.now()): JobProgress {
  const total = count(f.total);
  const done = Math.min(count(f.done), total);
  const finished = f.state === 'done' || f.state === 'failed';
  const started = f.startedAt === null || f.startedAt === undefined ? null : ms(f.startedAt);
  const end = finished ? ms(f.finishedAt ?? f.updatedAt) : now;
  const seconds = started === null ? 0 : Math.max(0, end - started) / 1000;
  const rate = seconds > 0 ? done / seconds : 0;
  const stalled = f.state === 'running' && now - ms(f.updatedAt) >= STALLED_AFTER_MS;
  let etaSeconds: number | null = null;
  if (f.state === 'done') etaSeconds = 0;
  else if (f.state === 'running' && done >= total) etaSeconds = 0;
  else if (f.state === 'running' && !stalled && rate > 0) etaSeconds = Math.ceil((total - done) / rate);
  return {
    id: f.id,
    kind: f.kind,
    service: f.service,
    state: f.state,
    done,
    total,
    errors: count(f.errors),
    firstErrors: (f.firstErrors ?? []).slice(0, JOB_ERRORS_SHOWN).map((e) => ({
      unit: bounded(String(e.unit), 128),
      code: bounded(String(e.code), 64),
      message: bounded(String(e.message), 300),
    })),
    startedAt: iso(started),
    updatedAt: iso(f.updatedAt)!,
    finishedAt: finished ? iso(f.finishedAt ?? f.updatedAt) : null,
    rate: Math.round(rate * 1000) / 1000,
    etaSeconds,
    stalled,
    location: f.location,
  };
}

/** The view again at `now` (a view received earlier: its rate, ETA and stall move on with time while it runs). */
export function progressAt(view: JobProgress, now: number = Date.now()): JobProgress {
  return progressOf(view, now);
}

/** Whether a job's state is final. */
export const jobEnded = (state: JobState): boolean => state === 'done' || state === 'failed';

/** The platform.job-progress event of a view. */
export function jobProgressEvent(view: JobProgress): OutgoingEvent<'platform.job-progress'> {
  return newEvent(
    'platform.job-progress',
    { type: `job.${view.state}`, producer: view.service, aggregateId: view.id, aggregateVersion: 0, correlationId: `job-${view.id}` },
    {
      id: view.id,
      kind: view.kind,
      service: view.service,
      state: view.state,
      done: view.done,
      total: view.total,
      errors: view.errors,
      firstErrors: view.firstErrors,
      startedAt: view.startedAt === null ? null : ms(view.startedAt),
      updatedAt: ms(view.updatedAt),
      finishedAt: view.finishedAt === null ? null : ms(view.finishedAt),
      rate: view.rate,
      etaSeconds: view.etaSeconds,
      stalled: view.stalled,
      location: view.location,
    },
  );
}

/** The view a platform.job-progress event carries (an unknown kind is refused: null). */
export function jobProgressOfEvent(e: JobProgressEvent): JobProgress | null {
  if (!(JOB_KINDS as readonly string[]).includes(e.kind)) return null;
  return {
    id: e.id,
    kind: e.kind as JobKind,
    service: e.service,
    state: e.state,
    done: e.done,
    total: e.total,
    errors: e.errors,
    firstErrors: e.firstErrors.map((x) => ({ unit: x.unit, code: x.code, message: x.message })),
    startedAt: iso(e.startedAt),
    updatedAt: iso(e.updatedAt)!,
    finishedAt: iso(e.finishedAt),
    rate: e.rate,
    etaSeconds: e.etaSeconds,
    stalled: e.stalled,
    location: e.location,
  };
}

/** Where a job's progress goes (the runtime's JobProgressReporter; a test may pass a collector). */
export interface JobProgressSink {
  report(view: JobProgress): Promise<boolean>;
}

/** The collection holding the outbox of final progress events (one small document per ended job). */
export const JOB_PROGRESS_COLLECTION = 'platform_job_progress';
export interface JobProgressReporterOptions {
  /** The least time between two progress events of one running job (default JOB_PROGRESS_EVERY_MS). */
  everyMs?: number;
}

/** Publishes job progress on platform.job-progress: throttled while running, durable at the end (see the header). */
export class JobProgressReporter extends StandaloneEvents implements JobProgressSink {
  private readonly everyMs: number;
  /** When each running job's last progress event went out (bounded: a forgotten job only loses its throttle). */
  private readonly lastSent = new LRUCache<string, number>({ max: 10_000 });

  constructor(
    private readonly deps: { outbox: Outbox; publisher: Pick<EventPublisher, 'publish'>; db: Connection; logger: Logger },
    opts: JobProgressReporterOptions = {},
  ) {
    super(deps, { model: 'PlatformJobProgress', collection: JOB_PROGRESS_COLLECTION });
    this.everyMs = opts.everyMs ?? JOB_PROGRESS_EVERY_MS;
  }

  /**
   * Reports a job's progress: while queued or running, published at most once per `everyMs` per job
   * (false when skipped or lost); once ended, committed through the outbox (true once committed).
   * Never rejects.
   */
  report(view: JobProgress): Promise<boolean> {
    const ended = jobEnded(view.state);
    if (!ended) {
      const last = this.lastSent.get(view.id);
      if (last !== undefined && Date.now() - last < this.everyMs) return Promise.resolve(false);
      this.lastSent.set(view.id, Date.now());
    } else this.lastSent.delete(view.id);
    return this.track(ended ? this.commit(view) : this.publish(view));
  }

  private async publish(view: JobProgress): Promise<boolean> {
    try {
      await this.deps.publisher.publish([jobProgressEvent(view)]);
      return true;
    } catch (err) {
      this.warn('a job progress event was not published (the next one supersedes it)', err, { job: view.id });
      return false;
    }
  }

  private async commit(view: JobProgress): Promise<boolean> {
    try {
      await this.commitEvent(jobProgressEvent(view));
      return true;
    } catch (err) {
      this.warn('the final progress event of a job could not be committed', err, { job: view.id, state: view.state });
      return false;
    }
  }
}
