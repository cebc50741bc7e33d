import type { EventManifest } from '@omnimall/service-kit';

/**
 * What catalog-sync publishes and consumes (schemas/topics.yaml agrees). Every produced event is full
 * state; the channel projection consumes channels.channel-changed in the group `catalog-sync.channels`,
 * the stock levels inventory.stock-level in `catalog-sync.stock-levels`.
 */
export const manifest = {
  produces: [
    'catalog.local-item',
    'catalog.staged-diff',
    'catalog.conflict',
    'catalog.transformation-evidence',
    'catalog.restriction-refused',
  ],
  consumes: [
    'channels.channel-changed',
    'inventory.stock-level',
    'identity.data-request',
    // table topics (keys, revocations, credentials): read whole into memory by the kit's trust reader
    'identity.signing-keys',
    'identity.session-revoked',
    'identity.staff-changed',
    'channels.channel-credentials',
  ],
} as const satisfies EventManifest;
