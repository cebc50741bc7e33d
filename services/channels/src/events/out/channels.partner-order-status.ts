/** A valid partner order status, in global ids, as channels.partner-order-status. */
import type { TopicValues } from '@omnimall/contracts';
import { newEvent, type OutgoingEvent } from '@omnimall/service-kit';
import type { PartnerOrder } from '../../domain/partner';

export function partnerOrderStatusMapped(
  order: Omit<PartnerOrder, 'sourceEventIds'>,
  rec: TopicValues['partner.order-status'],
): OutgoingEvent<'channels.partner-order-status'> {
  return newEvent(
    'channels.partner-order-status',
    {
      type: `partner_order.${order.status}`,
      producer: 'channels',
      aggregateId: order._id,
      aggregateVersion: order.version,
      correlationId: rec.envelope.correlationId,
      sourceChannel: order.channel,
    },
    {
      orderId: order._id,
      customerId: order.customerId,
      channel: order.channel,
      partnerOrderId: order.partnerOrderId,
      status: order.status,
      currency: order.currency,
      totalMinor: order.totalMinor,
      statusAt: order.statusAt.getTime(),
      sourceEventId: rec.envelope.eventId,
    },
  );
}
