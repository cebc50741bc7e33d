/**
 * platform.job-progress: every service's long-running jobs, into the in-memory job board (the dashboard's
 * progress bars, `GET /jobs`). Not tracked as a propagation (see NOT_TRACKED) and not acknowledged: a
 * lost intermediate event is harmless, and the latest view of a job wins whatever the order.
 */
import { jobProgressOfEvent, type EventHandler } from '@omnimall/service-kit';

export interface JobProgressSink {
  apply(view: NonNullable<ReturnType<typeof jobProgressOfEvent>>): boolean;
}

export function jobProgressIn(board: JobProgressSink): EventHandler<'platform.job-progress'> {
  return async (v, ctx) => {
    const view = jobProgressOfEvent(v);
    if (!view || !board.apply(view)) ctx.skip();
  };
}
