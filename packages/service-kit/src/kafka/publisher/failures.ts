/**
 * What a failed produce request means, and how often it is told.
 *
 * Guarantees:
 *  - every failure is sorted into one of three kinds from the broker's error type (found on the
 *    error or its causes): `sequence` (the idempotent producer's state is broken: only a new producer
 *    helps), `refused` (the broker refuses a record or its topic: isolating the record helps, retrying
 *    the whole request never does), `unavailable` (anything else: the broker or the network; waiting helps);
 *  - a record refused for good is rejected with a RecordRefusedError naming the reason, so its
 *    caller (the outbox relay) can park that one entry instead of retrying it for ever;
 *  - a failure that repeats is logged at most once per interval and kind, with how many were not
 *    logged, and counted on every occurrence in `omnimall_publish_failures_total{kind,reason}`:
 *    a poison record must not turn into a log flood (issue 18 saw 100,000 lines in minutes).
 */
import { Counter, type Registry } from 'prom-client';
import type { Logger } from '../../observability/logger';

export type FailureKind = 'sequence' | 'refused' | 'unavailable';

/** Broker errors after which the idempotent producer's sequence numbers cannot be trusted. */
const SEQUENCE_TYPES = new Set([
  'OUT_OF_ORDER_SEQUENCE_NUMBER',
  'DUPLICATE_SEQUENCE_NUMBER',
  'INVALID_PRODUCER_EPOCH',
  'UNKNOWN_PRODUCER_ID',
  'INVALID_PRODUCER_ID_MAPPING',
  'PRODUCER_FENCED',
]);

/** Broker errors about a record or its topic: the rest of a request is not at fault. */
const REFUSED_TYPES = new Set([
  'MESSAGE_TOO_LARGE',
  'RECORD_LIST_TOO_LARGE',
  'INVALID_RECORD',
  'CORRUPT_MESSAGE',
  'INVALID_TIMESTAMP',
  'UNSUPPORTED_FOR_MESSAGE_FORMAT',
  'INVALID_REQUIRED_ACKS',
  'TOPIC_AUTHORIZATION_FAILED',
  'UNKNOWN_TOPIC_OR_PARTITION',
  'INVALID_TOPIC_EXCEPTION',
  'POLICY_VIOLATION',
]);

/** The broker's error type on an error or the first of its causes that has one (kafkajs wraps them). */
export function brokerErrorType(err: unknown): string | undefined {
  for (let e = err as { type?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 8; e = e.cause as typeof e, depth++) {
    if (typeof e.type === 'string') return e.type;
  }
  return undefined;
}

export function failureKind(err: unknown): FailureKind {
  if (err instanceof RecordRefusedError) return 'refused';
  const type = brokerErrorType(err);
  if (type && SEQUENCE_TYPES.has(type)) return 'sequence';
  if (type && REFUSED_TYPES.has(type)) return 'refused';
  return 'unavailable';
}

/**
 * One record that cannot be published: `too_large` (over the publisher's record limit, refused
 * before sending: `permanent`, retrying cannot help) or the broker's error type (not permanent: the
 * caller retries with backoff before it gives up, since some pass later, such as a topic created late).
 */
export class RecordRefusedError extends Error {
  constructor(
    readonly reason: string,
    readonly permanent: boolean,
    detail: string,
  ) {
    super(`record refused (${reason}): ${detail}`);
    this.name = 'RecordRefusedError';
  }

  static fromBroker(err: unknown): RecordRefusedError {
    const type = brokerErrorType(err) ?? 'refused';
    return new RecordRefusedError(type, false, String((err as Error)?.message ?? err));
  }
}

/**
 * Some events of one publish were refused (each named with its reason); the others were sent,
 * unless `othersFailed` says some other failure hit them too.
 */
export class RecordsRefusedError extends Error {
  constructor(
    readonly refused: ReadonlyArray<{ eventId: string; error: RecordRefusedError }>,
    readonly othersFailed: boolean,
  ) {
    super(`${refused.length} record(s) refused: ${refused.map((r) => `${r.eventId} (${r.error.reason})`).join(', ')}`);
    this.name = 'RecordsRefusedError';
  }
}

const FAILURES_METRIC = 'omnimall_publish_failures_total';

function failuresCounter(registry: Registry): Counter<'kind' | 'reason'> {
  return (
    (registry.getSingleMetric(FAILURES_METRIC) as Counter<'kind' | 'reason'> | undefined) ??
    new Counter({
      name: FAILURES_METRIC,
      help: 'Failed produce attempts and refused records by kind (sequence, refused, unavailable) and broker error type',
      labelNames: ['kind', 'reason'],
      registers: [registry],
    })
  );
}

/**
 * Logs a repeating failure at most once per `intervalMs` per key, with the number not logged since,
 * and counts every occurrence.
 */
export class RateLimitedLog {
  private readonly last = new Map<string, { at: number; suppressed: number }>();
  private readonly counter: Counter<'kind' | 'reason'>;

  constructor(
    private readonly logger: Logger,
    registry: Registry,
    private readonly intervalMs = 10_000,
  ) {
    this.counter = failuresCounter(registry);
  }

  /** Counts one failure of `kind`/`reason` and logs it unless the same key was logged within the interval. */
  note(level: 'error' | 'warn', message: string, kind: string, reason: string, meta: Record<string, unknown>): void {
    this.counter.labels(kind, reason).inc();
    const key = `${message}|${kind}|${reason}`;
    const now = Date.now();
    const seen = this.last.get(key);
    if (seen && now - seen.at < this.intervalMs) {
      seen.suppressed++;
      return;
    }
    this.last.set(key, { at: now, suppressed: 0 });
    this.logger[level](message, { kind, reason, ...meta, ...(seen?.suppressed ? { notLoggedSinceLast: seen.suppressed } : {}) });
  }
}
