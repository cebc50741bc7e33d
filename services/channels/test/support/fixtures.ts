import { newEvent } from '@omnimall/service-kit';

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
