/**
 * omnimall's Grafana dashboards, as code: the platform overview (propagation against the 2 s SLA,
 * escalations, dead letters), one dashboard per service (HTTP, consumers, outbox, breakers, process)
 * and Kafka/database health as the services see it. Every query reads a series some service exports
 * (deploy/test/grafana-metrics.serial.test.ts scrapes them) or one Prometheus makes itself (PROMETHEUS_SERIES).
 */
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { SLA_SECONDS, breakerStates, frame, graph, numberPanels, single } from './panels';

/**
 * Series no service exports that the dashboards may query: Prometheus writes `up` for every scrape
 * target itself. Nothing else is excluded from the scrape test (no exporter runs beside the services).
 */
export const PROMETHEUS_SERIES: readonly string[] = ['up'];

const RATE = '[$__rate_interval]';
const rate = (metric: string, selector = ''): string => `rate(${metric}${selector ? `{${selector}}` : ''}${RATE})`;
const quantile = (q: number, by: string, metric: string, selector = ''): string =>
  `histogram_quantile(${q}, sum by (${['le', ...(by ? [by] : [])].join(', ')}) (${rate(`${metric}_bucket`, selector)}))`;

/** Rows are plain rows (not collapsed): their panels follow them on the grid. */
const row = (title: string): dashboard.RowBuilder => new dashboard.RowBuilder(title);

