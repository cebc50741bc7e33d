/**
 * promotions.promotion-lifecycle: tracked like every business topic, and a start with channels not
 * ready for it escalated per channel (application/promotion-readiness.ts) whether this delivery is the
 * first or a replay (the escalation of a channel is opened once).
 */
import type { EventHandler } from '@omnimall/service-kit';
import type { PromotionStartSeen } from '../../application/promotion-readiness';
import { subjectsOf } from '../../domain/privacy';
import { deliveryOf, type EnvelopeSink } from './envelope';

export interface NotReadySink {
  raise(topic: string, v: PromotionStartSeen): Promise<number>;
}

export function promotionLifecycleIn(sink: EnvelopeSink, notReady: NotReadySink): EventHandler<'promotions.promotion-lifecycle'> {
  return async (v, ctx) => {
    const outcome = await sink.onEnvelope(ctx.topic, v.envelope, ctx.record, subjectsOf(v), deliveryOf(ctx));
    if (outcome !== 'applied') ctx.skip();
    if (outcome !== 'untracked' && v.phase === 'started' && v.notReady.length) await notReady.raise(ctx.topic, v);
  };
}
