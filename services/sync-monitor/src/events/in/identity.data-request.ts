/**
 * identity.data-request: tracked like every business topic, and acted on whether or not this
 * instance tracks the event itself. An erasure removes the customer's personal data from what the
 * monitor stores (application/privacy.ts), then records the request once (effect-once: a replay
 * erases again, which changes nothing, and is reported as a duplicate). An export needs nothing from
 * the monitor: it holds no personal data a customer would be handed, so it is acknowledged as applied.
 */
import type { DataSubjectRequest } from '@omnimall/contracts';
import type { EventHandler } from '@omnimall/service-kit';
import type { EffectOnce, ErasureRecord } from '../../store';
import { trackEnvelope, type EnvelopeSink } from './envelope';

export interface ErasureSink {
  /** Erases the customer's personal data; returns how many tracked events changed. */
  erase(customerId: string): Promise<number>;
  recordOnce(once: EffectOnce, r: ErasureRecord): Promise<boolean>;
}

export function dataRequestIn(sink: EnvelopeSink, erasure: ErasureSink): EventHandler<'identity.data-request'> {
  return async (v: DataSubjectRequest, ctx) => {
    await trackEnvelope(sink, v, ctx);
    if (v.kind !== 'erasure') return;
    const changed = await erasure.erase(v.customerId);
    const recorded = await erasure.recordOnce(ctx, {
      _id: v.requestId,
      customerId: v.customerId,
      at: Date.now(),
      trackedEventsErased: changed,
    });
    if (!recorded) ctx.skip();
  };
}
