/**
 * What the consumers said and what the producers published, read from the broker itself: a recorder
 * (its own group, from the end) on `sync.applied` and on the business topics a crash test watches,
 * decoded through the schema registry. The acks are the platform's record of effects: one `applied`
 * ack per consumer group and event, and `skipped_duplicate` for a re-delivery.
 *
 * Guarantees: each record is decoded once (cached by topic/partition/offset); `appliedTwice()` lists
 * every (group, event) with more than one `applied` ack (distinct acks: a record of the same ack
 * written twice counts once) — effect-once broken; `published(topic)` gives
 * each copy of each event on the topic with the broker's append time, so a re-publication shows as a
 * second copy of the same event id.
 */
import type { Kafka } from 'kafkajs';
import type { SyncApplied } from '@omnimall/contracts';
import { EventSchemas, ServiceMetrics } from '@omnimall/service-kit';
import { TopicRecorder, type Collected } from '@omnimall/service-kit/testing';

export interface Published {
  eventId: string;
  type: string;
  aggregateId: string | null;
  correlationId: string | null;
  occurredAt: number;
  /** When the broker appended this copy (the record's timestamp). */
  appendedAt: number;
  offset: string;
  partition: number;
}

interface Envelope {
  envelope: { eventId: string; type: string; aggregateId: string | null; correlationId?: string | null; occurredAt: number };
}

export class AckLog {
  private readonly recorder: TopicRecorder;
  private readonly schemas: EventSchemas;
  private readonly decoded = new Map<string, unknown>();

  constructor(
    kafka: Kafka,
    private readonly topics: string[],
  ) {
    this.recorder = new TopicRecorder(kafka, ['sync.applied', ...topics]);
    const user = process.env.SCHEMA_REGISTRY_USER;
    const password = process.env.SCHEMA_REGISTRY_PASSWORD;
    this.schemas = new EventSchemas(
      process.env.SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:8081',
      new ServiceMetrics('e2e-crash-observer'),
      user && password ? { username: user, password } : undefined,
    );
  }

  async start(): Promise<this> {
    await this.recorder.start();
    return this;
  }

  stop(): Promise<void> {
    return this.recorder.stop();
  }

  private async decode<T>(r: Collected): Promise<T> {
    const key = `${r.topic}/${r.partition}/${r.message.offset}`;
    if (!this.decoded.has(key)) this.decoded.set(key, await this.schemas.decode(r.message.value!));
    return this.decoded.get(key) as T;
  }

  /** Every ack recorded so far (optionally of one event). */
  async acks(eventId?: string): Promise<SyncApplied[]> {
    const mine = this.recorder.where((r) => r.topic === 'sync.applied' && (!eventId || r.message.key?.toString() === eventId));
    return Promise.all(mine.map((r) => this.decode<SyncApplied>(r)));
  }

  /** Every copy of every event published on `topic` so far, in arrival order. */
  async published(topic: string): Promise<Published[]> {
    const mine = this.recorder.where((r) => r.topic === topic);
    return Promise.all(
      mine.map(async (r) => {
        const { envelope: e } = await this.decode<Envelope>(r);
        return {
          eventId: e.eventId,
          type: e.type,
          aggregateId: e.aggregateId,
          correlationId: e.correlationId ?? null,
          occurredAt: Number(e.occurredAt),
          appendedAt: Number(r.message.timestamp),
          offset: r.message.offset,
          partition: r.partition,
        };
      }),
    );
  }

  /** (group, event) pairs applied more than once: each a broken effect-once guarantee. */
  async appliedTwice(): Promise<Array<{ group: string; eventId: string; applied: number }>> {
    // An ack record written twice (the publisher sends a kept ack again when the broker's reply was
    // lost, e.g. the broker was killed after the append) is one ack: counted by its own event id.
    const applied = new Map<string, Set<string>>();
    for (const a of await this.acks()) {
      if (a.outcome !== 'applied') continue;
      const k = `${a.consumer} ${a.ackedEventId}`;
      const ids = applied.get(k) ?? new Set<string>();
      ids.add(a.envelope.eventId);
      applied.set(k, ids);
    }
    const count = new Map([...applied].map(([k, ids]) => [k, ids.size]));
    return [...count]
      .filter(([, n]) => n > 1)
      .map(([k, applied]) => {
        const [group, eventId] = k.split(' ');
        return { group, eventId, applied };
      });
  }
}
