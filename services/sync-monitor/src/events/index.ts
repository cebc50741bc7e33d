/**
 * The monitor's event manifest. It consumes the acks, the envelope of every tracked topic (every
 * catalogue topic with consumers but the acks, probes and its own notices: trackedTopics) and the jobs'
 * progress (platform.job-progress, into its job board), and produces escalations and notices through the outbox. Re-deliveries to `<topic>.retry` are raw
 * copies of records other services produced, not events of its own.
 */
import { catalogue, type TopicName } from '@omnimall/contracts';
import type { EventManifest } from '@omnimall/service-kit';
import { trackedTopics } from '../domain/expectations';

export const manifest = {
  produces: ['sync.escalation', 'sync.notice'],
  // plus the table topics (keys, revocations, credentials) the kit's trust reader holds in memory
  consumes: [
    'sync.applied',
    'sync.applied.bulk',
    'platform.job-progress',
    ...trackedTopics(catalogue),
    ...catalogue.filter((t) => t.table).map((t) => t.name as TopicName),
  ],
} as const satisfies EventManifest;
