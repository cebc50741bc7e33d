/**
 * sync.applied (and sync.applied.bulk, the acks of bulk work): one propagation ack. The subscription does not acknowledge these itself (that would
 * loop). Each ack carries its own eventId, so a duplicate changes nothing, and where it was read
 * (positions), so a replay after a crash applies only what the restored state lacks.
 */
import type { SyncApplied } from '@omnimall/contracts';
import type { EventHandler } from '@omnimall/service-kit';
import type { RecordAt } from '../../domain/positions';
import { deliveryOf } from './envelope';

export interface AckSink {
  /** Records the ack; false when it is not tracked here or the state holds it already. */
  onAck(ack: SyncApplied, at: RecordAt): Promise<boolean>;
}

/** The handler of both ack lanes: sync.applied and the bulk work's sync.applied.bulk. */
export function syncAppliedIn<T extends 'sync.applied' | 'sync.applied.bulk'>(acks: AckSink): EventHandler<T> {
  return async (ack, ctx) => {
    if (!(await acks.onAck(ack, deliveryOf(ctx)))) ctx.skip();
  };
}
