import type { Admin, Consumer, Kafka } from 'kafkajs';
import { catalogue, deadLetterTopic, retryTopic, type TopicSpec } from '@omnimall/contracts';

/** Every topic the catalogue declares, plus `.retry` and `.dlq` for each topic that has consumers. */
export function plannedTopics(specs: readonly TopicSpec[] = catalogue): { topic: string; numPartitions: number; cleanup: string }[] {
  return specs.flatMap((t) => {
    const main = { topic: t.name, numPartitions: t.partitions, cleanup: t.cleanup };
    if (!t.consumers.length) return [main];
    return [
      main,
      { topic: retryTopic(t.name), numPartitions: t.partitions, cleanup: 'delete' },
      { topic: deadLetterTopic(t.name), numPartitions: 1, cleanup: 'delete' },
    ];
  });
}

/** Creates the missing topics of the catalogue (topic auto-creation is off on our brokers). Returns the names created. */
export async function ensureTopics(kafka: Kafka, specs: readonly TopicSpec[] = catalogue): Promise<string[]> {
  const admin: Admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = plannedTopics(specs).filter((t) => !existing.has(t.topic));
    if (missing.length) {
      await admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((t) => ({
          topic: t.topic,
          numPartitions: t.numPartitions,
          replicationFactor: 1,
          configEntries: [{ name: 'cleanup.policy', value: t.cleanup }],
        })),
      });
    }
    return missing.map((t) => t.topic);
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

/** Partitions for which the group has no committed offset yet (a new group). */
export async function uncommitted(kafka: Kafka, groupId: string, topics: string[]): Promise<Set<string>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const res = await admin.fetchOffsets({ groupId, topics });
    return new Set(res.flatMap((t) => t.partitions.filter((p) => Number(p.offset) < 0).map((p) => `${t.topic}/${p.partition}`)));
  } finally {
    await admin.disconnect();
  }
}

/**
 * Resolves when the consumer first joins its group, having moved it to `starts` (end offsets read
 * before joining) right then. Seeking from the join event rather than after run(): on a Kafka that
 * has just started, the first join attempt can fail (no group coordinator yet) and kafkajs restarts
 * the consumer, during which a seek throws "Consumer group was not initialized". Call before run().
 */
export function seekOnFirstJoin(
  consumer: Consumer,
  starts: readonly { topic: string; partition: number; offset: string }[],
): Promise<void> {
  return new Promise<void>((resolve) => {
    const off = consumer.on(consumer.events.GROUP_JOIN, () => {
      off();
      for (const o of starts) consumer.seek(o);
      resolve();
    });
  });
}
