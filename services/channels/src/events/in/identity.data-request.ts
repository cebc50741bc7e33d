/**
 * identity.data-request → on an erasure, channels' copies of the customer are pseudonymised and the
 * partners that mapped the customer are sent an erasure notice (application/customer-erasure.ts).
 * An export changes nothing here (acknowledged as skipped). Effect-once with the inbox; the erasure
 * itself is idempotent, so a retry after a partial pass completes it without sending anything twice.
 */
import type { TopicValues } from '@omnimall/contracts';
import type { Handler } from '../ports';

export interface CustomerEraser {
  erase(ev: TopicValues['identity.data-request']): Promise<{
    notices: number;
    unnotified: ReadonlyArray<{ channel: string }>;
    deliveries: number;
    notifications: number;
    mappings: number;
  }>;
}

export function dataRequestHandler(erasure: CustomerEraser): Handler<'identity.data-request'> {
  return async (ev, ctx) => {
    if (ev.kind !== 'erasure') return ctx.skip();
    const { unnotified, ...counts } = await erasure.erase(ev);
    // ids only: the partner customer ids are personal data and are not logged
    ctx.logger.info('customer erased in channels', { requestId: ev.requestId, ...counts });
    for (const { channel } of unnotified)
      ctx.logger.warn('erasure notice not sent: the partner channel has no active webhook endpoint', { requestId: ev.requestId, channel });
  };
}
