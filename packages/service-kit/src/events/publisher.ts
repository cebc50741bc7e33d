import { Partitioners, type IHeaders, type Kafka, type Message, type Producer } from 'kafkajs';
import type { Logger } from '../logger';
import type { ServiceMetrics } from '../metrics';
import type { OutgoingEvent } from './envelope';
import type { EventSchemas } from './schema-registry';

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
 * next single sendBatch, which keeps latency low at high rates without a linger timer.
 */
export class EventPublisher {
  private readonly producer: Producer;
  private queue: Pending[] = [];
  private flushing = false;

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

  disconnect(): Promise<void> {
    return this.producer.disconnect();
  }

  /** Encodes (Avro, Confluent wire format) and publishes events; resolves once Kafka acknowledged them all. */
  async publish(events: readonly OutgoingEvent[]): Promise<void> {
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
    await Promise.all(encoded.map((e) => this.sendRaw(e.topic, [e.message])));
  }

  /** Publishes already-encoded records (retry and dead-letter copies keep the original bytes). */
  sendRaw(topic: string, messages: Message[]): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ topic, messages, resolve, reject });
      if (!this.flushing) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    try {
      while (this.queue.length) {
        const batch = this.queue;
        this.queue = [];
        const byTopic = new Map<string, Message[]>();
        for (const p of batch) byTopic.set(p.topic, [...(byTopic.get(p.topic) ?? []), ...p.messages]);
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
