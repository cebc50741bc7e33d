/**
 * Composition root of the sync-monitor: the store, the in-memory tracking restored from its latest
 * snapshot, the tracking flows (ingest, SLA sweep, remediation, queries), the ack group and the
 * envelope groups (high and normal priority apart), the jobs' progress (a group per instance, into
 * memory), the sweep, consumer-lag and health workers, and the HTTP API with the admin dashboard. Start order and stop are defineService's.
 *
 * A per-partner family (partner.order-status) is tracked through every partner's own topic
 * (partner.<code>.order-status) present on the broker at start, as channels reads them; a partner
 * added later is tracked from the monitor's next start.
 */
import { catalogue, partnerFamilies, type EventEnvelope, type SyncApplied, type TopicName } from '@omnimall/contracts';
import { defineService, partnerTopicsOn, periodicWorker, type Subscription } from '@omnimall/service-kit';
import { ChannelStatusProjection } from './application/channel-status';
import { ConsumerLag } from './application/consumer-lag';
import { JobBoard } from './application/jobs';
import { Ingest } from './application/ingest';
import { Erasure, Retention } from './application/privacy';
import { MonitorQueries } from './application/queries';
import { NotReadyEscalations } from './application/promotion-readiness';
import { Remediation } from './application/remediation';
import { Snapshots } from './application/snapshots';
import { SlaSweep } from './application/sweep';
import { TrackedEvents } from './application/tracked-events';
import { TrackingHealth, type Watched } from './application/tracking-health';
import { catalogueExpectations, envelopeTopics, priorityOf, shortestSlaMs, trackedTopics, type Expectations } from './domain/expectations';
import { correlationScope } from './domain/scope';
import { manifest } from './events';
import { envelopeHandlers, jobProgressIn, syncAppliedIn } from './events/in';
import { buildApi, dashboardPages } from './http';
import { MonitorMetrics } from './metrics';
import { BULK_LANE_SLA_MS, monitorSettings, type MonitorSettings } from './settings';
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
  events: TrackedEvents;
  ingest: Ingest;
  sweep: SlaSweep;
  lag: ConsumerLag;
  erasure: Erasure;
  retention: Retention;
  snapshots: Snapshots;
  health: TrackingHealth;
  /** The jobs reported on platform.job-progress in the last hour. */
  jobs: JobBoard;
}

/**
 * Normal-priority groups (and the acks) wait for 64 KB or 100 ms per fetch: the lags the monitor
 * reports come from the acks' own times, so a batched fetch changes no figure, and it saves most
 * fetch requests under load. The high-priority envelopes are fetched at once, and an idle fetch
 * returns within 100 ms (not the kafkajs 5 s), so the group's caught-up time stays fresh (health).
 */
const BATCHED_FETCH = { minBytes: 65_536, maxWaitMs: 100 };
const PROMPT_FETCH = { minBytes: 1, maxWaitMs: 100 };

/** Closed events a snapshot carries (changed within the last minute, at most this many). */
const SNAPSHOT_RECENT = { recentMs: 60_000, recentMax: 20_000 };

/** The consumers a subscription's onJoined names (one, or a list when the kit splits it). */
const joinedOf = (joined: Watched | Watched[]): Watched[] => ([] as Watched[]).concat(joined);

/** How long envelopes wait at start for the acks to be replayed before they are decided anyway. */
const ACK_REPLAY_BOUND_MS = 60_000;

