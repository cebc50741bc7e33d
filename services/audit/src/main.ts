/**
 * Composition root of the audit service: the store, the signing key, the evidence log (its tree
 * rebuilt from the stored leaves), the one reader of every topic, trails and verification, retention
 * and legal holds, the HTTP API. Workers: `reader` (every topic → the log, once the tree is rebuilt),
 * `checkpoints` (a signed checkpoint when due, unpublished ones sent to audit.checkpoint), `retention`.
 * Nothing in the platform depends on the audit being up: it acknowledges nothing and answers no command.
 */
import { defineService, periodicWorker, type Resolver } from '@omnimall/service-kit';
import { IncidentFeed } from './application/incidents';
import { LogFollower } from './application/follower';
import { loadSigner } from './application/keys';
import { Reports } from './application/reports';
import { AuditLog } from './application/log';
import { Retention } from './application/retention';
import { Trails } from './application/trails';
import { manifest } from './events';
import { EveryTopicReader } from './events/in/every-topic';
import { auditApi } from './http';
import { feedGuards, guards } from './http/access';
import { incidentRoutes } from './http/incidents';
import { reportRoutes } from './http/reports';
import { AuditMetrics } from './metrics';
import { auditSettings, type AuditSettings } from './settings';
import { createStore, type AuditStore, type StoredEvidence } from './store';

export interface AuditDeps {
  /** Overrides settings read from the environment (see settings.ts). */
  settings?: Partial<AuditSettings>;
  /** Restricts the topics read (tests that share a broker with other suites); default every auditable topic. */
  topics?: (topic: string) => boolean;
  /** How incident-feed webhook hosts are resolved, when subscribing and at each delivery (default: the system resolver). */
  resolve?: Resolver;
}

/** What tests and benchmarks reach through the running audit service. */
export interface AuditExposes {
  store: AuditStore;
  settings: AuditSettings;
  log: AuditLog;
  reader: EveryTopicReader;
  trails: Trails;
  retention: Retention;
  /** Reconciled reports (issue 23). */
  reports: Reports;
  /** The per-channel incident feed (entries, limitations, webhooks and their deliveries). */
  incidents: IncidentFeed;
  /** Resolves once the reader has joined its group (tests produce after it). */
  readerJoined: () => Promise<void>;
}

/** How long a start waits for the reader to join (the tree rebuilt first) before serving anyway. */
const READER_WAIT_MS = 10_000;

export const auditService = defineService<AuditDeps, AuditExposes>({
  name: 'audit',
  port: 4009,
  events: manifest,
  async build({ runtime, deps, env, auth, groups }) {
    const settings = { ...auditSettings(env), ...deps.settings };
    const store = await createStore(runtime);
    const metrics = new AuditMetrics(runtime.metrics);
    const signer = await loadSigner(store.keys, settings.signingKey, runtime.logger);
    // retention prepares each record before it is stored (personal identifiers kept as keyed hashes, erased subjects' payloads dropped)
    const retention: Retention = new Retention(store.log, store.holds, settings.retentionByKind, store.erasures, (): number => log.size);
    await retention.open();
    const log: AuditLog = new AuditLog(
      store.log,
      store.checkpoints,
      signer,
      runtime.publisher,
      { everyRecords: settings.checkpointRecords, everyMs: settings.checkpointMs },
      runtime.logger,
      (record: StoredEvidence): StoredEvidence => retention.prepare(record),
    );
    await log.open();
    const trails = new Trails(store.log, log, store.checkpoints, store.keys, settings.verifyMax);
    const incidents = new IncidentFeed(store.incidents, runtime.logger, { webhooks: settings.webhooks, resolve: deps.resolve });
    const followerDeps = { log: store.log, cursors: store.cursors, size: () => log.size, logger: runtime.logger };
    const followers = [
      new LogFollower('erasure', (records) => retention.onRecorded(records), followerDeps),
      new LogFollower('incidents', (records) => incidents.onRecorded(records), followerDeps),
    ];
    for (const f of followers) await f.open();
    const listeners: Array<(records: readonly StoredEvidence[]) => Promise<void> | void> = [
      (records) => {
        for (const r of records) metrics.records.labels(r.kind).inc();
        metrics.size.set(log.size);
      },
      // what must see every record (an erasure, the feed) follows the log with a stored cursor: a failure is caught up from the log
      ...followers.map((f) => (records: readonly StoredEvidence[]) => f.appended(records)),
    ];
    const reader = new EveryTopicReader({
      kafka: runtime.kafka,
      schemas: runtime.schemas,
      log,
      logger: runtime.logger,
      group: `audit.evidence${groups.suffix}`,
      fromBeginning: (groups.startAt ?? 'beginning') === 'beginning',
      topics: deps.topics,
      onRecorded: async (records) => {
        for (const listen of listeners) await listen(records);
      },
      onFailure: (err) => {
        metrics.failures.inc();
        runtime.logger.warn('evidence batch not recorded; it is read again', { err: String(err) });
      },
    });
    const reports = new Reports({
      kafka: runtime.kafka,
      log,
      store,
      signer,
      topics: () => reader.topics,
      logger: runtime.logger,
      progress: runtime.jobs,
    });
    await reports.recover();
    let readerJoined: Promise<void> | undefined;
    const checkpointPass = async (): Promise<void> => {
      const made = await log.checkpoint();
      if (made) {
        metrics.checkpointSize.set(made.treeSize);
        metrics.checkpointAt.set(made.at / 1000);
      }
      await log.publishPending();
    };
    return {
      api: auditApi({
        guards: guards(auth.verifier),
        trails,
        log,
        retention,
        extra: [
          (api) => reportRoutes(api, reports, guards(auth.verifier)),
          (api) => incidentRoutes(api, incidents, feedGuards(auth.verifier)),
        ],
      }),
      workers: [
        // the reader starts once the tree is rebuilt; a start waits for it at most READER_WAIT_MS (a long
        // history: HTTP serves at once, proofs answer 503 log_loading until the tree is back)
        {
          name: 'reader',
          start: async () => {
            readerJoined = log.whenReady().then(() => reader.start());
            readerJoined.catch((err) => runtime.logger.error('audit reader not started', { err: String(err) }));
            await Promise.race([readerJoined, new Promise((r) => setTimeout(r, READER_WAIT_MS).unref())]);
          },
          stop: async () => {
            await readerJoined?.catch(() => undefined);
            await reader.stop();
          },
        },
        periodicWorker('checkpoints', 1000, checkpointPass, runtime.logger, 'checkpoint not made'),
        periodicWorker(
          'followers',
          1000,
          async () => {
            for (const f of followers) await f.catchUp();
          },
          runtime.logger,
          'a follower of the log did not catch up',
        ),
        periodicWorker('retention', settings.pruneMs, () => retention.prune(), runtime.logger, 'retention pass failed'),
        periodicWorker('incident-webhooks', 500, () => incidents.deliverDue(), runtime.logger, 'incident webhook deliveries failed'),
      ],
      exposes: {
        store,
        settings,
        log,
        reader,
        trails,
        retention,
        reports,
        incidents,
        readerJoined: () => readerJoined ?? Promise.resolve(),
      },
    };
  },
});

if (require.main === module) auditService.run();
