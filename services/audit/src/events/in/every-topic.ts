/**
 * The audit's one reader: every topic on the broker (business topics, their `.retry` and `.dlq`
 * siblings, `sync.*`, partners' topics), raw, in one consumer group (`audit.evidence`), a batch of one
 * partition at a time, each record decoded where it can be (an undecodable one is evidence too) and
 * chained into the log. Not the kit's effect-once consumer: the audit acknowledges nothing, retries
 * nothing and dead-letters nothing (a record it cannot decode is recorded as it is), and its position
 * is the log's own: on every join each partition is moved to the offset after the last one chained,
 * so Kafka's committed offsets only inform the lag metrics.
 *
 * Not read: Kafka's internal topics (`_schemas`, `__consumer_offsets`), `platform.probe` and its
 * siblings (benchmark traffic), `audit.checkpoint` (the log's own checkpoints: recording them would
 * make every checkpoint the reason for the next) and `platform.job-progress` (a running job's
 * progress once a second: telemetry, not evidence — a job's outcome is in its service's own events). A topic created after the start (a new
 * partner) is read from the next start.
 */
import type { Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import { consumerConfig, endOffsets, uncommitted, type EventSchemas, type Logger } from '@omnimall/service-kit';
import { baseTopic, evidenceOf, type Decoded, type RawRecord } from '../../domain/records';
import type { Appendable, AuditLog } from '../../application/log';
import type { StoredEvidence } from '../../store/evidence';

const NOT_READ = new Set(['platform.probe', 'audit.checkpoint', 'platform.job-progress']);

/** Whether the audit reads a topic found on the broker. */
export function auditable(topic: string): boolean {
  return !topic.startsWith('_') && !NOT_READ.has(baseTopic(topic));
}

export interface EveryTopicOptions {
  kafka: Kafka;
  schemas: Pick<EventSchemas, 'decode'>;
  log: AuditLog;
  logger: Logger;
  group: string;
  fromBeginning: boolean;
  /** Restricts the topics read (tests); default every auditable topic on the broker. */
  topics?: (topic: string) => boolean;
  /** Called with each appended batch (metrics, the incident feed). */
  onRecorded?: (records: readonly StoredEvidence[]) => Promise<void> | void;
  /** Called after a batch failed to be recorded (it is read again). */
  onFailure?: (err: unknown) => void;
}

const headersOf = (headers: Record<string, unknown> | undefined): Record<string, string> => {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers ?? {})) {
    const value = Array.isArray(v) ? v[0] : v;
    if (value !== undefined && value !== null) out[k] = Buffer.isBuffer(value) ? value.toString('utf8') : String(value);
  }
  return out;
};

export class EveryTopicReader {
  private consumer?: Consumer;
  private stopped = false;
  private topicsRead: string[] = [];
  private caughtUp = 0;

  constructor(private readonly opts: EveryTopicOptions) {}

  /** The topics this reader subscribed to. */
  get topics(): readonly string[] {
    return this.topicsRead;
  }

  /** Subscribes and resolves once the group has been joined (records produced afterwards are read). */
  async start(): Promise<void> {
    const { kafka, logger, group } = this.opts;
    const admin = kafka.admin();
    await admin.connect();
    let all: string[];
    try {
      all = await admin.listTopics();
    } finally {
      await admin.disconnect();
    }
    const wanted = this.opts.topics ?? (() => true);
    this.topicsRead = all.filter((t) => auditable(t) && wanted(t)).sort();
    // a new group starting "from now": the end offsets read before it joins (kafkajs resolves latest only at its first fetch)
    const fresh = this.opts.fromBeginning ? new Set<string>() : await uncommitted(kafka, group, this.topicsRead);
    const starts = fresh.size ? (await endOffsets(kafka, this.topicsRead)).filter((o) => fresh.has(`${o.topic}/${o.partition}`)) : [];
    const consumer = kafka.consumer(
      consumerConfig(group, (err) => logger.warn('audit reader restarting after a broker failure', { group, err: String(err) }), {
        minBytes: 1,
        maxWaitMs: 250,
      }),
    );
    this.consumer = consumer;
    await consumer.connect();
    await consumer.subscribe({ topics: this.topicsRead, fromBeginning: this.opts.fromBeginning });
    let first = true;
    const joined = new Promise<void>((resolve) => {
      consumer.on(consumer.events.GROUP_JOIN, () => {
        // the log's own positions win over Kafka's committed offsets; unknown partitions of a new group start at the end read above
        for (const o of starts) if (this.opts.log.lastOffset(o.topic, o.partition) === undefined && first) consumer.seek(o);
        const read = new Set(this.topicsRead);
        for (const p of this.opts.log.positions())
          if (read.has(p.topic)) consumer.seek({ topic: p.topic, partition: p.partition, offset: (BigInt(p.offset) + 1n).toString() });
        first = false;
        resolve();
      });
    });
    await consumer.run({
      autoCommit: true,
      autoCommitInterval: 1000,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 1,
      eachBatch: (payload) => this.onBatch(payload),
    });
    await joined;
    logger.info('audit reader joined', { group, topics: this.topicsRead.length });
  }

  private async onBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    if (this.stopped || !isRunning() || isStale() || !batch.messages.length) return;
    const recordedAt = Date.now();
    const items: Appendable[] = await Promise.all(
      batch.messages.map(async (m) => {
        const raw: RawRecord = {
          topic: batch.topic,
          partition: batch.partition,
          offset: m.offset,
          timestamp: Number(m.timestamp),
          key: m.key ? m.key.toString('utf8') : null,
          headers: headersOf(m.headers as Record<string, unknown>),
          value: m.value,
        };
        const decoded = await this.decode(m.value);
        const { kind, ...input } = evidenceOf(raw, decoded, recordedAt);
        return { input, kind, ts: raw.timestamp };
      }),
    );
    let recorded: StoredEvidence[];
    try {
      recorded = await this.opts.log.append(batch.topic, batch.partition, items);
    } catch (err) {
      this.opts.onFailure?.(err);
      // not resolved: the batch is fetched again (the log skips what it chained already)
      throw err;
    }
    resolveOffset(batch.lastOffset());
    await heartbeat();
    if (batch.offsetLag() === '0') this.caughtUp = Date.now();
    if (recorded.length) await this.opts.onRecorded?.(recorded);
  }

  private async decode(value: Buffer | null): Promise<Decoded> {
    if (value === null) return { value: null, error: 'no value (tombstone or omitted)' };
    try {
      return { value: await this.opts.schemas.decode<Record<string, unknown>>(value) };
    } catch (err) {
      return { value: null, error: String(err).slice(0, 500) };
    }
  }

  /** When a batch last left a partition with nothing more to read (0: never). */
  lastCaughtUpAt(): number {
    return this.caughtUp;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.consumer?.disconnect();
  }
}
