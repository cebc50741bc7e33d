/**
 * What the orders tests share: a simulator standing in for identity, channels, catalog-sync and cart
 * (it publishes their real events on the real topics), a real inventory and a real promotions service
 * answering the saga's commands, an orders service on its own database, and tokens.
 */
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { newEvent, ServiceRuntime, type GroupSettings, type PlatformConfig } from '@omnimall/service-kit';
import { bearer, channelPayload, testConfig, testGroups, waitFor } from '@omnimall/service-kit/testing';
import type { ChannelChanged } from '@omnimall/contracts';
import { inventoryService } from '../services/inventory/src/main';
import { promotionsService } from '../services/promotions/src/main';
import { ordersService } from '../services/orders/src/main';
import type { OrdersSettings } from '../services/orders/src/settings';

export type OrdersInstance = Awaited<ReturnType<typeof ordersService.start>>;
export type InventoryInstance = Awaited<ReturnType<typeof inventoryService.start>>;
export type PromotionsInstance = Awaited<ReturnType<typeof promotionsService.start>>;

export class Simulator {
  private versions = new Map<string, number>();
  private constructor(readonly rt: ServiceRuntime) {}

  static async start(): Promise<Simulator> {
    return new Simulator(
      await ServiceRuntime.start({
        config: testConfig('sim'),
        produces: [
          'channels.channel-changed',
          'catalog.local-item',
          'identity.customer-status',
          'cart.cart-changed',
          'channels.partner-order-status',
        ],
      }),
    );
  }

  private next(key: string): number {
    const v = (this.versions.get(key) ?? 0) + 1;
    this.versions.set(key, v);
    return v;
  }

  async channel(code: string, over: Partial<Omit<ChannelChanged, 'envelope'>> = {}): Promise<void> {
    await this.rt.publisher.publish([
      newEvent(
        'channels.channel-changed',
        { type: 'channel.changed', producer: 'channels', aggregateId: code, aggregateVersion: this.next(`ch:${code}`) },
        channelPayload(code, over),
      ),
    ]);
  }

  async item(channel: string, sku: string, priceMinor: number): Promise<void> {
    await this.rt.publisher.publish([
      newEvent(
        'catalog.local-item',
        {
          type: 'local-item.changed',
          producer: 'catalog-sync',
          aggregateId: `${channel}:${sku}`,
          aggregateVersion: this.next(`it:${channel}:${sku}`),
        },
        {
          channel,
          sku,
          productId: `p-${sku}`,
          status: 'listed',
          title: `Item ${sku}`,
          priceMinor,
          currency: 'EUR',
          taxInclusive: true,
          barredRegions: [],
          masterVersion: 1,
          sellerId: 's-1',
        },
      ),
    ]);
  }

  async customer(customerId: string, status: 'active' | 'banned' = 'active'): Promise<void> {
    await this.rt.publisher.publish([
      newEvent(
        'identity.customer-status',
        { type: 'customer.status', producer: 'identity', aggregateId: customerId, aggregateVersion: this.next(`cu:${customerId}`) },
        { customerId, status, reason: null, until: null, loyaltyTier: 'bronze', verified: true, dataRegion: 'EU', change: 'updated' },
      ),
    ]);
  }

  /** Publishes the customer's cart at `version` (full state). */
  async cart(customerId: string, version: number, lines: { sku: string; quantity: number; channel: string }[]): Promise<void> {
    await this.rt.publisher.publish([
      newEvent(
        'cart.cart-changed',
        { type: 'cart.changed', producer: 'cart', aggregateId: customerId, aggregateVersion: version },
        {
          cartId: customerId,
          customerId,
          version,
          change: 'line_added',
          lines: lines.map((l) => ({ ...l, addedAt: Date.now() })),
          wishlist: [],
        },
      ),
    ]);
  }

  /** A partner's status of one of our orders, as channels maps it (global ids, the partner's own order id). */
  async partnerStatus(orderId: string, customerId: string, channel: string, partnerOrderId: string, status: string): Promise<void> {
    await this.rt.publisher.publish([
      newEvent(
        'channels.partner-order-status',
        {
          type: 'partner.order-status',
          producer: 'channels',
          aggregateId: orderId,
          aggregateVersion: this.next(`po:${orderId}`),
          sourceChannel: channel,
        },
        {
          orderId,
          customerId,
          channel,
          partnerOrderId,
          status,
          currency: 'EUR',
          totalMinor: 0,
          statusAt: Date.now(),
          sourceEventId: randomUUID(),
        },
      ),
    ]);
  }

  stop(): Promise<void> {
    return this.rt.stop();
  }
}

export function startTestOrders(
  opts: { dbName?: string; groups?: GroupSettings; config?: Partial<PlatformConfig>; settings?: Partial<OrdersSettings> } = {},
): Promise<OrdersInstance> {
  return ordersService.start({
    config: testConfig('orders', { ...(opts.dbName ? { dbName: opts.dbName } : {}), ...opts.config }),
    groups: opts.groups ?? testGroups(),
    deps: {
      settings: { sweepMs: 100, stepMs: 3000, paymentTimeoutMs: 1000, paymentMs: 1500, pspHangMs: 4000, waitMs: 5000, ...opts.settings },
    },
  });
}

export const startTestInventory = (): Promise<InventoryInstance> =>
  inventoryService.start({ config: testConfig('inventory'), groups: testGroups(), deps: { settings: { sweepMs: 100 } } });

export const startTestPromotions = (): Promise<PromotionsInstance> =>
  promotionsService.start({
    config: testConfig('promotions'),
    groups: testGroups(),
    deps: { settings: { leadMs: 1000, lifecycleMs: 50, cacheMs: 200 } },
  });

export const staff = async (sub: string, roles: string[], channels: string[] = []): Promise<Record<string, string>> => ({
  authorization: await bearer({ sub, kind: 'staff', roles, channels }),
});
export const customerOn = async (sub: string, channel: string): Promise<Record<string, string>> => ({
  authorization: await bearer({ sub, kind: 'customer', channel }),
});

/** Stock on hand of `sku` at `location` (inventory's staff API). */
export async function setStock(
  inv: InventoryInstance,
  admin: Record<string, string>,
  sku: string,
  location: string,
  quantity: number,
): Promise<void> {
  const res = await request(inv.app)
    .post(`/stock/${sku}/operations`)
    .set(admin)
    .set('idempotency-key', randomUUID())
    .send({ kind: 'set', location, bucket: 'onHand', quantity, reason: 'count' });
  if (res.status >= 300) throw new Error(`stock: ${res.status} ${JSON.stringify(res.body)}`);
}

/** Waits until orders holds the customer's cart at `version`. */
export const cartKnown = (ord: OrdersInstance, customerId: string, version: number): Promise<unknown> =>
  waitFor(
    async () => ((await ord.store.projections.carts.get(customerId))?.value.version ?? -1) >= version,
    `cart ${customerId}@${version}`,
  );
