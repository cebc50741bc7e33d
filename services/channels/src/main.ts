/**
 * Composition root of the channels service. Consumer groups, all shared by every instance (they
 * write the database) and starting at the beginning of each topic so no activity is missed:
 * `channels.cart-activity`, `.seller-listings`, `.customer-status`, `.notifications`,
 * `.sync-notices`, `.promotion-notices`, `.password-resets`, `.data-requests`, `.stock-levels`, `.promotions`,
 * `.order-status` and `.partner-ingestion`. Two workers: the webhook delivery and the retention
 * pruning. At start, keys never published on channels.channel-credentials are published.
 */
import { defineService, periodicWorker, type Resolver } from '@omnimall/service-kit';
import { ChannelService } from './application/channel-service';
import { ConfigStore } from './application/config-store';
import { CredentialService } from './application/credential-service';
import { CustomerErasure } from './application/customer-erasure';
import { pruneExpired } from './application/retention';
import { EndpointService } from './application/endpoint-service';
import { NotificationService } from './application/notification-service';
import { PartnerIngestion } from './application/partner-ingestion';
import { WebhookDelivery, type DeliveryOptions } from './application/webhook-delivery';
import { RecentActivity } from './domain/activity';
import { manifest } from './events';
import { cartChangedHandler } from './events/in/cart.cart-changed';
import { promotionNoticeHandler } from './events/in/cart.promotion-notice';
import { localItemHandler } from './events/in/catalog.local-item';
import { channelChangedHandler } from './events/in/channels.channel-changed';
import { customerStatusHandler } from './events/in/identity.customer-status';
import { dataRequestHandler } from './events/in/identity.data-request';
import { passwordResetHandler } from './events/in/identity.password-reset';
import { stockLevelHandler } from './events/in/inventory.stock-level';
import { orderStatusHandler } from './events/in/orders.order-status';
import { partnerOrderStatusHandlers } from './events/in/partner.order-status';
import { promotionLifecycleHandler } from './events/in/promotions.promotion-lifecycle';
import { syncNoticeHandler } from './events/in/sync.notice';
import { buildApi } from './http';
import { channelsSettings } from './settings';
import { createStore, type Store, type StoreModels } from './store';

export interface ChannelsDeps {
  /** The delivery worker's timings; `pollIntervalMs` overrides DELIVERY_POLL_INTERVAL_MS (settings.ts). */
  delivery?: DeliveryOptions;
  /** How webhook hosts are resolved, at registration and delivery (default: the system resolver). */
  resolve?: Resolver;
}

/** What tests and benchmarks reach through the running service. */
export interface ChannelsExposes {
  /** The repositories of the channels database. */
  store: Store;
  /** The models behind them, for tests that read a collection directly. */
  models: StoreModels;
  channels: ChannelService;
  credentials: CredentialService;
  delivery: WebhookDelivery;
}

export const channelsService = defineService<ChannelsDeps, ChannelsExposes>({
  name: 'channels',
  port: 4002,
  events: manifest,
  async build({ runtime, deps, env, auth }) {
    const { store, models } = await createStore(runtime);
    const config = new ConfigStore(store.configVersions, runtime.locks);
    await config.ensureInitial();
    const settings = channelsSettings(env);
    const channels = new ChannelService(store, config, runtime.logger);
    const credentials = new CredentialService(store.channels);
    const republished = await credentials.publishCredentials();
    if (republished) runtime.logger.info('channel API keys published on channels.channel-credentials', { keys: republished });
    const delivery = new WebhookDelivery(
      runtime,
      store,
      { pollIntervalMs: settings.deliveryPollIntervalMs, ...deps.delivery },
      { allowPrivate: settings.webhooks.allowPrivate, resolve: deps.resolve },
      settings.deliveryKey,
    );
    const notifications = new NotificationService(store, config, delivery);
    const partners = new PartnerIngestion(runtime, store);
    const partnerTopics = await partners.partnerTopics();
    const endpoints = new EndpointService(
      store,
      { added: () => delivery.forgetEndpoints(), deactivated: (id) => delivery.endpointDeactivated(id) },
      settings.webhooks,
      deps.resolve,
    );
    const recentActivity = new RecentActivity();
    const erasure = new CustomerErasure(store, delivery, runtime.locks, recentActivity, settings.deliveryKey);

    return {
      api: buildApi({
        // staff tokens: the kit's verifier, bound to the trust state (disabled staff and revoked sessions refused)
        verifier: auth.verifier,
        channels,
        credentials,
        config,
        endpoints,
        notifications,
        partners,
        onConfigPublished: (correlationId) => channels.reevaluateAll({ correlationId }),
      }),
      subscriptions: [
        {
          purpose: 'cart-activity',
          handlers: { 'cart.cart-changed': cartChangedHandler(store.channelCustomers, delivery, recentActivity) },
          // The inbox, not an in-document mark: most cart changes write nothing here (activity is
          // recorded once a minute, deliveries only for channels with endpoints), and an event that
          // left no mark would be acknowledged `applied` again when re-delivered to another instance.
          dedupe: 'inbox',
        },
        { purpose: 'seller-listings', handlers: { 'catalog.local-item': localItemHandler(store.sellerListings) }, dedupe: 'in-document' },
        {
          purpose: 'customer-status',
          handlers: { 'identity.customer-status': customerStatusHandler(store.channelCustomers, recentActivity) },
          dedupe: 'inbox',
        },
        {
          purpose: 'notifications',
          handlers: { 'channels.channel-changed': channelChangedHandler(notifications, delivery) },
          dedupe: 'inbox',
        },
        { purpose: 'sync-notices', handlers: { 'sync.notice': syncNoticeHandler(notifications) }, dedupe: 'inbox' },
        // a promotion's start to the customers cart names; ids derive from the promotion version, batch and channel
        { purpose: 'promotion-notices', handlers: { 'cart.promotion-notice': promotionNoticeHandler(notifications) }, dedupe: 'inbox' },
        // the token goes to the channel's endpoints only; ids derive from the requestId (effect-once with the inbox)
        { purpose: 'password-resets', handlers: { 'identity.password-reset': passwordResetHandler(notifications) }, dedupe: 'inbox' },
        // erasures: copies pseudonymised, partners notified (ids and pseudonyms derive from the request)
        { purpose: 'data-requests', handlers: { 'identity.data-request': dataRequestHandler(erasure) }, dedupe: 'inbox' },
        // Stock, promotions and order status for partner endpoints: the effect is the delivery
        // documents, whose ids derive from the event id, so the inbox plus those ids make it once.
        { purpose: 'stock-levels', handlers: { 'inventory.stock-level': stockLevelHandler(delivery) }, dedupe: 'inbox' },
        { purpose: 'promotions', handlers: { 'promotions.promotion-lifecycle': promotionLifecycleHandler(delivery) }, dedupe: 'inbox' },
        { purpose: 'order-status', handlers: { 'orders.order-status': orderStatusHandler(delivery) }, dedupe: 'inbox' },
        // one topic per partner: the partner a record speaks for is the topic (none set up: no subscription)
        ...(partnerTopics.length
          ? [{ purpose: 'partner-ingestion', handlers: partnerOrderStatusHandlers(partnerTopics, partners), dedupe: 'inbox' as const }]
          : []),
      ],
      workers: [
        { name: 'webhook-delivery', start: () => delivery.start(), stop: () => delivery.stop() },
        periodicWorker('retention', settings.retention.pruneIntervalMs, () => pruneExpired(store, settings.retention), runtime.logger),
      ],
      exposes: { store, models, channels, credentials, delivery },
    };
  },
});

if (require.main === module) channelsService.run();
