import type { EventHandler } from '@omnimall/service-kit';
import type { SagaRunner } from '../../application/saga';

/** inventory.reservation: an answer to the saga's reservation commands (the reservation id is the order id); other reservations are not ours. */
export function reservationIn(saga: Pick<SagaRunner, 'reservationAnswered'>): EventHandler<'inventory.reservation'> {
  return async (e, ctx) => {
    if (!e.commandId || !e.reservationId.startsWith('ord_')) return ctx.skip();
    ctx.channel = e.channel;
    await saga.reservationAnswered(e.reservationId, { commandId: e.commandId, state: e.state, reason: e.reason, hint: e.hint });
  };
}