function platformOverview(services: readonly string[]): dashboard.Dashboard {
  const lag = 'omnimall_propagation_lag_seconds';
  const d = frame(
    'omnimall-platform',
    'omnimall / Platform overview',
    'Cross-channel propagation against the 2 s SLA, escalations and dead letters, and every service at a glance.',
    ['overview'],
  )
    .withRow(row(`Propagation (SLA ${SLA_SECONDS} s, measured by the sync-monitor)`))
    .withPanel(
      single(
        `Acknowledgements within ${SLA_SECONDS} s`,
        {
          description: `Share of applied acknowledgements whose appliedAt − occurredAt was at most ${SLA_SECONDS} s.`,
          unit: 'percentunit',
          w: 6,
          h: 8,
        },
        { expr: `sum(${rate(`${lag}_bucket`, `le="${SLA_SECONDS}"`)}) / sum(${rate(`${lag}_count`)})`, legend: 'within SLA' },
      ),
    )
    .withPanel(
      graph(
        'p99 propagation by event type',
        { description: '99th percentile of appliedAt − occurredAt per event type (topic).', unit: 's', limit: SLA_SECONDS, w: 9 },
        { expr: quantile(0.99, 'type', lag), legend: '{{type}}' },
      ),
    )
    .withPanel(
      graph(
        'p50 propagation by event type',
        { description: 'Median appliedAt − occurredAt per event type (topic).', unit: 's', limit: SLA_SECONDS, w: 9 },
        { expr: quantile(0.5, 'type', lag), legend: '{{type}}' },
      ),
    )
    .withPanel(
      graph(
        'p99 propagation by channel',
        { description: "99th percentile per sales channel ('none': changes no channel applies).", unit: 's', limit: SLA_SECONDS, w: 8 },
        { expr: quantile(0.99, 'channel', lag), legend: '{{channel}}' },
      ),
    )
    .withPanel(
      graph(
        'p50 propagation by channel',
        { description: 'Median appliedAt − occurredAt per sales channel.', unit: 's', limit: SLA_SECONDS, w: 8 },
        { expr: quantile(0.5, 'channel', lag), legend: '{{channel}}' },
      ),
    )
    .withPanel(
      graph(
        'p99 propagation by consumer',
        { description: 'Which consuming service is slow: 99th percentile per consumer.', unit: 's', limit: SLA_SECONDS, w: 8 },
        { expr: quantile(0.99, 'consumer', lag), legend: '{{consumer}}' },
      ),
    )
    .withRow(row('Escalations and dead letters'))
    .withPanel(
      single(
        'Open escalations',
        {
          description: 'Escalations opened and not yet resolved or reconciled (alert SyncEscalationsOpen).',
          unit: 'short',
          limit: 1,
          w: 4,
          h: 8,
        },
        { expr: 'max(omnimall_sync_open_escalations)', legend: 'open' },
      ),
    )
    .withPanel(
      graph(
        'Escalations opened',
        { description: 'Events that missed their SLA on some consumer, per topic and root cause.', unit: 'ops', w: 10 },
        { expr: `sum by (topic, root_cause) (${rate('omnimall_sync_escalations_total')})`, legend: '{{topic}} · {{root_cause}}' },
      ),
    )
    .withPanel(
      graph(
        'Re-deliveries by the monitor',
        { description: 'Retries the sync-monitor made, by outcome.', unit: 'ops', w: 10 },
        { expr: `sum by (outcome) (${rate('omnimall_sync_retries_total')})`, legend: '{{outcome}}' },
      ),
    )
    .withPanel(
      graph(
        'Dead-letter rate by topic and consumer',
        { description: 'Records sent to <topic>.dlq (alert DeadLetterGrowth).', unit: 'ops', w: 12 },
        { expr: `sum by (topic, consumer) (${rate('omnimall_events_dead_lettered_total')})`, legend: '{{consumer}} ← {{topic}}' },
      ),
    )
    .withPanel(
      graph(
        'Dead-letter rate by reason',
        { description: 'Why records were dead-lettered.', unit: 'ops', w: 6, stacked: true },
        { expr: `sum by (reason) (${rate('omnimall_events_dead_lettered_total')})`, legend: '{{reason}}' },
      ),
    )
    .withPanel(
      graph(
        'Remediation actions',
        { description: 'Actions taken from the sync-monitor dashboard or API, by kind.', unit: 'ops', w: 6 },
        { expr: `sum by (kind) (${rate('omnimall_sync_remediation_actions_total')})`, legend: '{{kind}}' },
      ),
    )
    .withRow(row('Services'))
    .withPanel(
      graph(
        'Targets up',
        {
          description: `1 when Prometheus scraped the service's /metrics (services: ${services.join(', ')}).`,
          unit: 'short',
          w: 8,
        },
        { expr: 'sum by (service) (up{service!=""})', legend: '{{service}}' },
      ),
    )
    .withPanel(
      graph(
        'HTTP 5xx ratio by service',
        { description: 'Share of requests answered 5xx.', unit: 'percentunit', w: 8 },
        {
          expr: `sum by (service) (${rate('omnimall_http_request_seconds_count', 'status=~"5.."')}) / sum by (service) (${rate('omnimall_http_request_seconds_count')})`,
          legend: '{{service}}',
        },
      ),
    )
    .withPanel(
      graph(
        'Events handled by service',
        { description: 'Records handled by every consumer of the service, all outcomes.', unit: 'ops', w: 8, stacked: true },
        { expr: `sum by (service) (${rate('omnimall_events_consumed_total')})`, legend: '{{service}}' },
      ),
    )
    .withPanel(
      graph(
        'Oldest unpublished outbox event',
        { description: 'Age of the oldest outbox entry written and not yet published, per service.', unit: 's', limit: SLA_SECONDS, w: 8 },
        { expr: 'max by (service) (omnimall_outbox_oldest_pending_seconds)', legend: '{{service}}' },
      ),
    )
    .withPanel(
      graph(
        'Circuit breakers open',
        { description: 'Breakers open (state 2) per service.', unit: 'short', w: 8 },
        { expr: 'sum by (service) (omnimall_circuit_breaker_state == bool 2)', legend: '{{service}}' },
      ),
    )
    .withPanel(
      graph(
        'Exceptions recorded',
        { description: 'Refusals, collisions and conflicts recorded on platform.exception, per service and kind.', unit: 'ops', w: 8 },
        { expr: `sum by (service, kind) (${rate('omnimall_exceptions_recorded_total')})`, legend: '{{service}} · {{kind}}' },
      ),
    )
    .build();
  return numberPanels(d);
}

