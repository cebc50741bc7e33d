import { periodicWorker, type Worker } from '@omnimall/service-kit';
import type { IdentityContext } from './context';

/**
 * Retention: FerretDB has no TTL indexes, so a worker removes what identity keeps only for a while,
 * one pass at a time (the kit's periodicWorker), every PRUNE_INTERVAL_MINUTES (10):
 *   - login-attempt and rate-limit counters whose window ended, password-reset records that expired;
 *   - sessions (with their addresses) expired or closed more than SESSION_RETENTION_DAYS (30) ago;
 *   - merge snapshots (the source's profile as it was) of merges older than
 *     MERGE_SNAPSHOT_RETENTION_DAYS (90): the record itself (who, when, which ids) stays as evidence.
 */
export interface Pruned {
  counters: number;
  sessions: number;
  mergeSnapshots: number;
}

const daysBefore = (now: Date, days: number): Date => new Date(now.getTime() - days * 86_400_000);

/** One pruning pass at `now`; how many records of each kind it removed or emptied. */
export async function pruneOnce(ctx: IdentityContext, now = new Date()): Promise<Pruned> {
  const { sessionDays, mergeSnapshotDays } = ctx.settings.retention;
  const [counters, sessions, mergeSnapshots] = await Promise.all([
    ctx.store.prune(now),
    ctx.store.sessions.prune(daysBefore(now, sessionDays)),
    ctx.store.merges.pruneSnapshots(daysBefore(now, mergeSnapshotDays)),
  ]);
  return { counters, sessions, mergeSnapshots };
}

/** The worker running `pruneOnce` (a failed pass is logged and tried again at the next interval). */
export function retentionWorker(ctx: IdentityContext): Worker {
  return periodicWorker('pruning', ctx.settings.retention.pruneIntervalMs, () => pruneOnce(ctx), ctx.logger, 'pruning pass failed');
}
