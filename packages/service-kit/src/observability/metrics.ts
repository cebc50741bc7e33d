/**
 * The Prometheus metrics every service exposes at /metrics, under one name each across services, so
 * one dashboard reads them all.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10];

/** The metrics every service exposes at /metrics; services add their own to `registry`. */
export class ServiceMetrics {
  readonly registry = new Registry();
  readonly produced: Counter<'topic'>;
  readonly consumed: Counter<'topic' | 'consumer' | 'outcome'>;
  readonly retried: Counter<'topic' | 'consumer'>;
  readonly deadLettered: Counter<'topic' | 'consumer' | 'reason'>;
  readonly handlerDuration: Histogram<'topic' | 'consumer'>;
  readonly outboxDepth: Gauge<'collection'>;
  readonly outboxOldestAge: Gauge<'collection'>;
  readonly writeConflicts: Counter<'collection'>;
  readonly writeBatchSize: Histogram<'collection'>;
  readonly breakerState: Gauge<'breaker'>;
  readonly httpDuration: Histogram<'method' | 'route' | 'status'>;
  /** platform.exception events committed to the outbox (events/exceptions.ts). */
  readonly exceptionsRecorded: Counter<'kind' | 'code'>;
  /** Exceptions not recorded: over the per-process bound (`rate_limited`) or a failed write (`failed`). */
  readonly exceptionsDropped: Counter<'kind' | 'reason'>;

  constructor(service: string) {
    this.registry.setDefaultLabels({ service });
    collectDefaultMetrics({ register: this.registry });
    const r = [this.registry];
    this.produced = new Counter({
      name: 'omnimall_events_produced_total',
      help: 'Events published to Kafka',
      labelNames: ['topic'],
      registers: r,
    });
    this.consumed = new Counter({
      name: 'omnimall_events_consumed_total',
      help: 'Events handled, by outcome',
      labelNames: ['topic', 'consumer', 'outcome'],
      registers: r,
    });
    this.retried = new Counter({
      name: 'omnimall_events_retried_total',
      help: 'Handler attempts that failed and were retried',
      labelNames: ['topic', 'consumer'],
      registers: r,
    });
    this.deadLettered = new Counter({
      name: 'omnimall_events_dead_lettered_total',
      help: 'Records sent to a dead-letter topic',
      labelNames: ['topic', 'consumer', 'reason'],
      registers: r,
    });
    this.handlerDuration = new Histogram({
      name: 'omnimall_event_handler_seconds',
      help: 'Event handler duration',
      labelNames: ['topic', 'consumer'],
      buckets: LATENCY_BUCKETS,
      registers: r,
    });
    this.outboxDepth = new Gauge({
      name: 'omnimall_outbox_pending',
      help: 'Outbox events written but not yet published',
      labelNames: ['collection'],
      registers: r,
    });
    this.outboxOldestAge = new Gauge({
      name: 'omnimall_outbox_oldest_pending_seconds',
      help: 'Age of the oldest unpublished outbox event',
      labelNames: ['collection'],
      registers: r,
    });
    this.writeConflicts = new Counter({
      name: 'omnimall_write_conflicts_total',
      help: 'Conditional document writes retried because another writer changed the document first',
      labelNames: ['collection'],
      registers: r,
    });
    this.writeBatchSize = new Histogram({
      name: 'omnimall_db_write_batch_statements',
      help: 'Statements per group-committed database write (effect-once upserts)',
      labelNames: ['collection'],
      buckets: [1, 2, 4, 8, 16, 32, 64, 100],
      registers: r,
    });
    this.breakerState = new Gauge({
      name: 'omnimall_circuit_breaker_state',
      help: 'Circuit breaker state: 0 closed, 1 half-open, 2 open',
      labelNames: ['breaker'],
      registers: r,
    });
    this.httpDuration = new Histogram({
      name: 'omnimall_http_request_seconds',
      help: 'HTTP request duration',
      labelNames: ['method', 'route', 'status'],
      buckets: LATENCY_BUCKETS,
      registers: r,
    });
    this.exceptionsRecorded = new Counter({
      name: 'omnimall_exceptions_recorded_total',
      help: 'Refusals, collisions and conflicts recorded on platform.exception',
      labelNames: ['kind', 'code'],
      registers: r,
    });
    this.exceptionsDropped = new Counter({
      name: 'omnimall_exceptions_dropped_total',
      help: 'Exceptions not recorded on platform.exception: over the per-process bound (rate_limited) or a failed write (failed)',
      labelNames: ['kind', 'reason'],
      registers: r,
    });
  }
}
