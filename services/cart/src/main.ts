import { defineService, type Subscription } from '@omnimall/service-kit';
import { CartService } from './application/carts';
import { MarketingConsents } from './application/consents';
import { CartErasure } from './application/erasure';
import { CartMerges } from './application/merge';
import { CartOrders } from './application/ordered';
import { PromotionNotices } from './application/promotion-notices';
import { PromotionBook, PromotionDefinitions } from './application/promotions';
import { DeviceCartRetention } from './application/retention';
import { StreamTickets } from './application/stream-tickets';
import { manifest } from './events';
import { cartChangedIn } from './events/in/cart.cart-changed';
import { localItemIn } from './events/in/catalog.local-item';
import { channelChangedIn } from './events/in/channels.channel-changed';
import { consentChangedIn } from './events/in/identity.consent-changed';
import { customerMergedIn } from './events/in/identity.customer-merged';
import { customerStandingToStreamsIn, customerStatusIn } from './events/in/identity.customer-status';
import { dataRequestIn, erasureToStreamsIn } from './events/in/identity.data-request';
import { identityLinkedIn } from './events/in/identity.identity-linked';
import { orderStatusIn } from './events/in/orders.order-status';
import { stockLevelIn } from './events/in/inventory.stock-level';
import { promotionDefinitionIn, promotionToBookIn } from './events/in/promotions.definition';
import { loyaltyEntryIn } from './events/in/promotions.loyalty-entry';
import { promotionLifecycleIn } from './events/in/promotions.promotion-lifecycle';
import { cartApi } from './http';
import { closeStreamsOnRevocation } from './push/revocations';
import { SessionHub } from './push/session-hub';
import { cartSettings, type CartSettings } from './settings';
import { createStore, type CartStore } from './store';
import { ProjectionCache } from './store/projection-cache';

export interface CartDeps {
  /** Overrides CART_GATE_CACHE_MS (see settings.ts). */
  gateCacheMs?: number;
  /** Overrides other settings read from the environment (stream limits, ticket lifetime; see settings.ts). */
  settings?: Partial<CartSettings>;
}

/** What tests and benchmarks reach through the running cart. */
export interface CartExposes {
  /** The repositories of the cart database. */
  store: CartStore;
  /** This instance's live sessions. */
  hub: SessionHub;
  /** Stream tickets (issued by any instance, redeemed by any). */
  tickets: StreamTickets;
  /** This instance's gate cache; its consumer is `consumers.gates` (absent when the cache is off). */
  projections: ProjectionCache;
  /** The device cart retention pass (tests run one with `prune(now)`). */
  retention: DeviceCartRetention;
  /** This instance's copy of the promotion definitions every view prices with. */
  promotions: PromotionBook;
}

/**
 * Composition root. Consumer groups: `cart.projections`, `cart.merge`, `cart.privacy` and
 * `cart.promotions`, shared by every instance (they write the database); `cart.push.<instanceId>`,
 * `cart.gates.<instanceId>` and `cart.promotions-live.<instanceId>`, one per instance (they feed its
 * in-memory sessions, gate cache and promotion copy, from the latest offset, no database). Workers:
 * `stream-ticket-pruning` (expired stream tickets nobody used), `device-cart-retention` (device carts
 * past CART_DEVICE_CART_RETENTION_DAYS, or erased) and `promotion-reload` (definitions changed since
 * the last read, every CART_PROMOTION_RELOAD_MS).
 */
