import type { EventManifest } from '@omnimall/service-kit';

/**
 * The topics audit produces and consumes (held to schemas/topics.yaml by test/manifests.test.ts). The
 * audit reads EVERY topic for evidence (events/in/every-topic.ts, a raw reader outside the kit's
 * subscriptions, granted READ on every topic by the Kafka ACLs); `consumes` names the topic only it
 * is the business consumer of, and the table topics the kit's trust reader reads for tokens.
 */
export const manifest = {
  produces: ['audit.checkpoint'],
  consumes: [
    'platform.exception',
    // table topics (keys, revocations, credentials): read whole into memory by the kit's trust reader
    'identity.signing-keys',
    'identity.session-revoked',
    'identity.staff-changed',
    'channels.channel-credentials',
  ],
} as const satisfies EventManifest;