/** Extra rows of the services that export series of their own. */
function ownRows(service: string, b: dashboard.DashboardBuilder): dashboard.DashboardBuilder {
  const sel = `service="${service}"`;
  if (service === 'sync-monitor')
    return b
      .withRow(row('Tracking'))
      .withPanel(
        graph(
          'Tracking behind its topics',
          {
            description: 'now − the time before which every record was handled, per group (alert SyncMonitorBehind).',
            unit: 's',
            limit: SLA_SECONDS,
            w: 12,
          },
          { expr: `max by (group) (omnimall_sync_monitor_behind_seconds{${sel}})`, legend: '{{group}}' },
        ),
      )
      .withPanel(
        graph(
          'Events tracked in memory',
          { description: 'Events held by the tracking.', unit: 'short', w: 6 },
          { expr: `sum(omnimall_sync_tracked_events{${sel}})`, legend: 'tracked' },
        ),
      )
      .withPanel(
        graph(
          'Tracking snapshot',
          { description: 'Size of the last tracking snapshot (compressed).', unit: 'bytes', w: 6 },
          { expr: `max(omnimall_sync_snapshot_bytes{${sel}})`, legend: 'size' },
        ),
      )
      .withPanel(
        single(
          'Snapshot age',
          { description: 'Seconds since the last tracking snapshot.', unit: 's', w: 6, h: 8 },
          { expr: `time() - max(omnimall_sync_snapshot_timestamp_seconds{${sel}})`, legend: 'age' },
        ),
      );
  if (service === 'audit')
    return b
      .withRow(row('Evidence log'))
      .withPanel(
        graph(
          'Records chained',
          { description: 'Evidence records chained into the log, by kind.', unit: 'ops', w: 8, stacked: true },
          { expr: `sum by (kind) (${rate('omnimall_audit_records_total', sel)})`, legend: '{{kind}}' },
        ),
      )
      .withPanel(
        graph(
          'Ingest failures',
          { description: 'Batches that could not be recorded (read again).', unit: 'ops', w: 8 },
          { expr: `sum(${rate('omnimall_audit_ingest_failures_total', sel)})`, legend: 'failures' },
        ),
      )
      .withPanel(
        graph(
          'Log size and checkpointed size',
          { description: 'Records in the log against the tree size of the latest signed checkpoint.', unit: 'short', w: 8 },
          { expr: `max(omnimall_audit_log_size{${sel}})`, legend: 'log' },
          { expr: `max(omnimall_audit_checkpoint_tree_size{${sel}})`, legend: 'checkpointed' },
        ),
      )
      .withPanel(
        single(
          'Checkpoint age',
          { description: 'Seconds since the latest checkpoint was signed.', unit: 's', w: 6, h: 8 },
          { expr: `time() - max(omnimall_audit_checkpoint_timestamp_seconds{${sel}})`, legend: 'age' },
        ),
      );
  return b;
}