export const cartService = defineService<CartDeps, CartExposes>({
  name: 'cart',
  port: 4005,
  events: manifest,
  async build({ runtime, deps, env, auth }) {
    const settings = { ...cartSettings(env), ...deps.settings };
    const store = createStore(runtime);
    const tickets = new StreamTickets(store.streamTickets, settings.ticketTtlMs, (p) => auth.trust.revocationOf(p));
    const projections = new ProjectionCache(store, { ttlMs: deps.gateCacheMs ?? settings.gateCacheMs });
    const book = new PromotionBook(store.promotions);
    await book.reload(); // every definition stored, before the first view
    const definitions = new PromotionDefinitions(store.promotions, { cached: projections.channels, store: store.channels }, book);
    const notices = new PromotionNotices(store.carts, store.promotions, store.consents, {
      touchedWithinDays: settings.promotionNoticeDays,
      maxCarts: settings.promotionNoticeMax,
    });
    const carts = new CartService(store.carts, projections, book);
    // Every pushed change is priced for each session's channel, like a view.
    const hub = new SessionHub(
      runtime.logger,
      { maxPerCart: settings.maxStreamsPerCart, maxTotal: settings.maxStreams },
      (cartId, channel, state) => carts.pushedView(cartId, channel, state),
    );
    const merges = new CartMerges(store.carts);
    const erasure = new CartErasure(store.carts, store.streamTickets, store.consents, store.promotions);
    const retention = new DeviceCartRetention(store.carts, settings.deviceCartRetentionDays);

    const subscriptions: Subscription[] = [
      {
        // The gate cache gets each state before the projection is written (see events/in/ports.ts).
        purpose: 'projections',
        handlers: {
          'identity.customer-status': customerStatusIn({ cache: projections.customers, store: store.customers }),
          'channels.channel-changed': channelChangedIn({ cache: projections.channels, store: store.channels }),
          'catalog.local-item': localItemIn({ cache: projections.items, store: store.items }),
          'inventory.stock-level': stockLevelIn({ cache: projections.stock, store: store.stock }),
          'promotions.loyalty-entry': loyaltyEntryIn({ cache: projections.loyalty, store: store.loyalty }),
          // marketing consents, for the promotion notices only (no gate reads them, so not cached)
          'identity.consent-changed': consentChangedIn(new MarketingConsents(store.consents, store.carts)),
        },
        dedupe: 'in-document',
      },
      {
        // Definitions stored (highest version) with the readiness answer; a start's notice once per version.
        purpose: 'promotions',
        handlers: {
          'promotions.definition': promotionDefinitionIn(definitions),
          'promotions.promotion-lifecycle': promotionLifecycleIn(notices),
        },
        dedupe: 'inbox',
      },
      {
        // Every instance's promotion copy gets each definition as it arrives (the reload worker covers the join).
        purpose: 'promotions-live',
        scope: 'instance',
        handlers: { 'promotions.definition': promotionToBookIn(book) },
        dedupe: 'memory',
        fetch: { minBytes: 1, maxWaitMs: 250 },
      },
      {
        // Merges are idempotent on their own (mergedSources marks); the inbox saves the work of a replay.
        purpose: 'merge',
        handlers: { 'identity.identity-linked': identityLinkedIn(merges), 'identity.customer-merged': customerMergedIn(merges) },
        dedupe: 'inbox',
      },
      {
        // A confirmed order empties its cart of its lines; the order's mark on the cart makes it once.
        purpose: 'orders',
        handlers: { 'orders.order-status': orderStatusIn(new CartOrders(store.carts)) },
        dedupe: 'inbox',
      },
      {
        // Erasure is replay-safe on its own (an erased cart is not written again); the inbox makes it once.
        purpose: 'privacy',
        handlers: { 'identity.data-request': dataRequestIn(erasure) },
        dedupe: 'inbox',
      },
      {
        // Push fan-out: every instance sees every change; only changes from now on matter to its sessions.
        // A ban, suspension or erasure ends the customer's sessions on every instance.
        purpose: 'push',
        scope: 'instance',
        handlers: {
          'cart.cart-changed': cartChangedIn(hub),
          'identity.customer-status': customerStandingToStreamsIn(hub),
          'identity.data-request': erasureToStreamsIn(hub),
        },
        // effect-once by the kit's recent set: the group is this process's alone, from the end
        dedupe: 'memory',
        acknowledge: true,
      },
    ];
    if (projections.enabled) {
      // Gate cache: every instance sees every projection change (the shared projections group gives it
      // only some partitions). No database; its acks tell the monitor when this instance applied the
      // change. It fetches at least every 250 ms, so while it keeps up its caughtUpAt stays within a
      // fetch cycle or two of now (see store/projection-cache.ts).
      subscriptions.push({
        purpose: 'gates',
        scope: 'instance',
        handlers: {
          'identity.customer-status': customerStatusIn({ cache: projections.customers }),
          'channels.channel-changed': channelChangedIn({ cache: projections.channels }),
          'catalog.local-item': localItemIn({ cache: projections.items }),
          'inventory.stock-level': stockLevelIn({ cache: projections.stock }),
          'promotions.loyalty-entry': loyaltyEntryIn({ cache: projections.loyalty }),
        },
        dedupe: 'memory', // the cache has no document to mark: the kit's recent set, as for push
        fetch: { minBytes: 1, maxWaitMs: 250 },
        onJoined: (consumers) => (projections.caughtUpAt = () => Math.min(...consumers.map((c) => c.caughtUpAt()))),
      });
    }

    // A logout (or any revocation of a login session) ends the streams opened in it, on every instance.
    const stopClosingOnRevocation = closeStreamsOnRevocation(auth.trust, hub);

    return {
      api: cartApi(carts, hub, tickets, auth),
      subscriptions,
      workers: [tickets.pruner(runtime.logger), retention.worker(runtime.logger), book.worker(settings.promotionReloadMs, runtime.logger)],
      // Open streams would keep the HTTP server from draining.
      beforeStop: () => {
        stopClosingOnRevocation();
        hub.closeAll();
      },
      exposes: { store, hub, tickets, projections, retention, promotions: book },
    };
  },
});

if (require.main === module) cartService.run();
