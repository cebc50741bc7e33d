import type { EventManifest } from '@omnimall/service-kit';

/**
 * What identity publishes (all through the outbox: mappers in `out/`) and consumes (handlers in
 * `in/`, one per topic). Held to schemas/topics.yaml by the e2e manifest test.
 */
export const manifest = {
  produces: [
    'identity.customer-status',
    'identity.identity-linked',
    'identity.customer-merged',
    'identity.consent-changed',
    'identity.compliance-violation',
    'identity.data-request',
    'identity.password-reset',
    'identity.staff-changed',
    'identity.signing-keys',
    'identity.session-revoked',
  ],
  consumes: [
    'channels.channel-changed',
    'promotions.tier-changed',
    // table topics (keys, revocations, credentials): read whole into memory by the kit's trust reader
    'identity.signing-keys',
    'identity.session-revoked',
    'identity.staff-changed',
    'channels.channel-credentials',
  ],
} as const satisfies EventManifest;
