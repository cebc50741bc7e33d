import { Counter, Gauge } from 'prom-client';
import type { ServiceMetrics } from '@omnimall/service-kit';

/** The audit's own series, on the service's registry (served at /metrics). */
export class AuditMetrics {
  readonly records: Counter<'kind'>;
  readonly failures: Counter;
  readonly size: Gauge;
  readonly checkpointSize: Gauge;
  readonly checkpointAt: Gauge;

  constructor(m: ServiceMetrics) {
    const registers = [m.registry];
    this.records = new Counter({
      name: 'omnimall_audit_records_total',
      help: 'Evidence records chained into the log, by kind',
      labelNames: ['kind'],
      registers,
    });
    this.failures = new Counter({
      name: 'omnimall_audit_ingest_failures_total',
      help: 'Batches that could not be recorded (read again)',
      registers,
    });
    this.size = new Gauge({ name: 'omnimall_audit_log_size', help: 'Records in the evidence log', registers });
    this.checkpointSize = new Gauge({
      name: 'omnimall_audit_checkpoint_tree_size',
      help: 'Tree size of the latest signed checkpoint',
      registers,
    });
    this.checkpointAt = new Gauge({
      name: 'omnimall_audit_checkpoint_timestamp_seconds',
      help: 'When the latest checkpoint was signed (unix seconds)',
      registers,
    });
  }
}
