import type { EventManifest } from '@omnimall/service-kit';

/**
 * The topics orders produces and consumes (held to schemas/topics.yaml by test/manifests.test.ts; the
 * start fails if a subscription handles a topic not listed here).
 */
export const manifest = {
  produces: ['orders.order-status', 'inventory.reservation-command', 'promotions.usage-command'],
  consumes: [
    'identity.customer-status',
    'channels.channel-changed',
    'catalog.local-item',
    'cart.cart-changed',
    'promotions.definition',
    'inventory.reservation',
    'promotions.usage',
    'channels.partner-order-status',
    // table topics (keys, revocations, credentials): read whole into memory by the kit's trust reader
    'identity.signing-keys',
    'identity.session-revoked',
    'identity.staff-changed',
    'channels.channel-credentials',
  ],
} as const satisfies EventManifest;