function serviceDashboard(service: string): dashboard.Dashboard {
  const sel = `service="${service}"`;
  const http = 'omnimall_http_request_seconds';
  const requests = (extra = ''): string => `sum(${rate(`${http}_count`, `${sel}${extra}`)})`;
  const group = `group=~"${service}[.].*"`;
  let b = frame(
    `omnimall-service-${service}`,
    `omnimall / ${service}`,
    `The ${service} service: HTTP, its consumers, outbox, breakers and process.`,
    ['service', service],
  )
    .withRow(row('HTTP'))
    .withPanel(
      graph(
        'Requests by route and status',
        { description: 'Requests answered per second.', unit: 'reqps', stacked: true },
        { expr: `sum by (route, status) (${rate(`${http}_count`, sel)})`, legend: '{{route}} {{status}}' },
      ),
    )
    .withPanel(
      graph(
        'Error ratio',
        { description: 'Share of requests answered 5xx (server) and 4xx (refused input).', unit: 'percentunit' },
        { expr: `${requests(',status=~"5.."')} / ${requests()}`, legend: '5xx' },
        { expr: `${requests(',status=~"4.."')} / ${requests()}`, legend: '4xx' },
      ),
    )
    .withPanel(
      graph(
        'Latency',
        { description: 'p50 and p99 of the request duration.', unit: 's' },
        { expr: quantile(0.5, '', http, sel), legend: 'p50' },
        { expr: quantile(0.99, '', http, sel), legend: 'p99' },
      ),
    )
    .withRow(row('Events'))
    .withPanel(
      graph(
        'Consumed by topic and outcome',
        { description: 'Records handled per second.', unit: 'ops', stacked: true },
        { expr: `sum by (topic, outcome) (${rate('omnimall_events_consumed_total', sel)})`, legend: '{{topic}} {{outcome}}' },
      ),
    )
    .withPanel(
      graph(
        'Handler p99 by topic',
        { description: '99th percentile of the event handler duration.', unit: 's' },
        { expr: quantile(0.99, 'topic', 'omnimall_event_handler_seconds', sel), legend: '{{topic}}' },
      ),
    )
    .withPanel(
      graph(
        'Consumer lag',
        {
          description: "End offset − committed offset of this service's consumer groups (measured by the sync-monitor).",
          unit: 'short',
          limit: 1000,
        },
        { expr: `sum by (group, topic) (omnimall_consumer_group_lag{${group}})`, legend: '{{group}} {{topic}}' },
      ),
    )
    .withPanel(
      graph(
        'Retried and dead-lettered',
        { description: 'Handler attempts retried, and records sent to a dead-letter topic.', unit: 'ops' },
        { expr: `sum by (topic) (${rate('omnimall_events_retried_total', sel)})`, legend: 'retried {{topic}}' },
        {
          expr: `sum by (topic, reason) (${rate('omnimall_events_dead_lettered_total', sel)})`,
          legend: 'dead-lettered {{topic}} ({{reason}})',
        },
      ),
    )
    .withPanel(
      graph(
        'Produced by topic',
        { description: 'Events published to Kafka.', unit: 'ops', stacked: true },
        { expr: `sum by (topic) (${rate('omnimall_events_produced_total', sel)})`, legend: '{{topic}}' },
      ),
    )
    .withPanel(
      graph(
        'Publish failures',
        { description: 'Failed produce attempts and refused records, and producers replaced.', unit: 'ops' },
        { expr: `sum by (kind, reason) (${rate('omnimall_publish_failures_total', sel)})`, legend: '{{kind}} {{reason}}' },
        { expr: `sum(${rate('omnimall_publisher_producer_replaced_total', sel)})`, legend: 'producer replaced' },
      ),
    )
    .withRow(row('Outbox and database'))
    .withPanel(
      graph(
        'Outbox depth',
        { description: 'Outbox events written and not yet published, per collection.', unit: 'short' },
        { expr: `sum by (collection) (omnimall_outbox_pending{${sel}})`, legend: '{{collection}}' },
      ),
    )
    .withPanel(
      graph(
        'Oldest unpublished outbox event',
        { description: 'Age of the oldest unpublished entry, per collection.', unit: 's', limit: SLA_SECONDS },
        { expr: `max by (collection) (omnimall_outbox_oldest_pending_seconds{${sel}})`, legend: '{{collection}}' },
      ),
    )
    .withPanel(
      graph(
        'Outbox entries parked',
        {
          description: 'Entries that can never be published (schema refuses, too large, broker refuses); kept in their document.',
          unit: 'ops',
        },
        { expr: `sum by (topic, reason) (${rate('omnimall_outbox_parked_total', sel)})`, legend: '{{topic}} ({{reason}})' },
      ),
    )
    .withPanel(
      graph(
        'Write conflicts',
        { description: 'Conditional writes retried because another writer changed the document first.', unit: 'ops' },
        { expr: `sum by (collection) (${rate('omnimall_write_conflicts_total', sel)})`, legend: '{{collection}}' },
      ),
    )
    .withPanel(
      graph(
        'Statements per group commit',
        { description: 'p50 and p99 of the statements per group-committed write.', unit: 'short' },
        { expr: quantile(0.5, '', 'omnimall_db_write_batch_statements', sel), legend: 'p50' },
        { expr: quantile(0.99, '', 'omnimall_db_write_batch_statements', sel), legend: 'p99' },
      ),
    )
    .withPanel(
      graph(
        'Requests refused: dependency down',
        { description: 'Requests answered 503 because the database, the broker or the schema registry was unreachable.', unit: 'reqps' },
        { expr: `sum by (dependency) (${rate('omnimall_dependency_unavailable_total', sel)})`, legend: '{{dependency}}' },
      ),
    )
    .withRow(row('Resilience and exceptions'))
    .withPanel(
      breakerStates(
        'Circuit breakers',
        { description: 'State of every breaker: closed, half-open, open.', unit: 'short', w: 12 },
        { expr: `max by (breaker) (omnimall_circuit_breaker_state{${sel}})`, legend: '{{breaker}}' },
      ),
    )
    .withPanel(
      graph(
        'Exceptions recorded and dropped',
        {
          description: 'Refusals and conflicts recorded on platform.exception; dropped over the bound or on a failed write.',
          unit: 'ops',
          w: 12,
        },
        { expr: `sum by (kind, code) (${rate('omnimall_exceptions_recorded_total', sel)})`, legend: '{{kind}} {{code}}' },
        { expr: `sum by (kind, reason) (${rate('omnimall_exceptions_dropped_total', sel)})`, legend: 'dropped {{kind}} ({{reason}})' },
      ),
    )
    .withRow(row('Process'))
    .withPanel(
      graph(
        'Up',
        { description: "1 when Prometheus scraped the service's /metrics.", unit: 'short', w: 6 },
        { expr: `up{${sel}}`, legend: '{{instance}}' },
      ),
    )
    .withPanel(
      graph(
        'CPU',
        { description: 'CPU seconds per second, per instance.', unit: 'percentunit', w: 6 },
        { expr: rate('process_cpu_seconds_total', sel), legend: '{{instance}}' },
      ),
    )
    .withPanel(
      graph(
        'Memory',
        { description: 'Resident set and V8 heap used, per instance.', unit: 'bytes', w: 6 },
        { expr: `process_resident_memory_bytes{${sel}}`, legend: 'rss {{instance}}' },
        { expr: `sum by (instance) (nodejs_heap_size_used_bytes{${sel}})`, legend: 'heap {{instance}}' },
      ),
    )
    .withPanel(
      graph(
        'Event loop lag p99',
        { description: "99th percentile of the event loop's delay.", unit: 's', w: 6 },
        { expr: `nodejs_eventloop_lag_p99_seconds{${sel}}`, legend: '{{instance}}' },
      ),
    );
  b = ownRows(service, b);
  return numberPanels(b.build());
}

