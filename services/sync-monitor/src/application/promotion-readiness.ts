/** A promotion started on channels not ready for it: one escalation per channel, through the escalation path of late events. */
import { randomUUID } from 'node:crypto';
import type { EventEnvelope } from '@omnimall/contracts';
import { notReadyId, notReadyTracking, PROMOTION_NOT_READY } from '../domain/promotion-readiness';
import { escalationEvents } from './escalations';
import type { TrackedEvents } from './tracked-events';

/** What a promotions.promotion-lifecycle event says of a start. */
export interface PromotionStartSeen {
  envelope: EventEnvelope;
  promotionId: string;
  version: number;
  notReady: string[];
}

export class NotReadyEscalations {
  constructor(private readonly events: TrackedEvents) {}

  /**
   * Opens the escalation of each channel in `notReady` (sync.escalation opened, the admin notice and
   * the channel's status feed entry, written with the exception); a channel already escalated for
   * this event is left as it is. Returns how many were opened now.
   */
  async raise(topic: string, v: PromotionStartSeen): Promise<number> {
    let opened = 0;
    for (const channel of [...new Set(v.notReady)].sort()) {
      const { next } = await this.events.change(notReadyId(v.envelope.eventId, channel), (cur) => {
        if (cur) return null;
        const t = notReadyTracking(topic, v.envelope, v, channel, randomUUID(), Date.now());
        return { next: t, events: escalationEvents(t, 'opened') };
      });
      if (!next) continue;
      opened++;
      this.events.metrics.escalations.labels(topic, PROMOTION_NOT_READY).inc();
    }
    return opened;
  }
}
