/**
 * Composition root of the channels service: config, connections, consumers, the delivery worker,
 * the HTTP server, and an orderly stop.
 */
import type { Server } from 'node:http';
import {
  createHttpApp,
  loadPlatformConfig,
  type OutboxOptions,
  type PlatformConfig,
  runService,
  ServiceRuntime,
  TokenVerifier,
} from '@omnimall/service-kit';
import { ChannelService } from './application/channel-service';
import { ConfigStore } from './application/config-store';
import { EndpointService } from './application/endpoint-service';
import { NotificationService } from './application/notification-service';
import { PartnerIngestion } from './application/partner-ingestion';
import { WebhookDelivery, type DeliveryOptions } from './delivery/webhook-delivery';
import { cartChangedHandler } from './events/cart-changed';
import { channelChangedHandler } from './events/channel-changed-handler';
import { customerStatusHandler } from './events/customer-status';
import { localItemHandler } from './events/local-item';
import { orderStatusHandler } from './events/order-status';
import { promotionLifecycleHandler } from './events/promotion-lifecycle';
import { stockLevelHandler } from './events/stock-level';
import { syncNoticeHandler } from './events/sync-notice';
import { RecentActivity } from './domain/activity';
import { buildApi } from './http/routes';
import { createStore, type Store } from './store/models';

export interface ChannelsDeps {
  verifier?: TokenVerifier;
  delivery?: DeliveryOptions;
  outbox?: OutboxOptions;
  /** Prefix of the consumer groups (`<prefix>.cart-activity`, ...); default `channels`. Tests isolate themselves with a unique one. */
  groupPrefix?: string;
  /** Where the groups start the first time they run (default: the beginning of each topic, so no activity is missed). */
  fromBeginning?: boolean;
}

export interface ChannelsService {
  runtime: ServiceRuntime;
  app: ReturnType<typeof createHttpApp>;
  server: Server;
  store: Store;
  channels: ChannelService;
  delivery: WebhookDelivery;
  stop: () => Promise<void>;
}

export async function startChannels(config: PlatformConfig, deps: ChannelsDeps = {}): Promise<ChannelsService> {
  const verifier = deps.verifier ?? (await TokenVerifier.fromEnv());
  const runtime = await ServiceRuntime.start({
    config,
    // partner.order-status is registered here too: channels owns that partner contract and
    // re-encodes invalid records for its dead-letter topic.
    produces: [
      'channels.channel-changed',
      'channels.notification',
      'channels.partner-delivery',
      'channels.partner-order-status',
      'partner.order-status',
    ],
    outbox: deps.outbox,
  });
  try {
    const store = createStore(runtime.db);
    for (const m of [store.channels, store.notifications, store.deliveries, store.partnerOrders]) runtime.outbox.track(m as never);
    await Promise.all(Object.values(store).map((m) => m.init()));
    const config_ = new ConfigStore(store, runtime.locks);
    await config_.ensureInitial();
    const channels = new ChannelService(runtime, store, config_);
    const delivery = new WebhookDelivery(runtime, store, deps.delivery);
    const notifications = new NotificationService(runtime, store, config_, delivery);
    const partners = new PartnerIngestion(runtime, store);
    const endpoints = new EndpointService(store, () => delivery.forgetEndpoints());

    const recentActivity = new RecentActivity();
    const prefix = deps.groupPrefix ?? 'channels';
    const fromBeginning = deps.fromBeginning ?? true;
    await Promise.all([
      runtime.consume({
        group: `${prefix}.cart-activity`,
        handlers: { 'cart.cart-changed': cartChangedHandler(store, delivery, recentActivity) },
        dedupe: 'in-document',
        fromBeginning,
      }),
      runtime.consume({
        group: `${prefix}.seller-listings`,
        handlers: { 'catalog.local-item': localItemHandler(store) },
        dedupe: 'in-document',
        fromBeginning,
      }),
      runtime.consume({
        group: `${prefix}.customer-status`,
        handlers: { 'identity.customer-status': customerStatusHandler(store, recentActivity) },
        dedupe: 'inbox',
        fromBeginning,
      }),
      runtime.consume({
        group: `${prefix}.notifications`,
        handlers: { 'channels.channel-changed': channelChangedHandler(notifications, delivery) },
        dedupe: 'inbox',
        fromBeginning,
      }),
      runtime.consume({
        group: `${prefix}.sync-notices`,
        handlers: { 'sync.notice': syncNoticeHandler(notifications) },
        dedupe: 'inbox',
        fromBeginning,
      }),
      // Stock, promotions and order status for partner endpoints: the effect is the delivery
      // documents, whose ids derive from the event id, so the inbox plus those ids make it once.
      runtime.consume({
        group: `${prefix}.stock-levels`,
        handlers: { 'inventory.stock-level': stockLevelHandler(delivery) },
        dedupe: 'inbox',
        fromBeginning,
      }),
      runtime.consume({
        group: `${prefix}.promotions`,
        handlers: { 'promotions.promotion-lifecycle': promotionLifecycleHandler(delivery) },
        dedupe: 'inbox',
        fromBeginning,
      }),
      runtime.consume({
        group: `${prefix}.order-status`,
        handlers: { 'orders.order-status': orderStatusHandler(delivery) },
        dedupe: 'inbox',
        fromBeginning,
      }),
      runtime.consume({
        group: `${prefix}.partner-ingestion`,
        handlers: { 'partner.order-status': (v, ctx) => partners.handle(v, ctx) },
        dedupe: 'inbox',
        fromBeginning,
      }),
    ]);
    delivery.start();

    const api = buildApi({
      verifier,
      channels,
      config: config_,
      endpoints,
      partners,
      store,
      onConfigPublished: (correlationId) => channels.reevaluateAll({ correlationId }),
    });
    const app = createHttpApp({
      service: config.service,
      logger: runtime.logger,
      metrics: runtime.metrics,
      api,
      readiness: () => runtime.readiness(),
    });
    const server = await runtime.listen(app);
    let stopping: Promise<void> | undefined;
    const stop = (): Promise<void> =>
      (stopping ??= (async () => {
        await delivery.stop();
        await runtime.stop();
      })());
    return { runtime, app, server, store, channels, delivery, stop };
  } catch (err) {
    await runtime.stop();
    throw err;
  }
}

if (require.main === module) runService('channels', () => startChannels(loadPlatformConfig('channels', 4002)));
