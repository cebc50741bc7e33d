/**
 * Who a channel's notices reach, projected from other services' events: customers with cart
 * activity on a channel (`channel_customers`, `<channel>:<customerId>`, from cart.cart-changed) and
 * sellers with a listed item on it (`seller_listings`, `<channel>:<sku>`, from catalog.local-item).
 * Both are written effect-once through the consumer's context.
 */
import { Schema, type Connection, type Model } from 'mongoose';
import { appliedEventsPath } from '@omnimall/service-kit';
import type { SellerListing } from '../domain/listings';
import type { Once } from './once';

/** The stored shape (tests read it through StoreModels). */
export interface ChannelCustomerDoc {
  _id: string; // `${channel}:${customerId}`
  channel: string;
  customerId: string;
  lastActivityAt: Date;
  appliedEvents: string[];
}

export type SellerListingDoc = SellerListing & { appliedEvents: string[] };

export interface ChannelCustomerRepository {
  /** Records the customer's activity on the channel at `at` (once per event). */
  recordActivity(once: Once, channel: string, customerId: string, at: Date): Promise<void>;
  /** Looked up by _id: a query by customerId would read the whole collection on FerretDB. */
  isActive(channel: string, customerId: string): Promise<boolean>;
  /** The customers known on a channel, sorted. */
  customersOf(channel: string): Promise<string[]>;
  /** An erased customer is forgotten on every channel. */
  forgetCustomer(customerId: string): Promise<void>;
}

export interface SellerListingRepository {
  /**
   * Applies the item's state if the stored one is at an older aggregateVersion (or absent), in one
   * conditional write marked with the event: a replayed or late older event changes nothing.
   */
  apply(once: Once, listing: SellerListing): Promise<void>;
  /** The sellers with at least one listed item on the channel, sorted. */
  listedSellers(channel: string): Promise<string[]>;
}

export const activityKey = (channel: string, customerId: string): string => `${channel}:${customerId}`;

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

export function audienceModels(db: Connection) {
  return {
    channelCustomers: db.model<ChannelCustomerDoc>('ChannelCustomer', channelCustomerSchema, 'channel_customers'),
    sellerListings: db.model<SellerListingDoc>('SellerListing', sellerListingSchema, 'seller_listings'),
  };
}

export function channelCustomerRepository(model: Model<ChannelCustomerDoc>): ChannelCustomerRepository {
  return {
    async recordActivity(once, channel, customerId, at) {
      await once.applyOnce(
        model,
        { _id: activityKey(channel, customerId) },
        { $set: { channel, customerId, lastActivityAt: at } },
        { upsert: true },
      );
    },
    isActive: async (channel, customerId) => !!(await model.exists({ _id: activityKey(channel, customerId) })),
    customersOf: async (channel) =>
      (await model.find({ channel }, { customerId: 1 }).sort({ customerId: 1 }).lean<Pick<ChannelCustomerDoc, 'customerId'>[]>()).map(
        (c) => c.customerId,
      ),
    forgetCustomer: async (customerId) => {
      await model.deleteMany({ customerId });
    },
  };
}

export function sellerListingRepository(model: Model<SellerListingDoc>): SellerListingRepository {
  return {
    async apply(once, { _id, ...listing }) {
      await once.applyOnce(model, { _id, aggregateVersion: { $lt: listing.aggregateVersion } }, { $set: listing }, { upsert: true });
    },
    listedSellers: async (channel) => (await model.distinct('sellerId', { channel, status: 'listed' })).map(String).sort(),
  };
}
