import { randomBytes } from 'node:crypto';
import { defineService, periodicWorker, type Subscription } from '@omnimall/service-kit';
import { CheckoutService } from './application/checkout';
import { OrderService } from './application/orders';
import { PromotionBook } from './application/promotion-book';
import { SagaRunner } from './application/saga';
import { manifest } from './events';
import { cartChangedIn } from './events/in/cart.cart-changed';
import { localItemIn } from './events/in/catalog.local-item';
import { channelChangedIn } from './events/in/channels.channel-changed';
import { partnerOrderStatusIn } from './events/in/channels.partner-order-status';
import { customerStatusIn } from './events/in/identity.customer-status';
import { reservationIn } from './events/in/inventory.reservation';
import { promotionDefinitionIn } from './events/in/promotions.definition';
import { usageIn } from './events/in/promotions.usage';
import { ordersApi } from './http';
import { guards } from './http/access';
import { HttpPaymentProvider } from './payments/http-provider';
import type { PaymentProvider } from './payments/port';
import { startTestPsp, type TestPsp } from './payments/test-psp';
import { ordersSettings, type OrdersSettings } from './settings';
import { createStore, type OrdersStore } from './store';

export interface OrdersDeps {
  /** Overrides settings read from the environment (see settings.ts). */
  settings?: Partial<OrdersSettings>;
}

/** What tests and benchmarks reach through the running orders service. */
export interface OrdersExposes {
  store: OrdersStore;
  settings: OrdersSettings;
  saga: SagaRunner;
  checkouts: CheckoutService;
  orders: OrderService;
  provider: PaymentProvider;
  /** The built-in test PSP when no ORDERS_PSP_URL is set (tests tell it what to do through method tokens). */
  psp: TestPsp | null;
  /** The secret webhooks are signed with. */
  pspSecret: string;
}

/**
 * Composition root. Consumer groups: `orders.projections` (customers, channels, promotion definitions),
 * `orders.catalogue` (channel listings: a bulk sync's flood stays there), `orders.carts` (carts) — what a
 * checkout needs, held locally — `orders.saga` (inventory's and
 * promotions' answers to the saga's commands), `orders.partners` (partner order statuses as channels
 * maps them: fulfilment). Workers: `saga-sweeper` (sagas past their deadline: resent, asked of the
 * provider or compensated), `test-psp` (the built-in payment provider, when no real one is configured).
 */
export const ordersService = defineService<OrdersDeps, OrdersExposes>({
  name: 'orders',
  port: 4008,
  events: manifest,
  async build({ runtime, deps, env, auth }) {
    const settings = { ...ordersSettings(env), ...deps.settings };
    const store = await createStore(runtime);
    const pspSecret = settings.pspSecret ?? randomBytes(24).toString('hex');
    const psp = settings.pspUrl ? null : await startTestPsp({ secret: pspSecret, hangMs: settings.pspHangMs });
    // the built-in PSP's webhooks come back to this instance (a port chosen by the OS: tests set it once it serves)
    const port = Number(env.PORT ?? 4008);
    if (psp && port > 0) psp.setWebhookUrl(`http://127.0.0.1:${port}/payments/webhooks`);
    const provider = new HttpPaymentProvider({
      name: settings.pspUrl ? 'psp' : 'test-psp',
      baseUrl: settings.pspUrl ?? psp!.url,
      secret: pspSecret,
      timeoutMs: settings.paymentTimeoutMs,
      metrics: runtime.metrics,
    });
    const sagaSettings = { ...settings, holdMs: settings.holdSeconds * 1000 };
    const book = new PromotionBook(store.projections.promotions, 1000);
    const saga = new SagaRunner(store, provider, sagaSettings, runtime.logger, book);
    const checkouts = new CheckoutService(
      store,
      saga,
      { ...sagaSettings, shipping: { standard: 0, pickup: 0, express: settings.expressMinor } },
      book,
    );
    const orders = new OrderService(store, provider, sagaSettings.holdMs, runtime.logger);
    const p = store.projections;
    const subscriptions: Subscription[] = [
      {
        purpose: 'projections',
        handlers: {
          'identity.customer-status': customerStatusIn(p.customers),
          'channels.channel-changed': channelChangedIn(p.channels),
          'promotions.definition': promotionDefinitionIn(p.promotions),
        },
        dedupe: 'in-document',
      },
      // a catalogue bulk sync floods catalog.local-item: carts (what a checkout orders) have a group of their
      // own, so a cart change is projected at once whatever the catalogue's backlog
      { purpose: 'catalogue', handlers: { 'catalog.local-item': localItemIn(p.items) }, dedupe: 'in-document' },
      { purpose: 'carts', handlers: { 'cart.cart-changed': cartChangedIn(p.carts) }, dedupe: 'in-document' },
      // an answer moves its saga once (the order's compare-and-set), whatever the redelivery
      { purpose: 'saga', handlers: { 'inventory.reservation': reservationIn(saga), 'promotions.usage': usageIn(saga) }, dedupe: 'inbox' },
      { purpose: 'partners', handlers: { 'channels.partner-order-status': partnerOrderStatusIn(orders) }, dedupe: 'inbox' },
    ];
    return {
      api: ordersApi({ guards: guards(auth.verifier), checkouts, orders, provider }, auth),
      subscriptions,
      workers: [
        periodicWorker('saga-sweeper', settings.sweepMs, () => saga.sweep(Date.now()).then(() => undefined), runtime.logger),
        {
          name: 'payments',
          start: async () => undefined,
          stop: async () => {
            provider.close();
            await psp?.close();
          },
        },
      ],
      exposes: { store, settings, saga, checkouts, orders, provider, psp, pspSecret },
    };
  },
});

if (require.main === module) ordersService.run();
