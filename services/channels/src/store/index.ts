/**
 * The `channels` database: every repository of the service, built on one connection. Aggregates that
 * emit events (channels, notifications, deliveries, partner orders) are tracked by the outbox, and
 * every read-modify-write of one goes through rt.outbox.transact (FerretDB does not serialise updates).
 */
import type { ServiceRuntime } from '@omnimall/service-kit';
import { audienceModels, channelCustomerRepository, sellerListingRepository } from './audience';
import { channelModels, channelRepository, overrideLog, transitionLog } from './channels';
import { configVersionModel, configVersionRepository } from './config-versions';
import { deliveryModels, deliveryRepository, endpointRepository } from './delivery';
import { notificationModel, notificationRepository } from './notifications';
import { partnerIdRepository, partnerModels, partnerOrderRepository } from './partners';
import type { ChannelCustomerRepository, SellerListingRepository } from './audience';
import type { ChannelRepository, OverrideLog, TransitionLog } from './channels';
import type { ConfigVersionRepository } from './config-versions';
import type { DeliveryRepository, EndpointRepository } from './delivery';
import type { NotificationRepository } from './notifications';
import type { PartnerIdRepository, PartnerOrderRepository } from './partners';

export type { ChannelCustomerRepository, SellerListingRepository } from './audience';
export type { ChannelRepository, ChannelWrite, OverrideLog, TransitionLog } from './channels';
export type { ConfigVersionRepository } from './config-versions';
export type { DeliveryListing, DeliveryRepository, EndpointRepository, PendingDelivery } from './delivery';
export type { NotificationRepository } from './notifications';
export type { PartnerIdRepository, PartnerOrderRepository, PartnerOrderWrite } from './partners';
export type { Once } from './once';

export interface Store {
  channels: ChannelRepository;
  transitions: TransitionLog;
  overrideLog: OverrideLog;
  configVersions: ConfigVersionRepository;
  channelCustomers: ChannelCustomerRepository;
  sellerListings: SellerListingRepository;
  notifications: NotificationRepository;
  endpoints: EndpointRepository;
  deliveries: DeliveryRepository;
  partnerIds: PartnerIdRepository;
  partnerOrders: PartnerOrderRepository;
}

function models(rt: ServiceRuntime) {
  return {
    ...channelModels(rt.db),
    configVersions: configVersionModel(rt.db),
    ...audienceModels(rt.db),
    notifications: notificationModel(rt.db),
    ...deliveryModels(rt.db),
    ...partnerModels(rt.db),
  };
}

/** The mongoose models behind the repositories (tests read the collections through them). */
export type StoreModels = ReturnType<typeof models>;

/** Builds the repositories, registers the outbox's collections and creates the indexes. */
export async function createStore(rt: ServiceRuntime): Promise<{ store: Store; models: StoreModels }> {
  const m = models(rt);
  rt.outbox.track(m.channels);
  rt.outbox.track(m.notifications);
  rt.outbox.track(m.deliveries);
  rt.outbox.track(m.partnerOrders);
  await Promise.all(Object.values(m).map((model) => model.init()));
  const store: Store = {
    channels: channelRepository(rt, m.channels),
    transitions: transitionLog(m.transitions),
    overrideLog: overrideLog(m.overrideLog),
    configVersions: configVersionRepository(m.configVersions),
    channelCustomers: channelCustomerRepository(m.channelCustomers),
    sellerListings: sellerListingRepository(m.sellerListings),
    notifications: notificationRepository(rt, m.notifications),
    endpoints: endpointRepository(m.endpoints),
    deliveries: deliveryRepository(rt, m.deliveries),
    partnerIds: partnerIdRepository(rt, m.partnerIds),
    partnerOrders: partnerOrderRepository(rt, m.partnerOrders),
  };
  return { store, models: m };
}
