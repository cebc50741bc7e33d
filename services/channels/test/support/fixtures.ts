import { newEvent } from '@omnimall/service-kit';
import { ORDER_STATUS_DEFAULTS, uniqueName } from '@omnimall/service-kit/testing';

/** A channel registration that passes every rule; tests change one field at a time. */
export const validChannel = {
  code: 'web-de',
  name: 'Omnimall Germany',
  kind: 'web',
  branding: {
    logoUrl: 'https://cdn.example/logo.svg',
    imageUrls: ['https://cdn.example/hero.jpg'],
    colors: { primary: '#112233', accent: '#abcdef' },
    fonts: { heading: 'Inter', body: 'Source Sans 3' },
  },
  country: 'DE',
  region: 'eu',
  languages: ['de-de', 'en'],
  currencies: ['EUR'],
  manager: { accountId: 'stf_manager_1', roles: ['channel_manager'] },
  allowedDataRegions: ['eu'],
};

export function channelBody(code: string, patch: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...validChannel, code, name: `Channel ${code}`, ...patch };
}

/** A cart.cart-changed event as the cart service publishes it: a customer's line on a channel (plus any others). */
export function cartChanged(
  customerId: string,
  channel: string,
  version: number,
  otherLines: { sku: string; quantity: number; channel: string }[] = [],
) {
  return newEvent(
    'cart.cart-changed',
    { type: 'cart.line_added', producer: 'cart', aggregateId: customerId, aggregateVersion: version, sourceChannel: channel },
    {
      cartId: customerId,
      customerId,
      version,
      change: 'line_added',
      lines: [{ sku: `sku-${version}`, quantity: version, channel }, ...otherLines].map((l) => ({ ...l, addedAt: Date.now() })),
      wishlist: [],
    },
  );
}

/** An inventory.stock-level event as the inventory service publishes it. */
export function stockLevel(
  channel: string,
  sku: string,
  version: number,
  availableQuantity: number,
  status: 'in_stock' | 'low_stock' | 'out_of_stock' = availableQuantity > 0 ? 'in_stock' : 'out_of_stock',
) {
  return newEvent(
    'inventory.stock-level',
    {
      type: 'stock.level_changed',
      producer: 'inventory',
      aggregateId: `${channel}:${sku}`,
      aggregateVersion: version,
      sourceChannel: channel,
    },
    { channel, sku, availableQuantity, status, location: 'wh-berlin', rule: 'shared_pool', sellerId: null },
  );
}

/** A promotions.promotion-lifecycle event as the promotions service publishes it. */
export function promotionLifecycle(promotionId: string, phase: 'started' | 'ended', channels: string[], version: number) {
  return newEvent(
    'promotions.promotion-lifecycle',
    { type: `promotion.${phase}`, producer: 'promotions', aggregateId: promotionId, aggregateVersion: version, sourceChannel: null },
    {
      promotionId,
      name: 'Summer sale',
      phase,
      channels,
      startsAt: Date.parse('2025-06-01T00:00:00Z'),
      endsAt: Date.parse('2025-06-30T23:59:59Z'),
      version,
      notReady: [],
      skus: [],
    },
  );
}

/** An orders.order-status event as the (planned) order management system would publish it. */
export function orderStatus(
  orderId: string,
  customerId: string,
  channel: string,
  status: 'placed' | 'paid' | 'shipped' | 'delivered' | 'cancelled' | 'returned',
  version: number,
) {
  return newEvent(
    'orders.order-status',
    { type: `order.${status}`, producer: 'orders', aggregateId: orderId, aggregateVersion: version, sourceChannel: channel },
    {
      orderId,
      customerId,
      channel,
      status,
      occurredAt: Date.now(),
      totalMinor: null,
      currency: null,
      promotionIds: [],
      usageHoldId: null,
      ...ORDER_STATUS_DEFAULTS,
      lines: [],
    },
  );
}

/** A catalog.local-item event as catalog-sync publishes it: a seller's item listed on (or withdrawn from) a channel. */
export function localItem(channel: string, sku: string, sellerId: string, version: number, status: 'listed' | 'withdrawn' = 'listed') {
  return newEvent(
    'catalog.local-item',
    {
      type: `catalog.local-item.${status}`,
      producer: 'catalog-sync',
      aggregateId: `${channel}:${sku}`,
      aggregateVersion: version,
      sourceChannel: channel,
    },
    {
      channel,
      sku,
      productId: `prd-${sku}`,
      status,
      title: `Item ${sku}`,
      priceMinor: 1999,
      currency: 'EUR',
      taxInclusive: true,
      barredRegions: [],
      masterVersion: version,
      sellerId,
    },
  );
}

/** A delivery key setting (DELIVERY_SECRET_KEY) for tests of the settings outside local mode. */
export const WITH_KEY = { DELIVERY_SECRET_KEY: Buffer.alloc(32, 7).toString('base64') };

/** identity.password-reset as identity's outbox publishes it (a fresh request and token each). */
export function passwordReset(customerId: string, channel: string | null) {
  return newEvent(
    'identity.password-reset',
    { type: 'customer.password_reset_requested', producer: 'identity', aggregateId: customerId, aggregateVersion: 1 },
    {
      requestId: uniqueName('pwr'),
      customerId,
      email: `${customerId}@example.test`,
      channel,
      token: uniqueName('secret-token'),
      expiresAt: Date.now() + 30 * 60_000,
    },
  );
}
