/** The ack of a webhook delivery that ended (delivered, or failed after its last attempt). */
import { randomUUID } from 'node:crypto';
import { newEvent, type OutgoingEvent } from '@omnimall/service-kit';
import type { Delivery } from '../../domain/delivery';

export interface DeliveryOutcome {
  status: 'delivered' | 'failed';
  attempts: number;
  httpStatus: number | null;
  error: string | null;
  completedAt: Date;
}

export function deliveryEnded(d: Delivery, r: DeliveryOutcome): OutgoingEvent<'channels.partner-delivery'> {
  return newEvent(
    'channels.partner-delivery',
    {
      type: `delivery.${r.status}`,
      producer: 'channels',
      aggregateId: d._id,
      aggregateVersion: r.attempts,
      correlationId: randomUUID(),
      sourceChannel: d.channel,
    },
    {
      deliveryId: d._id,
      channel: d.channel,
      endpointId: d.endpointId,
      eventType: d.eventType,
      sourceEventId: d.sourceEventId,
      status: r.status,
      attempts: r.attempts,
      httpStatus: r.httpStatus,
      error: r.error,
      sourceOccurredAt: d.sourceOccurredAt.getTime(),
      completedAt: r.completedAt.getTime(),
      lagMs: r.completedAt.getTime() - d.sourceOccurredAt.getTime(),
    },
  );
}
