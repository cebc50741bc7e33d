import { newEvent, type OutgoingEvent } from '@omnimall/service-kit';
import type { ReservationChanged } from '@omnimall/contracts';
import type { Reservation } from '../../store';
import type { EventOrigin } from './origin';

/** A reservation's new state (held, refused, released, committed, expired, returned), answering the command that caused it if any. */
export function reservationChanged(r: Reservation, commandId: string | null, origin: EventOrigin): OutgoingEvent<'inventory.reservation'> {
  return newEvent(
    'inventory.reservation',
    {
      type: `reservation.${r.state}`,
      producer: 'inventory',
      aggregateId: r.id,
      aggregateVersion: r.version,
      sourceChannel: origin.sourceChannel ?? r.channel,
      correlationId: origin.correlationId,
    },
    {
      reservationId: r.id,
      commandId,
      channel: r.channel,
      reference: r.reference,
      state: r.state as ReservationChanged['state'],
      lines: r.lines.map((l) => ({ sku: l.sku, quantity: l.quantity, backordered: l.backordered })),
      expiresAt: r.expiresAt,
      reason: r.reason,
      hint: r.hint,
    },
  );
}