export const syncMonitorService = defineService<SyncMonitorDeps, SyncMonitorExposes>({
  name: 'sync-monitor',
  port: 4010,
  events: manifest,
  async build({ runtime, deps, env, auth }) {
    const { expectations: expectationsDep, topics, trackEnvelope, trackAck, ...overrides } = deps;
    const settings = monitorSettings(env, overrides);
    const expectations = expectationsDep ?? catalogueExpectations(catalogue);
    const store = await createStore(runtime);
    const metrics = new MonitorMetrics(runtime.metrics);
    const events = new TrackedEvents(store, metrics, { retentionMs: settings.memoryRetentionMs, maxEvents: settings.memoryMaxEvents });
    const byPrefix = correlationScope(settings.trackCorrelationPrefix);
    const scope = { trackEnvelope: trackEnvelope ?? byPrefix.trackEnvelope, trackAck: trackAck ?? byPrefix.trackAck };
    const ingest = new Ingest(events, expectations, scope, settings.bulkSlaMs);
    const snapshots = new Snapshots(events, ingest.positions, store.snapshots, metrics, runtime.logger, SNAPSHOT_RECENT);
    // The latest snapshot first, then the open exceptions over it (every change of theirs is written before memory shows it).
    const restored = await snapshots.restore();
    await events.init();
    runtime.logger.info('tracking restored', { snapshot: restored, events: events.state.size });

    const tracked = topics ?? trackedTopics(catalogue);
    const partnerTopics = new Map<string, string[]>();
    for (const family of partnerFamilies(catalogue)) {
      if (tracked.includes(family.name as TopicName)) partnerTopics.set(family.name, await partnerTopicsOn(runtime.kafka, family.name));
    }
    const readTopics = envelopeTopics(tracked, catalogue, (family) => partnerTopics.get(family) ?? []);
    const health = new TrackingHealth(metrics, shortestSlaMs(readTopics, expectations), () => ({
      trackedEvents: events.state.size,
      openEvents: events.state.open.size,
      snapshot: snapshots.last,
    }));
    // Envelopes are decided once the acks their lane held at start are replayed (this group's own among them).
    let acksJoined!: (c: Watched) => void;
    let bulkAcksJoined!: (c: Watched) => void;
    const startedAt = Date.now();
    ingest.holdEnvelopesUntil(
      TrackingHealth.caughtUp(new Promise<Watched>((r) => (acksJoined = r)), startedAt, ACK_REPLAY_BOUND_MS, runtime.logger),
    );
    ingest.holdEnvelopesUntil(
      TrackingHealth.caughtUp(new Promise<Watched>((r) => (bulkAcksJoined = r)), startedAt, ACK_REPLAY_BOUND_MS, runtime.logger),
      'bulk',
    );
    let acksGroup: Watched | undefined;
    let bulkAcksGroup: Watched | undefined;
    // Lateness is judged only up to where the acks have been read, bulk work by its own lane (see SlaSweep).
    const sweep = new SlaSweep(
      events,
      runtime.publisher,
      runtime.logger,
      settings,
      () => acksGroup?.caughtUpAt() ?? 0,
      () => bulkAcksGroup?.caughtUpAt() ?? 0,
    );
    const remediation = new Remediation(events, sweep);
    const channels = new ChannelStatusProjection(store);
    const notReady = new NotReadyEscalations(events);
    const lag = new ConsumerLag(runtime.kafka, () => events.knownGroups(), metrics);
    const jobs = new JobBoard();
    const erasure = new Erasure(events, snapshots);
    const retention = new Retention(events, {
      rawRetentionMs: settings.rawRetentionHours * 3_600_000,
      eventRetentionMs: settings.eventRetentionDays * 86_400_000,
    });

    // Every group commits only what a stored snapshot holds (beforeCommit), once per snapshot interval.
    // A new group starts at the end: the monitor reports on what happens from now on.
    const snapshotted = {
      dedupe: 'in-document',
      startAt: 'end',
      beforeCommit: () => snapshots.covering(),
      commitIntervalMs: settings.snapshotIntervalMs,
    } as const;
    const envelopeSubscription = (purpose: string, priority: 'high' | 'normal'): Subscription | null => {
      const mine = readTopics.filter((t) => priorityOf(t, catalogue) === priority);
      if (!mine.length) return null;
      return {
        ...snapshotted,
        purpose,
        handlers: envelopeHandlers(mine, ingest, channels, erasure, notReady),
        fetch: priority === 'normal' ? BATCHED_FETCH : PROMPT_FETCH,
        onJoined: (joined) => joinedOf(joined).forEach((c) => health.watch(c)),
      };
    };
    // Acks are not acknowledged themselves (that would loop); each carries its own eventId.
    const ackSubscription = (purpose: string, topic: 'sync.applied' | 'sync.applied.bulk', joined: (c: Watched) => void): Subscription => ({
      ...snapshotted,
      purpose,
      handlers: { [topic]: syncAppliedIn(ingest) },
      acknowledge: false,
      fetch: BATCHED_FETCH,
      onJoined: (j) => joined(joinedOf(j)[0]),
    });
    const subscriptions: Subscription[] = [
      ackSubscription('acks', 'sync.applied', (c) => {
        health.watch(c);
        acksGroup = c;
        acksJoined(c);
      }),
      // The acks of bulk work (records with `lane: bulk`): a group of their own, so that a bulk job's
      // acks never hold up those of everyday events; it may fall behind for as long as its lane's SLA.
      ackSubscription('acks-bulk', 'sync.applied.bulk', (c) => {
        health.watch(c, BULK_LANE_SLA_MS);
        bulkAcksGroup = c;
        bulkAcksJoined(c);
      }),
      // The jobs' progress: every instance keeps its own board (a group per process, from the end), acks nothing.
      {
        purpose: 'job-progress',
        scope: 'instance',
        handlers: { 'platform.job-progress': jobProgressIn(jobs) },
        dedupe: 'memory',
        acknowledge: false,
        fetch: PROMPT_FETCH,
      },
      // Priority isolation: high-priority envelopes never queue behind bulk normal-priority ones.
      ...[envelopeSubscription('track-high', 'high'), envelopeSubscription('track-normal', 'normal')].filter(
        (s): s is Subscription => s !== null,
      ),
    ];
    return {
      api: buildApi({ verifier: auth.verifier, queries: new MonitorQueries(store, events, health), remediation, lag, jobs }),
      extendHttp: dashboardPages,
      // /readyz: 200 `degraded` with the groups behind while tracking lags more than the shortest SLA
      degraded: () => {
        const r = health.report();
        return r.status === 'degraded'
          ? {
              tracking: {
                behindMs: r.behindMs,
                shortestSlaMs: r.shortestSlaMs,
                groups: r.groups.filter((g) => g.behindMs > g.boundMs),
              },
            }
          : undefined;
      },
      subscriptions,
      workers: [
        { name: 'sla-sweep', start: () => sweep.start(settings.sweepIntervalMs), stop: () => sweep.stop() },
        {
          name: 'consumer-lag',
          start: () =>
            lag.start(settings.consumerLagIntervalMs, (err) => runtime.logger.warn('consumer lag not measured', { err: String(err) })),
          stop: () => lag.stop(),
        },
        periodicWorker('tracking-health', 1000, async () => void health.report(), runtime.logger, 'tracking health not measured'),
        periodicWorker('retention', settings.pruneIntervalMs, () => retention.prune(), runtime.logger, 'retention pass failed'),
      ],
      exposes: { store, events, ingest, sweep, lag, erasure, retention, snapshots, health, jobs },
    };
  },
  onStarted: (svc) => {
    const addr = svc.server.address();
    if (addr && typeof addr === 'object') svc.runtime.logger.info(`dashboard at http://${addr.address}:${addr.port}/dashboard/`);
  },
});

if (require.main === module) syncMonitorService.run();
