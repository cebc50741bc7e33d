/**
 * The one Kafka producer of a service: idempotent, ordered, group-committed sends (see EventPublisher).
 */
import { Partitioners, type IHeaders, type Kafka, type Message, type Producer } from 'kafkajs';
import type { Logger } from '../observability/logger';
import type { ServiceMetrics } from '../observability/metrics';
import type { OutgoingEvent } from '../events/envelope';
import type { EventSchemas } from '../events/schema-registry';

export interface SendOptions {
  /** Wait up to this long for other sends to share the request (default 0: send at once). */
  lingerMs?: number;
}

interface Pending {
  topic: string;
  messages: Message[];
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * The one Kafka producer of a service.
 *
 * Guarantee made here: kafkajs' idempotent producer (acks from all in-sync replicas, one request in
 * flight, unlimited retries) writes each send at most once per producer session and in order, so a
 * broker-side retry never duplicates or reorders. Across a crash, duplicates are possible (the outbox
 * republishes what it had not yet marked published); consumers remove them by eventId.
 *
 * Sends are group-committed: whatever callers queue while one request is in flight goes out in the
 * next single sendBatch, which keeps latency low at high rates without a linger timer. A send may
 * instead ask to linger (telemetry such as propagation acks): it waits up to `lingerMs` for another
 * send to ride along with, since on a small broker every produce request costs about as much CPU as
 * the records in it. A send that does not linger takes every queued one with it.
 */
export class EventPublisher {
  private readonly producer: Producer;
  private queue: Pending[] = [];
  private flushing = false;
  private lingerTimer?: NodeJS.Timeout;
  /** The flush in progress (or the last one). */
  private flushed: Promise<void> = Promise.resolve();
  /** Publishes not settled yet (some may still be encoding). */
  private readonly publishing = new Set<Promise<void>>();
  private closing = false;

  constructor(
    kafka: Kafka,
    private readonly schemas: EventSchemas,
    private readonly metrics: ServiceMetrics,
    private readonly logger: Logger,
  ) {
    this.producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      // Murmur2 on the key, as the Java client does: partner producers and we agree on partitions.
      createPartitioner: Partitioners.DefaultPartitioner,
      retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 100, maxRetryTime: 2000 },
    });
  }

  connect(): Promise<void> {
    return this.producer.connect();
  }

  /** Sends what is still queued or being encoded (lingering acks included, at once), then disconnects. */
  async disconnect(): Promise<void> {
    this.closing = true;
    if (this.queue.length && !this.flushing) this.flush();
    await Promise.allSettled([...this.publishing]);
    await this.flushed;
    await this.producer.disconnect();
  }

  /** Encodes (Avro, Confluent wire format) and publishes events; resolves once Kafka acknowledged them all. */
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
          headers: {
            eventId: e.value.envelope.eventId,
            correlationId: e.value.envelope.correlationId,
            type: e.value.envelope.type,
            producer: e.value.envelope.producer,
          },
        } satisfies Message,
      })),
    );
    await Promise.all(encoded.map((e) => this.sendRaw(e.topic, [e.message], opts)));
  }

  /** Publishes already-encoded records (retry and dead-letter copies keep the original bytes). */
  sendRaw(topic: string, messages: Message[], opts: SendOptions = {}): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ topic, messages, resolve, reject });
      if (this.flushing) return;
      if (!opts.lingerMs || this.closing) return this.flush();
      this.lingerTimer ??= setTimeout(() => {
        this.lingerTimer = undefined;
        if (!this.flushing) this.flush();
      }, opts.lingerMs);
    });
  }

  /** Starts sending the queue (the caller checked that no flush is running). */
  private flush(): void {
    this.flushing = true;
    clearTimeout(this.lingerTimer);
    this.lingerTimer = undefined;
    this.flushed = this.sendQueued();
  }

  private async sendQueued(): Promise<void> {
    try {
      while (this.queue.length) {
        const batch = this.queue;
        this.queue = [];
        const byTopic = new Map<string, Message[]>();
        for (const p of batch) {
          const list = byTopic.get(p.topic);
          if (list) list.push(...p.messages);
          else byTopic.set(p.topic, [...p.messages]);
        }
        try {
          await this.producer.sendBatch({ acks: -1, topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })) });
          for (const [topic, messages] of byTopic) this.metrics.produced.labels(topic).inc(messages.length);
          batch.forEach((p) => p.resolve());
        } catch (err) {
          this.logger.error('publish failed', { err: String(err), topics: [...byTopic.keys()] });
          batch.forEach((p) => p.reject(err));
        }
      }
    } finally {
      this.flushing = false;
    }
  }
}

export function headerString(headers: IHeaders | undefined, name: string): string | undefined {
  const v = headers?.[name];
  if (v === undefined) return undefined;
  const first = Array.isArray(v) ? v[0] : v;
  return first === undefined ? undefined : first.toString();
}
