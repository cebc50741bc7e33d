import type { EventManifest } from '@omnimall/service-kit';

/**
 * What catalog-sync publishes and consumes (schemas/topics.yaml agrees). Every produced event is full
 * state; the channel projection consumes channels.channel-changed in the group `catalog-sync.channels`.
 */
export const manifest = {
  produces: [
    'catalog.local-item',
    'catalog.staged-diff',
    'catalog.conflict',
    'catalog.transformation-evidence',
    'catalog.restriction-refused',
  ],
  consumes: ['channels.channel-changed'],
} as const satisfies EventManifest;
