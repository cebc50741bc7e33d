import type { EventHandler } from '@omnimall/service-kit';
import type { Tracker } from '../application/tracker';

/** sync.applied: one propagation ack; duplicates (same ack eventId) change nothing. */
export function syncAppliedHandler(tracker: Tracker): EventHandler<'sync.applied'> {
  return async (ack, ctx) => {
    if (!(await tracker.onAck(ack))) ctx.skip();
  };
}
