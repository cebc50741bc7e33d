/**
 * Kafka-backed persistence: a compacted one-partition topic is the source of truth.
 * `load()` replays it from the beginning to the end offset seen at start; `update()` runs one change
 * at a time: plan records from the current state, produce them with acks=-1, then apply them.
 */
import { Admin, Kafka, Partitioners, Producer } from 'kafkajs';
import { LogRecord, RegistryState } from './state';

export interface StoreOptions {
  topic: string;
  /** Upper bound for the start-up replay. */
  loadTimeoutMs: number;
  log: (message: string) => void;
}

export class KafkaStore {
  readonly state = new RegistryState();
  private readonly admin: Admin;
  private readonly producer: Producer;
  private tail: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly kafka: Kafka,
    private readonly options: StoreOptions,
  ) {
    this.admin = kafka.admin();
    this.producer = kafka.producer({
      createPartitioner: Partitioners.DefaultPartitioner,
      allowAutoTopicCreation: false,
      maxInFlightRequests: 1,
    });
  }

  async load(): Promise<void> {
    await this.admin.connect();
    await this.ensureTopic();
    await this.producer.connect();
    const count = await this.replay();
    this.options.log(`loaded ${count} records from ${this.options.topic}`);
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.producer.disconnect(), this.admin.disconnect()]);
  }

  /**
   * Serialised write. `plan` reads the state and returns the records to append plus the result to
   * hand back; it may throw (e.g. a RegistryError) to refuse the change without writing anything.
   */
  update<T>(plan: (state: RegistryState) => { records: LogRecord[]; result: T }): Promise<T> {
    const run = this.tail.then(async () => {
      const { records, result } = plan(this.state);
      if (records.length > 0) {
        await this.producer.send({ topic: this.options.topic, acks: -1, messages: records });
        for (const record of records) this.state.apply(record);
      }
      return result;
    });
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async ensureTopic(): Promise<void> {
    const { topic } = this.options;
    // Asking first keeps kafkajs from logging a TOPIC_ALREADY_EXISTS error on every start.
    if (!(await this.admin.listTopics()).includes(topic)) {
      const created = await this.admin.createTopics({
        waitForLeaders: true,
        topics: [{ topic, numPartitions: 1, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }],
      });
      if (created) this.options.log(`created topic ${topic} (1 partition, cleanup.policy=compact)`);
    }
    const offsets = await this.admin.fetchTopicOffsets(topic);
    if (offsets.length !== 1) {
      throw new Error(`topic ${topic} has ${offsets.length} partitions; the registry needs exactly 1`);
    }
  }

  /** Reads the topic from its start up to the end offset observed now; returns the record count. */
  private async replay(): Promise<number> {
    const { topic, loadTimeoutMs } = this.options;
    const [{ low, high }] = await this.admin.fetchTopicOffsets(topic);
    const end = BigInt(high);
    if (end <= BigInt(low)) return 0;

    // A throwaway group that never commits (every start reads from the beginning), deleted afterwards.
    const groupId = `local-schema-registry-load-${process.pid}-${Date.now()}`;
    const consumer = this.kafka.consumer({ groupId });
    let count = 0;
    try {
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`replay of ${topic} did not reach offset ${end} within ${loadTimeoutMs} ms`)),
          loadTimeoutMs,
        );
        consumer.on(consumer.events.CRASH, ({ payload }) => {
          // A retriable error (the group coordinator still loading offsets right after Kafka
          // started, say) is retried by kafkajs itself; only a crash it gives up on ends the start.
          if (payload.restart) return;
          clearTimeout(timer);
          reject(payload.error);
        });
        consumer
          .run({
            autoCommit: false,
            eachBatch: async ({ batch }) => {
              for (const message of batch.messages) {
                if (message.key === null) continue;
                const record = { key: message.key.toString(), value: message.value?.toString() ?? null };
                if (this.state.apply(record)) count++;
                else this.options.log(`skipped unreadable record at offset ${message.offset}: ${record.key}`);
              }
              if (BigInt(batch.lastOffset()) + 1n >= end) {
                clearTimeout(timer);
                resolve();
              }
            },
          })
          .catch(reject);
      });
    } finally {
      await consumer.disconnect();
      await this.admin.deleteGroups([groupId]).catch(() => undefined);
    }
    return count;
  }
}
