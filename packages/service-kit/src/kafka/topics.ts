/**
 * Topics and group positions through Kafka's admin API: the catalogue's topics created where missing
 * (a `retentionHours` topic with `retention.ms`, set again on an existing topic that differs), and
 * where a new consumer group starts (end offsets read before it joins, so nothing published between
 * the join and its first fetch is skipped). A `table` topic gets no `.retry`/`.dlq`: the trust
 * reader neither retries nor dead-letters (it logs and skips what it cannot read).
 */
import { ConfigResourceTypes, type Admin, type Consumer, type Kafka } from 'kafkajs';
import { catalogue, deadLetterTopic, partnerOfTopic, retryTopic, type TopicSpec } from '@omnimall/contracts';

export interface PlannedTopic {
  topic: string;
  numPartitions: number;
  cleanup: string;
  /** `retention.ms` (from `retentionHours`); absent: the broker's default. */
  retentionMs?: number;
}

/** Every topic the catalogue declares, plus `.retry` and `.dlq` for each topic that has consumers (table topics excepted). */
export function plannedTopics(specs: readonly TopicSpec[] = catalogue): PlannedTopic[] {
  return specs.flatMap((t) => {
    const main = {
      topic: t.name,
      numPartitions: t.partitions,
      cleanup: t.cleanup,
      ...(t.retentionHours ? { retentionMs: t.retentionHours * 3_600_000 } : {}),
    };
    if (!t.consumers.length || t.table) return [main];
    return [
      main,
      { topic: retryTopic(t.name), numPartitions: t.partitions, cleanup: 'delete' },
      { topic: deadLetterTopic(t.name), numPartitions: 1, cleanup: 'delete' },
    ];
  });
}

const configEntriesOf = (t: PlannedTopic): { name: string; value: string }[] => [
  { name: 'cleanup.policy', value: t.cleanup },
  ...(t.retentionMs ? [{ name: 'retention.ms', value: String(t.retentionMs) }] : []),
];

/**
 * Creates the missing topics of the catalogue (topic auto-creation is off on our brokers), and sets
 * `retention.ms` again on an existing topic whose retention differs from its `retentionHours`.
 * Returns the names created.
 */
export async function ensureTopics(kafka: Kafka, specs: readonly TopicSpec[] = catalogue): Promise<string[]> {
  const admin: Admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const planned = plannedTopics(specs);
    const missing = planned.filter((t) => !existing.has(t.topic));
    if (missing.length) {
      await admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((t) => ({
          topic: t.topic,
          numPartitions: t.numPartitions,
          replicationFactor: 1,
          configEntries: configEntriesOf(t),
        })),
      });
    }
    await alignRetention(
      admin,
      planned.filter((t) => t.retentionMs && existing.has(t.topic)),
    );
    return missing.map((t) => t.topic);
  } finally {
    await admin.disconnect();
  }
}

/** Sets cleanup.policy and retention.ms of existing topics whose retention.ms is not the planned one. */
async function alignRetention(admin: Admin, topics: PlannedTopic[]): Promise<void> {
  if (!topics.length) return;
  const { resources } = await admin.describeConfigs({
    includeSynonyms: false,
    resources: topics.map((t) => ({ type: ConfigResourceTypes.TOPIC, name: t.topic, configNames: ['retention.ms'] })),
  });
  const current = new Map(
    resources.map((r) => [r.resourceName, r.configEntries.find((c) => c.configName === 'retention.ms')?.configValue]),
  );
  const stale = topics.filter((t) => current.get(t.topic) !== String(t.retentionMs));
  if (!stale.length) return;
  // AlterConfigs replaces a topic's dynamic configs as a whole: both ours are sent.
  await admin.alterConfigs({
    validateOnly: false,
    resources: stale.map((t) => ({ type: ConfigResourceTypes.TOPIC, name: t.topic, configEntries: configEntriesOf(t) })),
  });
}

/**
 * The partners' topics of a per-partner family that exist on the broker (and that this principal may
 * see), sorted: what a consumer of the family subscribes to. A partner added later is picked up at
 * the consumer's next start.
 */
export async function partnerTopicsOn(kafka: Kafka, family: string): Promise<string[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return (await admin.listTopics()).filter((t) => partnerOfTopic(t)?.family === family).sort();
  } finally {
    await admin.disconnect();
  }
}

/**
 * The current end offset of every partition of the topics, for a consumer about to start: kafkajs
 * resolves "latest" only at its first fetch, after the group join, so a record produced between the
 * join and that fetch would be skipped. Seeking to offsets taken before the join closes that gap.
 */
