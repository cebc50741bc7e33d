/**
 * sync.applied: one propagation ack. The subscription does not acknowledge these itself (that would
 * loop); each ack carries its own eventId, so a duplicate changes nothing.
 */
import type { SyncApplied } from '@omnimall/contracts';
import type { EventHandler } from '@omnimall/service-kit';

export interface AckSink {
  /** Records the ack (buffered); false when this instance does not track it. */
  onAck(ack: SyncApplied): Promise<boolean>;
}

export function syncAppliedIn(acks: AckSink): EventHandler<'sync.applied'> {
  return async (ack, ctx) => {
    if (!(await acks.onAck(ack))) ctx.skip();
  };
}
