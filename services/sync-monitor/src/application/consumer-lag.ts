import type { Kafka } from 'kafkajs';
import { partitionLag, type PartitionLag } from '../domain/consumer-lag';
import { LagHistory } from '../domain/series';
import type { MonitorMetrics } from '../metrics';
import { Periodic } from '@omnimall/service-kit';

export interface LagSnapshot {
  at: number | null;
  partitions: PartitionLag[];
  groups: { group: string; topic: string; lag: number }[];
}

/**
 * Consumer-group lag from Kafka: committed offsets (admin.fetchOffsets) against end offsets
 * (admin.fetchTopicOffsets), per group and partition, for the groups seen acknowledging topics.
 */
export class ConsumerLag {
  private snapshot: LagSnapshot = { at: null, partitions: [], groups: [] };
  /** The measurements of the last hour (the dashboard's chart). */
  readonly history = new LagHistory();
  private loop?: Periodic;
  private running?: Promise<LagSnapshot>;

  constructor(
    private readonly kafka: Kafka,
    private readonly groups: () => Map<string, Set<string>>,
    private readonly metrics: MonitorMetrics,
  ) {}

  latest(): LagSnapshot {
    return this.snapshot;
  }

  refresh(): Promise<LagSnapshot> {
    this.running ??= this.measure().finally(() => (this.running = undefined));
    return this.running;
  }

  private async measure(): Promise<LagSnapshot> {
    const byGroup = new Map<string, string[]>();
    for (const [topic, groups] of this.groups()) for (const g of groups) byGroup.set(g, [...(byGroup.get(g) ?? []), topic]);
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const ends = new Map<string, Map<number, { high: string; low: string }>>();
      const endsOf = async (topic: string): Promise<Map<number, { high: string; low: string }>> => {
        let m = ends.get(topic);
        if (!m) {
          m = new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, { high: p.high, low: p.low }]));
          ends.set(topic, m);
        }
        return m;
      };
      const partitions: PartitionLag[] = [];
      for (const [group, topics] of byGroup) {
        const committed = await admin.fetchOffsets({ groupId: group, topics });
        for (const t of committed) {
          const e = await endsOf(t.topic);
          for (const p of t.partitions) {
            const end = e.get(p.partition);
            if (end) partitions.push(partitionLag(group, t.topic, p.partition, p.offset, end.high, end.low));
          }
        }
      }
      this.metrics.consumerLag.reset();
      for (const p of partitions) this.metrics.consumerLag.labels(p.group, p.topic, String(p.partition)).set(p.lag);
      const totals = new Map<string, { group: string; topic: string; lag: number }>();
      for (const p of partitions) {
        const k = `${p.group}|${p.topic}`;
        const cur = totals.get(k) ?? { group: p.group, topic: p.topic, lag: 0 };
        cur.lag += p.lag;
        totals.set(k, cur);
      }
      const at = Date.now();
      this.snapshot = { at, partitions, groups: [...totals.values()] };
      this.history.record(at, this.snapshot.groups);
      return this.snapshot;
    } finally {
      await admin.disconnect();
    }
  }

  /** Measures every `intervalMs` until stopped (a failed measurement is passed to `onError`). */
  start(intervalMs: number, onError: (err: unknown) => void): void {
    this.loop = new Periodic(() => this.refresh(), onError);
    this.loop.start(intervalMs);
  }

  async stop(): Promise<void> {
    await this.loop?.stop();
    await this.running?.catch(() => undefined);
  }
}
