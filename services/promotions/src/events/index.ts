import type { EventManifest } from '@omnimall/service-kit';

/**
 * The topics promotions produces and consumes (held to schemas/topics.yaml by e2e/test/manifests.test.ts;
 * the start fails if a subscription handles a topic not listed here).
 */
export const manifest = {
  produces: [
    'promotions.definition',
    'promotions.promotion-lifecycle',
    'promotions.override-decision',
    'promotions.usage',
    'promotions.loyalty-entry',
    'promotions.tier-changed',
  ],
  consumes: [
    'channels.channel-changed',
    'cart.promotion-readiness',
    'promotions.override-decision',
    'promotions.usage-command',
    'orders.order-status',
    // table topics (keys, revocations, credentials): read whole into memory by the kit's trust reader
    'identity.signing-keys',
    'identity.session-revoked',
    'identity.staff-changed',
    'channels.channel-credentials',
  ],
} as const satisfies EventManifest;
