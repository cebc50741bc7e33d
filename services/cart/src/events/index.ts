import type { EventManifest } from '@omnimall/service-kit';

/**
 * The topics the cart produces and consumes (held to schemas/topics.yaml by e2e/test/manifests.test.ts;
 * the start fails if a subscription handles a topic not listed here).
 */
export const manifest = {
  produces: ['cart.cart-changed', 'cart.promotion-readiness', 'cart.promotion-notice'],
  consumes: [
    'identity.customer-status',
    'identity.consent-changed',
    'channels.channel-changed',
    'catalog.local-item',
    'inventory.stock-level',
    'identity.identity-linked',
    'identity.customer-merged',
    'cart.cart-changed',
    'identity.data-request',
    'promotions.definition',
    'promotions.promotion-lifecycle',
    'promotions.loyalty-entry',
    'orders.order-status',
    // table topics (keys, revocations, credentials): read whole into memory by the kit's trust reader
    'identity.signing-keys',
    'identity.session-revoked',
    'identity.staff-changed',
    'channels.channel-credentials',
  ],
} as const satisfies EventManifest;
