/**
 * Composition root of the sync-monitor: connections, the ack and envelope consumers, the SLA sweep,
 * the consumer-lag poller, the HTTP API with the admin dashboard, and an orderly stop.
 */
import type { Server } from 'node:http';
import { join } from 'node:path';
import { catalogue, type EventEnvelope, type SyncApplied } from '@omnimall/contracts';
import {
  createHttpApp,
  loadPlatformConfig,
  type OutboxOptions,
  type PlatformConfig,
  runService,
  ServiceRuntime,
  TokenVerifier,
} from '@omnimall/service-kit';
import { ChannelStatus } from './application/channel-status';
import { ConsumerLag } from './application/consumer-lag';
import { Tracker } from './application/tracker';
import { catalogueExpectations, trackedTopics, type Expectations } from './domain/expectations';
import { envelopeHandlers } from './events/envelopes';
import { syncAppliedHandler } from './events/sync-applied';
import { buildApi } from './http/routes';
import { MonitorMetrics } from './metrics';
import { createStore, type Store } from './store/models';

export interface SyncMonitorDeps {
  verifier?: TokenVerifier;
  outbox?: OutboxOptions;
  /** Expected consumer services and SLA per topic (default: the topic catalogue). */
  expectations?: Expectations;
  /** Topics whose envelopes are tracked (default: every catalogue topic with consumers except sync.applied and platform.probe). */
  topics?: string[];
  /** Suffix of the consumer groups (`sync-monitor.acks<suffix>`); tests isolate themselves with a unique one. */
  groupSuffix?: string;
  fromBeginning?: boolean;
  sweepIntervalMs?: number;
  /** How often the sweep also queries the store for open events other instances opened (default 30 s). */
  fullScanEveryMs?: number;
  maxRetries?: number;
  retryIntervalMs?: number;
  /** Business SLA before escalation (default ESCALATE_AFTER_MS or 30 s). */
  escalateAfterMs?: number;
  consumerLagIntervalMs?: number;
  trackEnvelope?: (env: EventEnvelope, topic: string) => boolean;
  trackAck?: (ack: SyncApplied) => boolean;
}

/**
 * The monitor's fetches wait for 64 KB or 100 ms: the lags it reports come from the acks' own times,
 * so a fetch batched this way changes no figure, and it saves most of the fetch requests.
 */
const MONITOR_FETCH = { minBytes: 65_536, maxWaitMs: 100 };

/**
 * Offsets are committed, and so the tracker flushed, once a second: an event's envelope and its acks
 * then mostly land in one flush, i.e. one tracking write per event where a 200 ms cadence made two
 * or three. Reported lags are unchanged (acks' own times); figures appear up to a second later.
 */
const MONITOR_COMMIT_MS = 1000;

export interface SyncMonitor {
  runtime: ServiceRuntime;
  app: ReturnType<typeof createHttpApp>;
  server: Server;
  store: Store;
  tracker: Tracker;
  lag: ConsumerLag;
  stop: () => Promise<void>;
}

const num = (v: string | undefined, d: number): number => (v && Number.isFinite(Number(v)) ? Number(v) : d);

/** Where the dashboard's static files are, from src/ (tests) and from dist/ alike. */
export const PUBLIC_DIR = join(__dirname, '..', 'public');

