/**
 * The one Kafka producer of a service: idempotent, ordered, group-committed sends capped below the
 * broker's limits, a refused record isolated from the rest, a broken producer replaced (see EventPublisher).
 *
 *   index.ts     EventPublisher: the queue, its requests, failures and their recovery
 *   requests.ts  how the queue is cut into requests (bytes and count caps, pure)
 *   failures.ts  what a failure means (sequence / refused / unavailable), refusal errors, rate-limited logs
 */
import { Counter } from 'prom-client';
import { ConfigResourceTypes, Partitioners, type IHeaders, type Kafka, type Message, type Producer } from 'kafkajs';
import type { Logger } from '../../observability/logger';
import type { ServiceMetrics } from '../../observability/metrics';
import type { OutgoingEvent } from '../../events/envelope';
import type { EventEnvelope } from '@omnimall/contracts';
import type { EventSchemas } from '../../events/schema-registry';
import { brokerErrorType, failureKind, RateLimitedLog, RecordRefusedError, RecordsRefusedError } from './failures';
import { limitsFromEnv, recordBytes, takeRequest, type PublisherLimits } from './requests';

export { RecordRefusedError, RecordsRefusedError } from './failures';
export type { PublisherLimits } from './requests';

export interface SendOptions {
  /** Wait up to this long for other sends to share the request (default 0: send at once). */
  lingerMs?: number;
  /**
   * Keep the records until they are sent: a failure that is not the record's own (the broker or the
   * network) sends them again later, in order, instead of rejecting (acknowledgements; `sendRaw`'s
   * default). Only a refusal of the record itself, or a failure while disconnecting, rejects.
   */
  keep?: boolean;
  /**
   * `bulk`: the records are bulk work (a catalogue bulk sync): each carries the Kafka header
   * `lane: bulk`, and their consumers acknowledge them on `sync.applied.bulk` instead of
   * `sync.applied`, so that the acks of everyday events never queue behind a bulk job's.
   */
  lane?: Lane;
}

/** A record's lane (header `lane`); absent: the everyday lane. */
export type Lane = 'bulk';
export const LANE_HEADER = 'lane';

/** The topic whose records are sent before all others: the acks of everyday work. */
const FIRST_TOPIC = 'sync.applied';

/** The lane a consumed record's headers name (only `bulk` is one). */
export function laneOf(headers: IHeaders | undefined): Lane | undefined {
  return headerString(headers, LANE_HEADER) === 'bulk' ? 'bulk' : undefined;
}

interface Pending {
  topic: string;
  message: Message;
  bytes: number;
  keep: boolean;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** Backoff between attempts to send kept records while the broker fails (doubling, capped). */
const RETRY_FIRST_MS = 200;
const RETRY_MAX_MS = 1000;
const REPLACED_METRIC = 'omnimall_publisher_producer_replaced_total';

/**
 * The one Kafka producer of a service.
 *
 * Guarantees:
 *  - kafkajs' idempotent producer (acks from all in-sync replicas, one request in flight) writes each
 *    send at most once per producer session and in order. Across a crash, or a producer replaced,
 *    duplicates are possible; consumers remove them by eventId.
 *  - Group commit: what callers queue while one request is in flight goes out in the next request(s),
 *    cut from the front of the queue within `maxRequestBytes` and `maxRequestRecords` (requests.ts),
 *    so records leave in queue order and no request is too large for the broker. One exception: the
 *    acks of everyday work (`sync.applied`) have a queue of their own that is served first, so they
 *    never wait behind a bulk job's records and acks (each ack is an event of its own: no order
 *    between acks of different events, or between an ack and business records, is promised; acks
 *    of one lane keep their order). A send may linger
 *    (telemetry such as acks): it waits up to `lingerMs` for company; one that does not linger takes
 *    every queued one with it.
 *  - A record over `maxRequestBytes` is refused before it is sent (RecordRefusedError `too_large`). A
 *    request the broker refuses because of one of its records is split in halves until the record is
 *    alone: the others are sent, that one is rejected (RecordRefusedError with the broker's error
 *    type), so one record never blocks other records, keys or topics. Records of other partitions the
 *    broker wrote before refusing the request are sent again with their half (duplicates, as after
 *    a crash; consumers drop them by eventId); first copies stay in per-key order.
 *  - After a sequence error (out of order, duplicate sequence, unknown producer id, fenced epoch) or a
 *    refusal (after which kafkajs' sequence numbers of the request's other partitions may be wrong),
 *    the producer is replaced by a new one (a new producer id) and the request is sent again from its
 *    first record, so per-key order holds (`omnimall_publisher_producer_replaced_total`).
 *  - A kept record (`keep`) is never dropped for a failure that is not its own: it goes back to the
 *    front of the queue and is sent again after a backoff (200 ms doubling to 1 s). `backpressure()`
 *    tells callers to wait while more than `maxQueuedBytes` are queued, so memory stays bounded.
 *  - Failures are logged at most once per 10 s per kind and counted on every occurrence
 *    (`omnimall_publish_failures_total`).
 * kafkajs retries a request that fails for the broker's sake 12 times (100 ms doubling to 1 s, so a
 * restarted broker is used within a second of being back), then the request fails: a kept record is
 * tried again by this class, another is rejected to its caller (the outbox relay retries its entries).
 */
export class EventPublisher {
  private producer: Producer;
  private needsConnect = false;
  private queue: Pending[] = [];
  /** The acks of everyday work (sync.applied): sent before `queue` (see the class header). */
  private first: Pending[] = [];
  /** Bytes of the records queued or in flight. */
  private queuedBytes = 0;
  private drainWaiters: (() => void)[] = [];
  private flushing = false;
  private lingerTimer?: NodeJS.Timeout;
  private retryDelayMs = 0;
  /** The flush in progress (or the last one). */
  private flushed: Promise<void> = Promise.resolve();
  /** Publishes not settled yet (some may still be encoding). */
  private readonly publishing = new Set<Promise<void>>();
  private closing = false;
  readonly limits: PublisherLimits;
  private readonly failures: RateLimitedLog;
  private readonly replaced: Counter;
  /** `max.message.bytes` per topic, as read from the broker. */
  private readonly topicLimits = new Map<string, number>();

