import { HttpApi, type ServiceAuth } from '@omnimall/service-kit';
import type { CheckoutService } from '../application/checkout';
import type { OrderService } from '../application/orders';
import type { PaymentProvider } from '../payments/port';
import type { Guards } from './access';
import { checkoutRoutes } from './checkouts';
import { orderRoutes } from './orders';
import { paymentRoutes } from './payments';

export interface OrdersParts {
  guards: Guards;
  checkouts: CheckoutService;
  orders: OrderService;
  provider: PaymentProvider;
}

/** The orders HTTP API (validation and /openapi.json from the zod schemas in schemas.ts). */
export function ordersApi(parts: OrdersParts, auth: Pick<ServiceAuth, 'verifier' | 'trust'>): HttpApi {
  const api = new HttpApi({
    title: 'omnimall orders',
    version: '1.0.0',
    description:
      'Checkout from the global cart on any channel (a saga over stock reservations, promotion usage, loyalty points and the payment), orders with their order, payment and fulfilment states, and the payment provider’s webhooks.',
  });
  checkoutRoutes(api, parts.checkouts, parts.guards, auth);
  orderRoutes(api, parts.orders, parts.guards);
  paymentRoutes(api, parts.orders, parts.provider);
  return api;
}