function kafkaDbHealth(): dashboard.Dashboard {
  const d = frame(
    'omnimall-kafka-db',
    'omnimall / Kafka and database health',
    "Kafka, MongoDB and the schema registry as the services see them: consumer lag, publish failures, outboxes, writes and refusals (no exporter of the brokers' or the database's own metrics runs).",
    ['kafka', 'mongodb'],
  )
    .withRow(row('Kafka'))
    .withPanel(
      graph(
        'Consumer lag by group',
        {
          description: 'End offset − committed offset, summed over topics and partitions (alert ConsumerGroupLagHigh).',
          unit: 'short',
          limit: 1000,
          w: 12,
        },
        { expr: 'sum by (group) (omnimall_consumer_group_lag)', legend: '{{group}}' },
      ),
    )
    .withPanel(
      graph(
        'Consumer lag by topic',
        { description: 'End offset − committed offset, summed over groups and partitions.', unit: 'short', w: 12 },
        { expr: 'sum by (topic) (omnimall_consumer_group_lag)', legend: '{{topic}}' },
      ),
    )
    .withPanel(
      graph(
        'Produced and consumed',
        { description: 'Events published and records handled, platform-wide.', unit: 'ops' },
        { expr: `sum(${rate('omnimall_events_produced_total')})`, legend: 'produced' },
        { expr: `sum(${rate('omnimall_events_consumed_total')})`, legend: 'consumed' },
      ),
    )
    .withPanel(
      graph(
        'Publish failures',
        { description: 'Failed produce attempts and refused records per service and kind.', unit: 'ops' },
        { expr: `sum by (service, kind) (${rate('omnimall_publish_failures_total')})`, legend: '{{service}} {{kind}}' },
        { expr: `sum by (service) (${rate('omnimall_publisher_producer_replaced_total')})`, legend: '{{service}} producer replaced' },
      ),
    )
    .withPanel(
      graph(
        'Broker unreachable',
        { description: 'Requests answered 503 because the broker was unreachable, per service.', unit: 'reqps' },
        { expr: `sum by (service) (${rate('omnimall_dependency_unavailable_total', 'dependency="broker"')})`, legend: '{{service}}' },
      ),
    )
    .withPanel(
      graph(
        'sync-monitor behind its topics',
        { description: "How far the monitor's tracking is behind, per consumer group.", unit: 's', limit: SLA_SECONDS, w: 12 },
        { expr: 'max by (group) (omnimall_sync_monitor_behind_seconds)', legend: '{{group}}' },
      ),
    )
    .withPanel(
      graph(
        'Schema registry unreachable',
        { description: 'Requests answered 503 because the schema registry was unreachable, per service.', unit: 'reqps', w: 12 },
        {
          expr: `sum by (service) (${rate('omnimall_dependency_unavailable_total', 'dependency="schema_registry"')})`,
          legend: '{{service}}',
        },
      ),
    )
    .withRow(row('MongoDB'))
    .withPanel(
      graph(
        'Database unreachable',
        { description: 'Requests answered 503 because the database was unreachable, per service.', unit: 'reqps' },
        { expr: `sum by (service) (${rate('omnimall_dependency_unavailable_total', 'dependency="database"')})`, legend: '{{service}}' },
      ),
    )
    .withPanel(
      graph(
        'Outbox depth',
        { description: 'Outbox events written and not yet published, per service.', unit: 'short', stacked: true },
        { expr: 'sum by (service) (omnimall_outbox_pending)', legend: '{{service}}' },
      ),
    )
    .withPanel(
      graph(
        'Outbox entries parked',
        { description: 'Entries that can never be published, per service and reason.', unit: 'ops' },
        { expr: `sum by (service, reason) (${rate('omnimall_outbox_parked_total')})`, legend: '{{service}} ({{reason}})' },
      ),
    )
    .withPanel(
      graph(
        'Write conflicts',
        { description: 'Conditional writes retried, per service and collection.', unit: 'ops', w: 12 },
        { expr: `sum by (service, collection) (${rate('omnimall_write_conflicts_total')})`, legend: '{{service}} {{collection}}' },
      ),
    )
    .withPanel(
      graph(
        'Statements per group commit (p99)',
        { description: '99th percentile of the statements per group-committed write, per service.', unit: 'short', w: 12 },
        { expr: quantile(0.99, 'service', 'omnimall_db_write_batch_statements'), legend: '{{service}}' },
      ),
    )
    .build();
  return numberPanels(d);
}

/** Every dashboard, by file name (deploy/grafana/dashboards/<name>). */
export function buildDashboards(services: readonly string[]): Record<string, dashboard.Dashboard> {
  const out: Record<string, dashboard.Dashboard> = {
    'platform-overview.json': platformOverview(services),
    'kafka-db-health.json': kafkaDbHealth(),
  };
  for (const s of services) out[`service-${s}.json`] = serviceDashboard(s);
  return out;
}