  constructor(
    private readonly kafka: Kafka,
    private readonly schemas: EventSchemas,
    private readonly metrics: ServiceMetrics,
    private readonly logger: Logger,
    limits: Partial<PublisherLimits> = {},
  ) {
    this.limits = { ...limitsFromEnv(), ...limits };
    this.failures = new RateLimitedLog(logger, metrics.registry);
    this.replaced =
      (metrics.registry.getSingleMetric(REPLACED_METRIC) as Counter | undefined) ??
      new Counter({
        name: REPLACED_METRIC,
        help: 'Producers replaced after a sequence error or a refused record',
        registers: [metrics.registry],
      });
    this.producer = this.newProducer();
  }

  private newProducer(): Producer {
    return this.kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      // Murmur2 on the key, as the Java client does: partner producers and we agree on partitions.
      createPartitioner: Partitioners.DefaultPartitioner,
      retry: { retries: 12, initialRetryTime: 100, maxRetryTime: 1000 },
    });
  }

  connect(): Promise<void> {
    return this.producer.connect();
  }

  /**
   * The most bytes (estimated as requests.ts does) one record of `topic` may take: the request limit,
   * or the topic's own `max.message.bytes` read from the broker (`readTopicLimits`) when lower, less
   * the record batch's header.
   */
  recordLimit(topic: string): number {
    const own = this.topicLimits.get(topic);
    return own === undefined ? this.limits.maxRequestBytes : Math.min(this.limits.maxRequestBytes, own - BATCH_HEADER_BYTES);
  }

  /**
   * Reads the size limit of each topic from the broker (`max.message.bytes`, the topic's own or the
   * broker's default) so an event over it is refused when it is written, not found at publish time.
   * A broker that does not answer (no DESCRIBE_CONFIGS grant, an older cluster) leaves the configured
   * KAFKA_MAX_REQUEST_BYTES in force, with one warning.
   */
  async readTopicLimits(topics: readonly string[]): Promise<void> {
    if (!topics.length) return;
    const admin = this.kafka.admin();
    try {
      await admin.connect();
      const described = await admin.describeConfigs({
        includeSynonyms: false,
        resources: topics.map((name) => ({ type: ConfigResourceTypes.TOPIC, name, configNames: ['max.message.bytes'] })),
      });
      for (const r of described.resources) {
        const v = Number(r.configEntries.find((e) => e.configName === 'max.message.bytes')?.configValue);
        if (r.errorCode === 0 && Number.isInteger(v) && v > 0) this.topicLimits.set(r.resourceName, v);
      }
    } catch (err) {
      this.logger.warn('topic size limits not readable from the broker; KAFKA_MAX_REQUEST_BYTES applies', { err: String(err) });
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }

  /** Sends what is still queued or being encoded (lingering acks included, at once), then disconnects. */
  async disconnect(): Promise<void> {
    this.closing = true;
    if (this.queued && !this.flushing) this.flush();
    await Promise.allSettled([...this.publishing]);
    await this.flushed;
    await this.producer.disconnect();
  }

  /**
   * Resolves at once while fewer than `maxQueuedBytes` are queued, else once the queue has drained
   * to half of that: a caller that produces without waiting for each send (a consumer's acks) awaits
   * it to hold back instead of growing the queue without bound.
   */
  backpressure(): Promise<void> {
    if (this.queuedBytes < this.limits.maxQueuedBytes) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** Records waiting in either queue. */
  private get queued(): number {
    return this.first.length + this.queue.length;
  }

  /** Bytes queued or in flight (for tests and diagnostics). */
  get pendingBytes(): number {
    return this.queuedBytes;
  }

  /**
   * Encodes (Avro, Confluent wire format) and publishes events; resolves once Kafka acknowledged them
   * all. If some are refused (their own fault), rejects with RecordsRefusedError naming them; the
   * others were sent unless `othersFailed`.
   */
  publish(events: readonly OutgoingEvent[], opts: SendOptions = {}): Promise<void> {
    const done = this.encodeAndSend(events, opts);
    this.publishing.add(done);
    void done.finally(() => this.publishing.delete(done)).catch(() => undefined);
    return done;
  }

  private async encodeAndSend(events: readonly OutgoingEvent[], opts: SendOptions): Promise<void> {
    const encoded = await Promise.all(
      events.map(async (e) => ({
        topic: e.topic as string,
        message: {
          key: e.key,
          value: await this.schemas.encode(e.topic, e.value),
          headers: opts.lane ? { ...envelopeHeaders(e.value.envelope), [LANE_HEADER]: opts.lane } : envelopeHeaders(e.value.envelope),
        } satisfies Message,
      })),
    );
    const results = await Promise.allSettled(this.enqueue(encoded, { keep: false, ...opts }));
    const refused: { eventId: string; error: RecordRefusedError }[] = [];
    let other: unknown;
    results.forEach((r, i) => {
      if (r.status === 'fulfilled') return;
      if (r.reason instanceof RecordRefusedError) refused.push({ eventId: events[i].value.envelope.eventId, error: r.reason });
      else other ??= r.reason;
    });
    if (refused.length) throw new RecordsRefusedError(refused, other !== undefined);
    if (other !== undefined) throw other;
  }

  /** Publishes already-encoded records (retry and dead-letter copies keep the original bytes); kept until sent unless `keep: false`. */
  async sendRaw(topic: string, messages: Message[], opts: SendOptions = {}): Promise<void> {
    await Promise.all(
      this.enqueue(
        messages.map((message) => ({ topic, message })),
        { keep: true, ...opts },
      ),
    );
  }

  /** Queues records (refusing at once one over the request limit) and starts or schedules a flush. */
  private enqueue(records: { topic: string; message: Message }[], opts: SendOptions): Promise<void>[] {
    const sent = records.map(
      ({ topic, message }) =>
        new Promise<void>((resolve, reject) => {
          const bytes = recordBytes(message);
          const limit = this.recordLimit(topic);
          if (bytes > limit) {
            this.failures.note('error', 'record refused', 'refused', 'too_large', { topic, bytes, limit });
            return reject(new RecordRefusedError('too_large', true, `${bytes} bytes, over the ${limit}-byte limit of ${topic}`));
          }
          this.queuedBytes += bytes;
          const settle =
            <A extends unknown[]>(f: (...a: A) => void) =>
            (...a: A) => {
              this.release(bytes);
              f(...a);
            };
          (topic === FIRST_TOPIC ? this.first : this.queue).push({
            topic,
            message,
            bytes,
            keep: opts.keep === true,
            resolve: settle(resolve),
            reject: settle(reject),
          });
        }),
    );
    if (!this.flushing) {
      if (!opts.lingerMs || this.closing) this.flush();
      else
        this.lingerTimer ??= setTimeout(() => {
          this.lingerTimer = undefined;
          if (!this.flushing) this.flush();
        }, opts.lingerMs);
    }
    return sent;
  }

  private release(bytes: number): void {
    this.queuedBytes -= bytes;
    if (this.drainWaiters.length && this.queuedBytes <= this.limits.maxQueuedBytes / 2) {
      const waiters = this.drainWaiters;
      this.drainWaiters = [];
      waiters.forEach((w) => w());
    }
  }

  /** Starts sending the queue (the caller checked that no flush is running). */
  private flush(): void {
    if (!this.queued) return;
    this.flushing = true;
    clearTimeout(this.lingerTimer);
    this.lingerTimer = undefined;
    this.flushed = this.sendQueued();
  }

  private async sendQueued(): Promise<void> {
    try {
      while (this.queued) {
        if (this.retryDelayMs && !this.closing) await new Promise((r) => setTimeout(r, this.retryDelayMs));
        await this.sendIsolated(takeRequest(this.first.length ? this.first : this.queue, this.limits), false);
      }
    } finally {
      this.flushing = false;
    }
  }

  /** Sends one request; on failure recovers as the class header says. Never throws. */
  private async sendIsolated(batch: Pending[], afterReplacement: boolean): Promise<void> {
    try {
      await this.sendOnce(batch);
      this.retryDelayMs = 0;
      batch.forEach((p) => p.resolve());
      return;
    } catch (err) {
      const kind = failureKind(err);
      this.failures.note('error', 'publish failed', kind, reasonOf(err), {
        err: String(err),
        records: batch.length,
        topics: [...new Set(batch.map((p) => p.topic))],
      });
      if (kind === 'sequence' || kind === 'refused') await this.replaceProducer();
      if (kind === 'sequence' && !afterReplacement) return this.sendIsolated(batch, true);
      if (kind === 'refused') {
        if (batch.length === 1) return batch[0].reject(RecordRefusedError.fromBroker(err));
        const half = Math.ceil(batch.length / 2);
        await this.sendIsolated(batch.slice(0, half), false);
        return this.sendIsolated(batch.slice(half), false);
      }
      const kept = this.closing ? [] : batch.filter((p) => p.keep);
      for (const p of batch) if (!p.keep || this.closing) p.reject(err);
      if (kept.length) {
        // back to the front of the queue each came from, in order
        this.first = kept.filter((p) => p.topic === FIRST_TOPIC).concat(this.first);
        this.queue = kept.filter((p) => p.topic !== FIRST_TOPIC).concat(this.queue);
        this.retryDelayMs = Math.min(Math.max(RETRY_FIRST_MS, this.retryDelayMs * 2), RETRY_MAX_MS);
      }
    }
  }

  private async sendOnce(batch: Pending[]): Promise<void> {
    if (this.needsConnect) {
      await this.producer.connect();
      this.needsConnect = false;
    }
    const byTopic = new Map<string, Message[]>();
    for (const p of batch) {
      const list = byTopic.get(p.topic);
      if (list) list.push(p.message);
      else byTopic.set(p.topic, [p.message]);
    }
    await this.producer.sendBatch({ acks: -1, topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })) });
    for (const [topic, messages] of byTopic) this.metrics.produced.labels(topic).inc(messages.length);
  }

  /** A new producer (a new producer id, fresh sequence numbers) in place of one whose state is broken. */
  private async replaceProducer(): Promise<void> {
    const old = this.producer;
    this.producer = this.newProducer();
    this.needsConnect = true;
    this.replaced.inc();
    await old.disconnect().catch(() => undefined);
  }
}