export async function endOffsets(kafka: Kafka, topics: string[]): Promise<{ topic: string; partition: number; offset: string }[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const out: { topic: string; partition: number; offset: string }[] = [];
    for (const topic of topics) {
      for (const p of await admin.fetchTopicOffsets(topic)) out.push({ topic, partition: p.partition, offset: p.offset });
    }
    return out;
  } finally {
    await admin.disconnect();
  }
}

/**
 * Runs a group-coordinator call again while Kafka answers with a retriable error: right after a
 * broker starts, `__consumer_offsets` is created and loaded, and until then coordinator requests are
 * refused (NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS...). kafkajs' admin does not retry those.
 */
export async function withCoordinatorRetry<T>(work: () => Promise<T>, attempts = 20): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await work();
    } catch (err) {
      if (i >= attempts || (err as { retriable?: boolean }).retriable !== true) throw err;
      await new Promise((r) => setTimeout(r, Math.min(100 * i, 1000)));
    }
  }
}

/** Partitions for which the group has no committed offset yet (a new group). */
export async function uncommitted(kafka: Kafka, groupId: string, topics: string[]): Promise<Set<string>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const res = await withCoordinatorRetry(() => admin.fetchOffsets({ groupId, topics }));
    return new Set(res.flatMap((t) => t.partitions.filter((p) => Number(p.offset) < 0).map((p) => `${t.topic}/${p.partition}`)));
  } finally {
    await admin.disconnect();
  }
}

/** Waits until the group coordinator answers (creating `__consumer_offsets` on a new broker). */
export async function awaitGroupCoordinator(kafka: Kafka): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await withCoordinatorRetry(() => admin.fetchOffsets({ groupId: 'omnimall-coordinator-probe', topics: [] }), 60);
  } finally {
    await admin.disconnect();
  }
}

/**
 * Resolves when the consumer first joins its group, having moved it to `starts` (end offsets read
 * before joining) right then; see below for later joins. Seeking from the join event rather than after run(): on a Kafka that
 * has just started, the first join attempt can fail (no group coordinator yet) and kafkajs restarts
 * the consumer, during which a seek throws "Consumer group was not initialized". Call before run().
 * Later joins (a restart after a crash, a rebalance) seek again the partitions `committed` does not
 * name: a group with no committed offset there would otherwise start at the end and skip what was
 * published since `starts` was read. Replaying from `starts` instead is safe: consumers are effect-once.
 */
export function seekStartsOnJoin(
  consumer: Consumer,
  starts: readonly { topic: string; partition: number; offset: string }[],
  committed: (topic: string, partition: number) => boolean = () => false,
): Promise<void> {
  let first = true;
  return new Promise<void>((resolve) => {
    consumer.on(consumer.events.GROUP_JOIN, () => {
      for (const o of starts) if (first || !committed(o.topic, o.partition)) consumer.seek(o);
      first = false;
      resolve();
    });
  });
}

/**
 * A reader's own position in each partition, for a consumer that commits no offsets (a recorder, the
 * trust reader): `passed` after each record, `seekAll` on each join. kafkajs resumes a rejoining
 * member from its group's committed offsets, so without this a broker restart sends such a reader
 * back to its `fromBeginning` choice: the whole history again, or the latest offset, skipping what
 * was appended before it rejoined. Partitions never read keep that choice (or `from`, when given).
 */
export class OwnPositions {
  private readonly next = new Map<string, { topic: string; partition: number; offset: string }>();

  constructor(from: readonly { topic: string; partition: number; offset: string }[] = []) {
    for (const o of from) this.next.set(`${o.topic}/${o.partition}`, o);
  }

  /** The record at `offset` was read: a later join resumes after it. */
  passed(topic: string, partition: number, offset: string): void {
    this.next.set(`${topic}/${partition}`, { topic, partition, offset: (BigInt(offset) + 1n).toString() });
  }

  /** Seeks every known partition to its position; call from the consumer's GROUP_JOIN event. */
  seekAll(consumer: Pick<Consumer, 'seek'>): void {
    for (const o of this.next.values()) consumer.seek(o);
  }

  /** Seeks to these positions on every join of `consumer` (call before run()); resolves at the first join. */
  seekOnEveryJoin(consumer: Pick<Consumer, 'seek' | 'on' | 'events'>): Promise<void> {
    return new Promise<void>((resolve) =>
      consumer.on(consumer.events.GROUP_JOIN, () => {
        this.seekAll(consumer);
        resolve();
      }),
    );
  }
}

/** Deletes a consumer group, best effort: a group left behind holds only committed offsets, and Kafka expires those in time. */
export async function deleteGroupQuietly(kafka: Kafka, group: string, logger: { warn(msg: string, meta?: object): void }): Promise<void> {
  const admin = kafka.admin();
  try {
    await admin.connect();
    await admin.deleteGroups([group]);
  } catch (err) {
    logger.warn('could not delete the consumer group', { group, err: String(err) });
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}
