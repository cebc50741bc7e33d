import { rawBodyOf, type HttpApi } from '@omnimall/service-kit';
import type { OrderService } from '../application/orders';
import type { PaymentProvider } from '../payments/port';
import * as S from './schemas';

/** The payment provider's webhook: no token, proven by its signature over the raw body; de-duplicated by event id, forward moves only. */
export function paymentRoutes(api: HttpApi, orders: OrderService, provider: PaymentProvider): void {
  api.route({
    method: 'post',
    path: '/payments/webhooks',
    summary: 'A payment provider event (signed): applied once per event id, and only when it moves the payment forward',
    tags: ['payments'],
    headers: S.WebhookHeaders,
    body: S.WebhookBody,
    rateLimit: false,
    responses: {
      200: { description: 'applied, duplicate (already applied) or ignored (backwards, unknown payment)', schema: S.Json },
      400: { description: 'validation_failed, webhook_signature_invalid (bad, missing or stale signature)' },
    },
    handler: async ({ req }) => {
      const raw = rawBodyOf(req)?.toString('utf8') ?? '';
      const event = provider.verifyWebhook(raw, req.headers);
      return { body: { outcome: await orders.webhook(event), eventId: event.eventId } };
    },
  });
}
