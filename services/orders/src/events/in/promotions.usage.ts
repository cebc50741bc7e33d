import type { EventHandler } from '@omnimall/service-kit';
import type { SagaRunner } from '../../application/saga';

/** promotions.usage: an answer to the saga's usage commands (the hold id is the order id), with the promotion each code unlocked. */
export function usageIn(saga: Pick<SagaRunner, 'usageAnswered'>): EventHandler<'promotions.usage'> {
  return async (e, ctx) => {
    if (!e.commandId || !e.holdId.startsWith('ord_')) return ctx.skip();
    ctx.channel = e.channel;
    await saga.usageAnswered(e.holdId, { commandId: e.commandId, state: e.state, reason: e.reason, hint: e.hint }, e.codePromotions);
  };
}
