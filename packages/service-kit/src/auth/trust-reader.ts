/**
 * The trust reader: feeds a TrustState from the table topics a service consumes (signing keys, staff
 * changes, session revocations, channel credentials), one kafkajs consumer per service instance.
 *
 * Guarantees:
 * - every instance reads each table topic whole: its own group (`<service>.trust.<instance>.<random>`
 *   plus the test suffix), from the beginning, never committing offsets, deleted at stop (a crash
 *   leaves only an empty group, which Kafka expires); a restart of the consumer reads again from the
 *   beginning, which the state absorbs (the newest `changedAt` wins); a rejoin after a broker restart
 *   resumes where this reader was (OwnPositions) with the kit's bounded backoff, so a ban or a
 *   revoked session made right after the restart is applied within about a second;
 * - the state is ready once every partition is read up to the end offset it had when the reader
 *   started (an empty partition at once); `trust.ready()` resolves then;
 * - a record that does not decode as its topic's schema, or that the state refuses (a signing key
 *   whose kid is not its thumbprint...), is logged and skipped: it cannot stop the reader or hold up
 *   readiness; nothing is acknowledged on sync.applied and nothing goes to `.retry` or `.dlq`.
 */
import { randomUUID } from 'node:crypto';
import type { Consumer, Kafka } from 'kafkajs';
import type { Logger } from '../observability/logger';
import type { EventSchemas } from '../events/schema-registry';
import { deleteGroupQuietly, OwnPositions } from '../kafka/topics';
import { consumerConfig } from '../events/consumer/settings';
import type { TrustState } from './trust';

export interface TrustReaderOptions {
  kafka: Kafka;
  schemas: Pick<EventSchemas, 'decodeFrom'>;
  logger: Logger;
  trust: TrustState;
  /** The table topics to read (the service's consumed topics with `table: true`). */
  topics: string[];
  /** The consumer group (unique per process); see trustGroupId. */
  group: string;
}

/** `<service>.trust.<instance>.<random><suffix>`: never shared, so each instance reads every partition. */
export function trustGroupId(service: string, instanceId: string, suffix = ''): string {
  return `${service}.trust.${instanceId}.${randomUUID().slice(0, 8)}${suffix}`;
}

export class TrustReader {
  private consumer?: Consumer;
  /** `topic/partition` → the offset to reach (end offset at start); removed once reached. */
  private readonly pending = new Map<string, number>();
  private stopped = false;
  /** Where a rejoin resumes (nothing is committed: without this a broker restart reads everything again). */
  private readonly positions = new OwnPositions();
  /** Records skipped because they could not be read or trusted. */
  skipped = 0;

  constructor(private readonly opts: TrustReaderOptions) {}

  /** Joins and starts reading; resolves once joined. `trust.ready()` resolves once caught up. */
  async start(): Promise<void> {
    const { kafka, topics, trust, group } = this.opts;
    if (!topics.length) return trust.markReady();
    const admin = kafka.admin();
    await admin.connect();
    try {
      for (const topic of topics)
        for (const p of await admin.fetchTopicOffsets(topic))
          if (Number(p.high) > Number(p.low)) this.pending.set(`${topic}/${p.partition}`, Number(p.high));
    } finally {
      await admin.disconnect();
    }
    if (!this.pending.size) trust.markReady();
    // The kit's member settings (bounded backoff: back within about a second of a broker restart).
    const consumer = kafka.consumer(
      consumerConfig(group, (err) => this.opts.logger.warn('trust reader restarting after a broker failure', { group, err: String(err) }), {
        minBytes: 1,
        maxWaitMs: 500,
      }),
    );
    this.consumer = consumer;
    await consumer.connect();
    await consumer.subscribe({ topics, fromBeginning: true });
    const joined = this.positions.seekOnEveryJoin(consumer);
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ topic, partition, message }) => {
        if (this.stopped) return;
        await this.read(topic, message.key?.toString('utf8') ?? null, message.value);
        this.positions.passed(topic, partition, message.offset);
        this.reached(`${topic}/${partition}`, Number(message.offset) + 1);
      },
    });
    await joined;
  }

  private async read(topic: string, key: string | null, value: Buffer | null): Promise<void> {
    try {
      const decoded = value === null ? null : await this.opts.schemas.decodeFrom<unknown>(topic, value);
      await this.opts.trust.apply(topic, key, decoded);
    } catch (err) {
      this.skipped++;
      this.opts.logger.error('trust record skipped: it cannot be read or trusted', { topic, key, err: String(err) });
    }
  }

  private reached(partition: string, next: number): void {
    const target = this.pending.get(partition);
    if (target === undefined || next < target) return;
    this.pending.delete(partition);
    if (!this.pending.size) this.opts.trust.markReady();
  }

  /** Stops reading and deletes the group (best effort: an empty group expires on its own). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (!this.consumer) return;
    await this.consumer.disconnect().catch(() => undefined);
    await deleteGroupQuietly(this.opts.kafka, this.opts.group, this.opts.logger);
  }
}