/** Bytes of a record batch's own header (v2 format: 61), which `max.message.bytes` counts too. */
const BATCH_HEADER_BYTES = 61;

const reasonOf = (err: unknown): string =>
  (err instanceof RecordRefusedError ? err.reason : brokerErrorType(err)) ?? (err as Error)?.name ?? 'unknown';

/**
 * The envelope fields a reader needs without decoding the Avro value (the sync-monitor tracks from
 * them): eventId, type, producer, correlationId, aggregateId, occurredAt (epoch ms as a decimal
 * string), aggregateVersion and sourceChannel when there is one. The same values as the payload's
 * envelope; partner records bound their correlation id before it gets here.
 */
export function envelopeHeaders(env: EventEnvelope): Record<string, string> {
  const h: Record<string, string> = {
    eventId: env.eventId,
    correlationId: env.correlationId,
    type: env.type,
    producer: env.producer,
    aggregateId: env.aggregateId,
    occurredAt: String(env.occurredAt),
    aggregateVersion: String(env.aggregateVersion),
  };
  if (env.sourceChannel) h.sourceChannel = env.sourceChannel;
  return h;
}

export function headerString(headers: IHeaders | undefined, name: string): string | undefined {
  const v = headers?.[name];
  if (v === undefined) return undefined;
  const first = Array.isArray(v) ? v[0] : v;
  return first === undefined ? undefined : first.toString();
}
