import { AppError } from '@omnimall/service-kit/errors';
import type { EventHandler } from '@omnimall/service-kit';
import type { ReservationService } from '../../application/reservations';

/**
 * inventory.reservation-command → a reservation reserved, extended, committed, released or returned
 * (a committed one's units back on hand) for the orders service; the answer is the
 * inventory.reservation event naming the command. A command the inventory refuses (insufficient stock,
 * an unknown or finished reservation, a return of one not committed) is answered, not retried: the
 * reply carries the refusal's code and hint.
 */
export function reservationCommandIn(
  reservations: ReservationService,
  defaultHoldMs: number,
  maxHoldMs: number,
): EventHandler<'inventory.reservation-command'> {
  return async (c, ctx) => {
    ctx.channel = c.channel;
    const meta = {
      caller: `command:${c.envelope.producer}`,
      actorKind: 'service' as const,
      commandId: c.commandId,
      origin: { correlationId: c.envelope.correlationId, sourceChannel: c.channel },
    };
    const now = Date.now();
    const expiresAt = Math.min(c.expiresAt ?? now + defaultHoldMs, now + maxHoldMs);
    try {
      if (c.action === 'reserve')
        await reservations.reserve({
          ...meta,
          reservationId: c.reservationId,
          channel: c.channel,
          reference: c.reference,
          lines: c.lines,
          expiresAt,
        });
      else if (c.action === 'extend') await reservations.extend(c.reservationId, expiresAt, meta);
      else if (c.action === 'commit') await reservations.commit(c.reservationId, meta);
      else if (c.action === 'return') await reservations.returnToStock(c.reservationId, meta);
      else await reservations.release(c.reservationId, meta);
    } catch (err) {
      if (!(err instanceof AppError)) throw err; // the database or broker: retried
      await reservations.answerRefusal(c.reservationId, c.commandId, c.channel, c.reference, err, meta);
    }
  };
}
