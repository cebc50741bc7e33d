/**
 * The `channels` database. Aggregates that emit events carry the kit's outbox paths; every
 * read-modify-write of one goes through rt.outbox.transact (FerretDB does not serialise updates).
 */
import { Schema, type Connection, type Model } from 'mongoose';
import { appliedEventsPath, outboxPaths } from '@omnimall/service-kit';
import type { LocalItemStatus } from '@omnimall/contracts';
import type { ChannelState, Checklists } from '../domain/lifecycle';
import type { ChannelKind } from '../domain/registry';
import type { ConfigEntry } from '../domain/config';
import type { Audience, NotificationKind, SyncNoticeKind } from '../domain/notifications';
import type { DeliveryEventType } from '../domain/delivery';

const Mixed = Schema.Types.Mixed;

export interface ChannelDoc {
  _id: string; // the channel code
  name: string;
  kind: ChannelKind;
  branding: Record<string, unknown>;
  country: string;
  region: string;
  languages: string[];
  currencies: string[];
  manager: { accountId: string };
  masterChannel: string | null;
  allowedDataRegions: string[];
  state: ChannelState;
  previousState: ChannelState | null;
  expectedBackAt: Date | null;
  checklists: Checklists;
  blockReasons: string[];
  appliedConfigVersion: number | null;
  configReportedAt: Date | null;
  /** Stored as a list: configuration keys contain dots, which MongoDB field names should not. */
  overrides: { key: string; value: unknown }[];
  credentials: { keyId: string; hash: string; createdAt: Date; createdBy: string; revokedAt: Date | null }[];
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

const channelSchema = new Schema<ChannelDoc>(
  {
    _id: String,
    name: String,
    kind: String,
    branding: { type: Mixed },
    country: String,
    region: String,
    languages: [String],
    currencies: [String],
    manager: { type: Mixed },
    masterChannel: { type: String, default: null },
    allowedDataRegions: [String],
    state: { type: String, index: true },
    previousState: { type: String, default: null },
    expectedBackAt: { type: Date, default: null },
    checklists: { type: Mixed },
    blockReasons: { type: [String], default: [] },
    appliedConfigVersion: { type: Number, default: null },
    configReportedAt: { type: Date, default: null },
    overrides: { type: Mixed, default: [] },
    credentials: { type: Mixed, default: [] },
    version: Number,
    createdAt: Date,
    updatedAt: Date,
    ...outboxPaths,
  },
  { versionKey: false, minimize: false },
);

/**
 * One lifecycle step. Kept outside the channel document: FerretDB rewrites a document whole on every
 * update, so a growing history there slowed every transition (measured). Its _id is the eventId of
 * the step's channels.channel-changed event.
 */
export interface TransitionLogEntry {
  _id: string;
  channel: string;
  action: string;
  from: string;
  to: string;
  by: string;
  at: Date;
  expectedBackAt: Date | null;
  reason: string | null;
  version: number;
}

export interface ConfigVersionDoc {
  _id: number;
  minimumVersion: number;
  /** A list, since configuration keys contain dots. */
  entries: ({ key: string } & ConfigEntry)[];
  createdAt: Date;
  createdBy: string;
}
const configVersionSchema = new Schema<ConfigVersionDoc>(
  { _id: Number, minimumVersion: Number, entries: { type: Mixed }, createdAt: Date, createdBy: String },
  { versionKey: false, minimize: false },
);

export interface OverrideLogDoc {
  channel: string;
  key: string;
  action: 'set' | 'removed';
  value: unknown;
  previous: unknown;
  configVersion: number;
  by: string;
  reason: string | null;
  at: Date;
}
const overrideLogSchema = new Schema<OverrideLogDoc>(
  {
    channel: { type: String, index: true },
    key: String,
    action: String,
    value: Mixed,
    previous: Mixed,
    configVersion: Number,
    by: String,
    reason: String,
    at: Date,
  },
  { versionKey: false },
);

/** Customers with activity on a channel, learned from cart.cart-changed. */
export interface ChannelCustomerDoc {
  _id: string; // `${channel}:${customerId}`
  channel: string;
  customerId: string;
  lastActivityAt: Date;
  appliedEvents: string[];
}
const channelCustomerSchema = new Schema<ChannelCustomerDoc>(
  {
    _id: String,
    channel: { type: String, index: true },
    customerId: { type: String, index: true },
    lastActivityAt: Date,
    ...appliedEventsPath,
  },
  { versionKey: false },
);

/**
 * A local catalogue item as catalog.local-item last showed it, kept to know which sellers are listed
 * on which channel (for maintenance and sunset notices). A withdrawn item stays, with its status and
 * aggregateVersion, so that an older event arriving late cannot list it again.
 */
export interface SellerListingDoc {
  _id: string; // `${channel}:${sku}`, the item's aggregate id
  channel: string;
  sku: string;
  sellerId: string;
  status: LocalItemStatus;
  aggregateVersion: number;
  updatedAt: Date;
  appliedEvents: string[];
}
const sellerListingSchema = new Schema<SellerListingDoc>(
  {
    _id: String,
    channel: { type: String, index: true },
    sku: String,
    sellerId: String,
    status: String,
    aggregateVersion: Number,
    updatedAt: Date,
    ...appliedEventsPath,
  },
  { versionKey: false },
);

export interface NotificationDoc {
  _id: string;
  /** A channel code, or `*` (ALL_CHANNELS) for a sync notice to every admin. */
  channel: string;
  kind: NotificationKind | SyncNoticeKind;
  audience: Audience;
  language: string;
  subject: string;
  message: string;
  recipientIds: string[];
  expectedBackAt: Date | null;
  configVersion: number;
  causeEventId: string;
  createdAt: Date;
}
const notificationSchema = new Schema<NotificationDoc>(
  {
    _id: String,
    channel: { type: String, index: true },
    kind: String,
    audience: String,
    language: String,
    subject: String,
    message: String,
    recipientIds: [String],
    expectedBackAt: Date,
    configVersion: Number,
    causeEventId: String,
    createdAt: Date,
    ...outboxPaths,
  },
  { versionKey: false },
);

export interface EndpointDoc {
  _id: string;
  channel: string;
  url: string;
  events: DeliveryEventType[];
  secret: string;
  active: boolean;
  createdAt: Date;
  createdBy: string;
}
const endpointSchema = new Schema<EndpointDoc>(
  {
    _id: String,
    channel: { type: String, index: true },
    url: String,
    events: [String],
    secret: String,
    active: Boolean,
    createdAt: Date,
    createdBy: String,
  },
  { versionKey: false },
);

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';
export interface DeliveryDoc {
  _id: string; // `${sourceEventId}:${endpointId}` — one delivery per event and endpoint
  channel: string;
  endpointId: string;
  eventType: DeliveryEventType;
  sourceEventId: string;
  sourceOccurredAt: Date;
  body: string;
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAt: Date;
  lastError: string | null;
  httpStatus: number | null;
  createdAt: Date;
  completedAt: Date | null;
}
const deliverySchema = new Schema<DeliveryDoc>(
  {
    _id: String,
    channel: { type: String, index: true },
    endpointId: String,
    eventType: String,
    sourceEventId: String,
    sourceOccurredAt: Date,
    body: String,
    status: { type: String, index: true },
    attempts: Number,
    nextAttemptAt: Date,
    lastError: String,
    httpStatus: Number,
    createdAt: Date,
    completedAt: Date,
    ...outboxPaths,
  },
  { versionKey: false },
);

/** Partner ids mapped to global ids: `${channel}:customer:${partnerId}` and `${channel}:order:${partnerId}`. */
export interface PartnerIdDoc {
  _id: string;
  channel: string;
  kind: 'customer' | 'order';
  partnerId: string;
  globalId: string;
  createdAt: Date;
}
const partnerIdSchema = new Schema<PartnerIdDoc>(
  { _id: String, channel: String, kind: String, partnerId: String, globalId: String, createdAt: Date },
  { versionKey: false },
);

export interface PartnerOrderDoc {
  _id: string; // global order id
  channel: string;
  partnerOrderId: string;
  customerId: string;
  status: string;
  currency: string;
  totalMinor: number;
  statusAt: Date;
  version: number;
  sourceEventIds: string[];
}
const partnerOrderSchema = new Schema<PartnerOrderDoc>(
  {
    _id: String,
    channel: { type: String, index: true },
    partnerOrderId: String,
    customerId: String,
    status: String,
    currency: String,
    totalMinor: Number,
    statusAt: Date,
    version: Number,
    sourceEventIds: [String],
    ...outboxPaths,
  },
  { versionKey: false },
);

const transitionSchema = new Schema<TransitionLogEntry>(
  {
    _id: String,
    channel: { type: String, index: true },
    action: String,
    from: String,
    to: String,
    by: String,
    at: Date,
    expectedBackAt: Date,
    reason: String,
    version: Number,
  },
  { versionKey: false },
);

export function overridesOf(doc: Pick<ChannelDoc, 'overrides'>): Record<string, unknown> {
  return Object.fromEntries((doc.overrides ?? []).map((o) => [o.key, o.value]));
}

export interface Store {
  channels: Model<ChannelDoc>;
  transitions: Model<TransitionLogEntry>;
  configVersions: Model<ConfigVersionDoc>;
  overrideLog: Model<OverrideLogDoc>;
  channelCustomers: Model<ChannelCustomerDoc>;
  sellerListings: Model<SellerListingDoc>;
  notifications: Model<NotificationDoc>;
  endpoints: Model<EndpointDoc>;
  deliveries: Model<DeliveryDoc>;
  partnerIds: Model<PartnerIdDoc>;
  partnerOrders: Model<PartnerOrderDoc>;
}

export function createStore(db: Connection): Store {
  return {
    channels: db.model<ChannelDoc>('Channel', channelSchema, 'channels'),
    transitions: db.model<TransitionLogEntry>('ChannelTransition', transitionSchema, 'channel_transitions'),
    configVersions: db.model<ConfigVersionDoc>('ConfigVersion', configVersionSchema, 'config_versions'),
    overrideLog: db.model<OverrideLogDoc>('ConfigOverride', overrideLogSchema, 'config_override_log'),
    channelCustomers: db.model<ChannelCustomerDoc>('ChannelCustomer', channelCustomerSchema, 'channel_customers'),
    sellerListings: db.model<SellerListingDoc>('SellerListing', sellerListingSchema, 'seller_listings'),
    notifications: db.model<NotificationDoc>('Notification', notificationSchema, 'notifications'),
    endpoints: db.model<EndpointDoc>('WebhookEndpoint', endpointSchema, 'webhook_endpoints'),
    deliveries: db.model<DeliveryDoc>('Delivery', deliverySchema, 'deliveries'),
    partnerIds: db.model<PartnerIdDoc>('PartnerId', partnerIdSchema, 'partner_ids'),
    partnerOrders: db.model<PartnerOrderDoc>('PartnerOrder', partnerOrderSchema, 'partner_orders'),
  };
}