export async function startSyncMonitor(config: PlatformConfig, deps: SyncMonitorDeps = {}): Promise<SyncMonitor> {
  const verifier = deps.verifier ?? (await TokenVerifier.fromEnv());
  const runtime = await ServiceRuntime.start({ config, produces: ['sync.escalation', 'sync.notice'], outbox: deps.outbox });
  try {
    const store = createStore(runtime.db);
    runtime.outbox.track(store.tracking as never, { exclusive: true });
    await Promise.all(Object.values(store).map((m) => m.init()));
    const metrics = new MonitorMetrics(runtime.metrics);
    const env = process.env;
    const tracker = new Tracker(runtime, store, deps.expectations ?? catalogueExpectations(catalogue), metrics, {
      maxRetries: deps.maxRetries ?? num(env.SYNC_MAX_RETRIES, 3),
      retryIntervalMs: deps.retryIntervalMs ?? num(env.SYNC_RETRY_INTERVAL_MS, 2000),
      escalateAfterMs: deps.escalateAfterMs ?? num(env.ESCALATE_AFTER_MS, 30_000),
      trackEnvelope: deps.trackEnvelope,
      trackAck: deps.trackAck,
      fullScanEveryMs: deps.fullScanEveryMs ?? num(env.SYNC_FULL_SCAN_EVERY_MS, 30_000),
    });
    await tracker.init();
    const channels = new ChannelStatus(runtime, store, tracker);
    const lag = new ConsumerLag(runtime.kafka, () => tracker.knownGroups(), metrics);

    const suffix = deps.groupSuffix ?? '';
    const fromBeginning = deps.fromBeginning ?? false;
    const topics = deps.topics ?? trackedTopics(catalogue);
    // Both consumers feed the tracker's write-behind buffer, flushed before each commit.
    const feedsTracker = {
      dedupe: 'in-document',
      fromBeginning,
      beforeCommit: () => tracker.flush(),
      commitIntervalMs: MONITOR_COMMIT_MS,
      fetch: MONITOR_FETCH,
    } as const;
    await Promise.all([
      // Acks are not acknowledged themselves (that would loop); each carries its own eventId for dedupe.
      runtime.consume({
        ...feedsTracker,
        group: `sync-monitor.acks${suffix}`,
        handlers: { 'sync.applied': syncAppliedHandler(tracker) },
        acknowledge: false,
      }),
      runtime.consume({ ...feedsTracker, group: `sync-monitor.envelopes${suffix}`, handlers: envelopeHandlers(topics, tracker, channels) }),
    ]);
    tracker.startSweep(deps.sweepIntervalMs ?? num(env.SYNC_SWEEP_INTERVAL_MS, 500));
    lag.start(deps.consumerLagIntervalMs ?? num(env.CONSUMER_LAG_INTERVAL_MS, 10_000), (err) =>
      runtime.logger.warn('consumer lag not measured', { err: String(err) }),
    );

    const api = buildApi({ verifier, tracker, lag, store });
    const app = createHttpApp({
      service: config.service,
      logger: runtime.logger,
      metrics: runtime.metrics,
      api,
      readiness: () => runtime.readiness(),
      extend: (a) => {
        a.get('/', (_req, res) => res.redirect('/dashboard/'));
        // Two plain files, no build step: the page and its script.
        const files: Record<string, string> = {
          '': 'index.html',
          'index.html': 'index.html',
          'app.js': 'app.js',
          'style.css': 'style.css',
        };
        a.get('/dashboard/:file?', (req, res, next) => {
          const file = files[req.params.file ?? ''];
          if (!file) return next();
          res.setHeader('Cache-Control', 'no-store');
          res.sendFile(join(PUBLIC_DIR, file));
        });
      },
    });
    const server = await runtime.listen(app);
    let stopping: Promise<void> | undefined;
    const stop = (): Promise<void> =>
      (stopping ??= (async () => {
        await tracker.stopSweep();
        await lag.stop();
        await runtime.stop();
      })());
    return { runtime, app, server, store, tracker, lag, stop };
  } catch (err) {
    await runtime.stop();
    throw err;
  }
}

if (require.main === module) {
  runService('sync-monitor', () => startSyncMonitor(loadPlatformConfig('sync-monitor', 4010)), {
    onStarted: (svc) => {
      const addr = svc.server.address();
      if (addr && typeof addr === 'object') svc.runtime.logger.info(`dashboard at http://${addr.address}:${addr.port}/dashboard/`);
    },
  });
}
