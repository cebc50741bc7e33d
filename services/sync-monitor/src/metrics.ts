import { Counter, Gauge, Histogram } from 'prom-client';
import type { ServiceMetrics } from '@omnimall/service-kit';

/** The monitor's own series, on the service's registry (served at /metrics). */
export class MonitorMetrics {
  readonly lag: Histogram<'type' | 'consumer' | 'channel'>;
  readonly retries: Counter<'topic' | 'consumer' | 'outcome'>;
  readonly escalations: Counter<'topic' | 'root_cause'>;
  readonly openEscalations: Gauge;
  readonly consumerLag: Gauge<'group' | 'topic' | 'partition'>;
  readonly actions: Counter<'kind'>;
  readonly behind: Gauge<'group'>;
  readonly trackedEvents: Gauge;
  readonly snapshotBytes: Gauge;
  readonly snapshotAt: Gauge;

  constructor(m: ServiceMetrics) {
    const registers = [m.registry];
    this.lag = new Histogram({
      name: 'omnimall_propagation_lag_seconds',
      help: 'appliedAt − occurredAt of every applied acknowledgement, per event type, consumer service and channel',
      labelNames: ['type', 'consumer', 'channel'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
      registers,
    });
    this.retries = new Counter({
      name: 'omnimall_sync_retries_total',
      help: 'Re-deliveries made by the monitor, by outcome',
      labelNames: ['topic', 'consumer', 'outcome'],
      registers,
    });
    this.escalations = new Counter({
      name: 'omnimall_sync_escalations_total',
      help: 'Escalations opened',
      labelNames: ['topic', 'root_cause'],
      registers,
    });
    this.openEscalations = new Gauge({
      name: 'omnimall_sync_open_escalations',
      help: 'Escalations opened and not yet resolved or reconciled',
      registers,
    });
    this.consumerLag = new Gauge({
      name: 'omnimall_consumer_group_lag',
      help: 'End offset minus committed offset',
      labelNames: ['group', 'topic', 'partition'],
      registers,
    });
    this.actions = new Counter({
      name: 'omnimall_sync_remediation_actions_total',
      help: 'Remediation actions taken from the dashboard or API',
      labelNames: ['kind'],
      registers,
    });
    this.behind = new Gauge({
      name: 'omnimall_sync_monitor_behind_seconds',
      help: "How far behind its topics the monitor's own tracking is, per consumer group (now − the time before which every record was handled)",
      labelNames: ['group'],
      registers,
    });
    this.trackedEvents = new Gauge({ name: 'omnimall_sync_tracked_events', help: 'Events held in memory by the tracking', registers });
    this.snapshotBytes = new Gauge({
      name: 'omnimall_sync_snapshot_bytes',
      help: 'Size of the last tracking snapshot (compressed)',
      registers,
    });
    this.snapshotAt = new Gauge({
      name: 'omnimall_sync_snapshot_timestamp_seconds',
      help: 'When the last tracking snapshot was captured',
      registers,
    });
  }
}
