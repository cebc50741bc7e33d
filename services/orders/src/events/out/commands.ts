import { newEvent, type OutgoingEvent } from '@omnimall/service-kit';
import type { Command, Order } from '../../domain/order';

/**
 * The saga's commands to inventory (inventory.reservation-command: the reservation id is the order id)
 * and promotions (promotions.usage-command: the hold id is the order id), each naming its command id,
 * which the answer carries back.
 */
export function commandEvent(o: Order, c: Command, holdMs: number, now: number): OutgoingEvent {
  const envelope = {
    producer: 'orders',
    aggregateId: o.id,
    aggregateVersion: o.version,
    sourceChannel: o.channel,
    correlationId: o.correlationId,
  };
  const expiresAt = c.action === 'reserve' || c.action === 'hold' ? now + holdMs : null;
  if (c.to === 'inventory')
    return newEvent(
      'inventory.reservation-command',
      { ...envelope, type: `reservation.${c.action}` },
      {
        commandId: c.commandId,
        action: c.action,
        reservationId: o.id,
        channel: o.channel,
        reference: o.id,
        lines: o.lines.map((l) => ({ sku: l.sku, quantity: l.quantity })),
        expiresAt,
      },
    );
  return newEvent(
    'promotions.usage-command',
    { ...envelope, type: `usage.${c.action}` },
    {
      commandId: c.commandId,
      action: c.action,
      holdId: o.id,
      customerId: o.customerId,
      channel: o.channel,
      reference: o.id,
      codes: o.enteredCodes,
      campaigns: o.price.campaigns,
      points: o.price.points,
      expiresAt,
    },
  );
}
