/**
 * The jobs the platform is running (a catalogue bulk sync, a stock import, an audit report), as their
 * services report them on platform.job-progress: kept in memory, per monitor instance (each instance
 * reads the topic with a group of its own), for the dashboard's progress bars and `GET /jobs`.
 *
 * Guarantees: a job's latest view wins (by `updatedAt`; at the same time an ended state over a running
 * one), so a late or replayed intermediate event never moves a bar back nor reopens an ended job; jobs
 * seen in the last KEEP_MS are kept (and a view that old is not taken), at most MAX_JOBS (the least
 * recently seen go first); a listed view is recomputed at read time (rate, ETA and stall move on with
 * time while a job runs, see the kit's progressAt). Running jobs are listed first.
 */
import { jobEnded, progressAt, type JobProgress } from '@omnimall/service-kit';

/** How long a job is kept after it was last seen. */
export const KEEP_MS = 3_600_000;
/** The most jobs kept. */
export const MAX_JOBS = 5_000;

const ORDER: Record<JobProgress['state'], number> = { running: 0, queued: 1, failed: 2, done: 3 };

interface Seen {
  view: JobProgress;
  seenAt: number;
}

export class JobBoard {
  private readonly jobs = new Map<string, Seen>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Takes a job's view unless an equal or later one is held; answers whether it did. */
  apply(view: JobProgress): boolean {
    const now = this.now();
    const at = Date.parse(view.updatedAt);
    if (!Number.isFinite(at) || now - at > KEEP_MS) return false;
    const key = `${view.service}/${view.id}`;
    const held = this.jobs.get(key)?.view;
    if (held) {
      const heldAt = Date.parse(held.updatedAt);
      if (heldAt > at || (heldAt === at && (jobEnded(held.state) || !jobEnded(view.state)))) return false;
      if (jobEnded(held.state) && !jobEnded(view.state)) return false;
    }
    this.jobs.delete(key); // re-inserted last: the map's order is the order last seen
    this.jobs.set(key, { view, seenAt: now });
    this.prune(now);
    return true;
  }

  /** The jobs seen in the last KEEP_MS, as of now: running first, then queued, failed and done; the most recently updated first within each. */
  list(): JobProgress[] {
    const now = this.now();
    this.prune(now);
    return [...this.jobs.values()]
      .map((s) => progressAt(s.view, now))
      .sort((a, b) => ORDER[a.state] - ORDER[b.state] || Date.parse(b.updatedAt) - Date.parse(a.updatedAt));
  }

  get size(): number {
    return this.jobs.size;
  }

  private prune(now: number): void {
    for (const [key, s] of this.jobs) {
      if (this.jobs.size <= MAX_JOBS && now - s.seenAt <= KEEP_MS) break; // oldest first: the rest are newer
      this.jobs.delete(key);
    }
  }
}
