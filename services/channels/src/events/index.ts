/**
 * The topics channels produces and consumes. Every consumed topic has its handler in `in/<topic>.ts`;
 * every produced one is written through the outbox (mappers in `out/`), except partner.order-status.
 */
import type { EventManifest } from '@omnimall/service-kit';

export const manifest = {
  produces: [
    'channels.channel-changed',
    'channels.notification',
    'channels.partner-delivery',
    'channels.partner-order-status',
    'channels.channel-credentials',
    // partner.order-status is registered here too: channels owns that partner contract and
    // re-encodes invalid records for its dead-letter topic.
    'partner.order-status',
  ],
  consumes: [
    'cart.cart-changed',
    'catalog.local-item',
    'identity.customer-status',
    'identity.password-reset',
    'channels.channel-changed',
    'sync.notice',
    'inventory.stock-level',
    'promotions.promotion-lifecycle',
    'cart.promotion-notice',
    'orders.order-status',
    'partner.order-status',
    'identity.data-request',
    // table topics (keys, revocations, credentials): read whole into memory by the kit's trust reader
    'identity.signing-keys',
    'identity.session-revoked',
    'identity.staff-changed',
    'channels.channel-credentials',
  ],
} as const satisfies EventManifest;
