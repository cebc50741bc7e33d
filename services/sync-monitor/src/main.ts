/**
 * Composition root of the sync-monitor: the store, the tracking flows (ingest, SLA sweep,
 * remediation, queries), the ack and envelope subscriptions, the sweep and consumer-lag workers, and
 * the HTTP API with the admin dashboard. Start order and stop are defineService's.
 *
 * A per-partner family (partner.order-status) is tracked through every partner's own topic
 * (partner.<code>.order-status) present on the broker at start, as channels reads them; a partner
 * added later is tracked from the monitor's next start.
 */
import { catalogue, partnerFamilies, type EventEnvelope, type SyncApplied, type TopicName } from '@omnimall/contracts';
import { defineService, partnerTopicsOn, periodicWorker } from '@omnimall/service-kit';
import { ChannelStatusProjection } from './application/channel-status';
import { ConsumerLag } from './application/consumer-lag';
import { Ingest } from './application/ingest';
import { Erasure, Retention } from './application/privacy';
import { MonitorQueries } from './application/queries';
import { Remediation } from './application/remediation';
import { SlaSweep } from './application/sweep';
import { TrackedEvents } from './application/tracked-events';
import { catalogueExpectations, envelopeTopics, trackedTopics, type Expectations } from './domain/expectations';
import { correlationScope } from './domain/scope';
import { manifest } from './events';
import { envelopeHandlers, syncAppliedIn } from './events/in';
import { buildApi, dashboardPages } from './http';
import { MonitorMetrics } from './metrics';
import { monitorSettings, type MonitorSettings } from './settings';
import { createStore, type Store } from './store';

export { PUBLIC_DIR } from './http';

/** What tests inject; every setting also has an environment variable (settings.ts). */
export interface SyncMonitorDeps extends Partial<Omit<MonitorSettings, 'trackCorrelationPrefix'>> {
  /** Expected consumer services and SLA per topic (default: the topic catalogue). */
  expectations?: Expectations;
  /**
   * Topics whose envelopes are tracked (default: trackedTopics of the catalogue); a test tracks fewer.
   * A per-partner family among them stands for its partners' topics found on the broker.
   */
  topics?: TopicName[];
  /** Which events and acks this instance tracks (default: SYNC_TRACK_CORRELATION_PREFIX, else all). */
  trackEnvelope?: (env: EventEnvelope, topic: string) => boolean;
  trackAck?: (ack: SyncApplied) => boolean;
}

/** What tests and benchmarks reach through the running monitor. */
export interface SyncMonitorExposes {
  store: Store;
  ingest: Ingest;
  sweep: SlaSweep;
  lag: ConsumerLag;
  erasure: Erasure;
  retention: Retention;
}

/**
 * The consumers' fetches wait for 64 KB or 100 ms: the lags the monitor reports come from the acks'
 * own times, so a batched fetch changes no figure, and it saves most fetch requests.
 */
const MONITOR_FETCH = { minBytes: 65_536, maxWaitMs: 100 };

/**
 * Offsets are committed, and so the ingest flushed, once a second: an event's envelope and its acks
 * then mostly land in one flush, i.e. one tracking write per event (README: Write-behind). Reported
 * lags are unchanged (acks' own times); figures appear up to a second later.
 */
const MONITOR_COMMIT_MS = 1000;

export const syncMonitorService = defineService<SyncMonitorDeps, SyncMonitorExposes>({
  name: 'sync-monitor',
  port: 4010,
  events: manifest,
  async build({ runtime, deps, env, auth }) {
    const { expectations, topics, trackEnvelope, trackAck, ...overrides } = deps;
    const settings = monitorSettings(env, overrides);
    const store = await createStore(runtime);
    const metrics = new MonitorMetrics(runtime.metrics);
    const events = new TrackedEvents(store, metrics);
    await events.init();
    const byPrefix = correlationScope(settings.trackCorrelationPrefix);
    const scope = { trackEnvelope: trackEnvelope ?? byPrefix.trackEnvelope, trackAck: trackAck ?? byPrefix.trackAck };
    const ingest = new Ingest(events, expectations ?? catalogueExpectations(catalogue), scope, runtime.logger);
    const sweep = new SlaSweep(events, ingest, runtime.publisher, runtime.logger, settings);
    const remediation = new Remediation(events, ingest, sweep);
    const channels = new ChannelStatusProjection(store);
    const lag = new ConsumerLag(runtime.kafka, () => events.knownGroups(), metrics);
    const erasure = new Erasure(events, ingest);
    const retention = new Retention(events, {
      rawRetentionMs: settings.rawRetentionHours * 3_600_000,
      eventRetentionMs: settings.eventRetentionDays * 86_400_000,
    });
    const tracked = topics ?? trackedTopics(catalogue);
    const partnerTopics = new Map<string, string[]>();
    for (const family of partnerFamilies(catalogue)) {
      if (tracked.includes(family.name as TopicName)) partnerTopics.set(family.name, await partnerTopicsOn(runtime.kafka, family.name));
    }

    // Both subscriptions feed the ingest's write-behind buffer, flushed before each commit. A new
    // group starts at the end: the monitor reports on what happens from now on.
    const feedsIngest = {
      dedupe: 'in-document',
      startAt: 'end',
      beforeCommit: () => ingest.flush(),
      commitIntervalMs: MONITOR_COMMIT_MS,
      fetch: MONITOR_FETCH,
    } as const;
    return {
      api: buildApi({ verifier: auth.verifier, queries: new MonitorQueries(store, events), remediation, lag }),
      extendHttp: dashboardPages,
      subscriptions: [
        // Acks are not acknowledged themselves (that would loop); each carries its own eventId for dedupe.
        { ...feedsIngest, purpose: 'acks', handlers: { 'sync.applied': syncAppliedIn(ingest) }, acknowledge: false },
        {
          ...feedsIngest,
          purpose: 'envelopes',
          handlers: envelopeHandlers(
            envelopeTopics(tracked, catalogue, (family) => partnerTopics.get(family) ?? []),
            ingest,
            channels,
            erasure,
          ),
        },
      ],
      workers: [
        { name: 'sla-sweep', start: () => sweep.start(settings.sweepIntervalMs), stop: () => sweep.stop() },
        {
          name: 'consumer-lag',
          start: () =>
            lag.start(settings.consumerLagIntervalMs, (err) => runtime.logger.warn('consumer lag not measured', { err: String(err) })),
          stop: () => lag.stop(),
        },
        periodicWorker('retention', settings.pruneIntervalMs, () => retention.prune(), runtime.logger, 'retention pass failed'),
      ],
      exposes: { store, ingest, sweep, lag, erasure, retention },
    };
  },
  onStarted: (svc) => {
    const addr = svc.server.address();
    if (addr && typeof addr === 'object') svc.runtime.logger.info(`dashboard at http://${addr.address}:${addr.port}/dashboard/`);
  },
});

if (require.main === module) syncMonitorService.run();
