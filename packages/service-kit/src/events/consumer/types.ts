/**
 * What a consumer is given (options, dependencies, handlers) and what a handler sees (EventContext).
 * Types only: the stages that use them are in the files next to this one.
 */
import type { Kafka, KafkaMessage } from 'kafkajs';
import type { Connection, FilterQuery, Model, UpdateQuery } from 'mongoose';
import type { EventEnvelope, TopicName, TopicValues } from '@omnimall/contracts';
import type { Logger } from '../../observability/logger';
import type { ServiceMetrics } from '../../observability/metrics';
import type { ApplyOnceOptions } from '../../mongo/effect-once';
import type { WriteBatcher } from '../../mongo/write-batcher';
import type { EventPublisher } from '../../kafka/publisher';
import type { EventSchemas } from '../schema-registry';

export type Outcome = 'applied' | 'skipped_duplicate' | 'failed' | 'dead_lettered';

export interface EventContext {
  topic: string;
  partition: number;
  offset: string;
  envelope: EventEnvelope;
  attempt: number;
  consumer: string;
  logger: Logger;
  /** Channel the effect applies to, reported in the propagation ack (defaults to the event's source channel). */
  channel: string | null;
  /** Applies a single-document update at most once for this event (see mongo/effect-once.ts). */
  applyOnce<T>(model: Model<T>, filter: FilterQuery<T>, update: UpdateQuery<T>, opts?: ApplyOnceOptions): Promise<boolean>;
  /** Marks the event as a duplicate the handler recognised on its own. */
  skip(): void;
  /** The record as read from Kafka (original bytes, key and headers), for services that re-deliver it. */
  record?: KafkaMessage;
}

export type EventHandler<T extends TopicName> = (value: TopicValues[T], ctx: EventContext) => Promise<void>;
export type HandlerMap = { [T in TopicName]?: EventHandler<T> };

export interface ConsumerOptions {
  /** Kafka group id; also the consumer name unless `name` is given. */
  group: string;
  /**
   * The consumer's name in acknowledgements, dedupe marks and retry routing (default: `group`). One
   * subscription split into several Kafka groups (by priority) keeps one name, so its marks and the
   * monitor's view of it do not change with the split.
   */
  name?: string;
  handlers: HandlerMap;
  /**
   * The group's durable effect-once mark (see dedupe.ts; every group also keeps a recent set in memory,
   * and no group can turn effect-once off):
   * `inbox` (default for shared groups): the kit keeps (consumer, eventId) marks in the service's `inbox` collection.
   * `in-document`: handlers use ctx.applyOnce (the mark is written with the effect).
   * `memory` (default for, and only allowed in, per-instance `ephemeral` groups): the recent set alone.
   */
  dedupe?: 'in-document' | 'inbox' | 'memory';
  /** In-process attempts before the record goes to the retry topic (default 3). */
  attempts?: number;
  backoffMs?: number;
  /** Delay before a record on the retry topic is tried again (default 1000 ms). */
  retryDelayMs?: number;
  fromBeginning?: boolean;
  /** Produce sync.applied acknowledgements (default true). */
  acknowledge?: boolean;
  /** How long an ack may wait for other records to share its produce request (default 5 ms). */
  ackLingerMs?: number;
  partitionsConsumedConcurrently?: number;
  /** The group belongs to this process alone (a per-instance fan-out): deleted from Kafka when the consumer stops. */
  ephemeral?: boolean;
  /**
   * Fetch batching: the broker answers a fetch once `minBytes` are ready or `maxWaitMs` passed
   * (default 1 byte / 5 s, i.e. at once). A group that is not latency-critical (telemetry) trades a
   * little delay for far fewer fetch requests, which cost CPU on both ends.
   */
  fetch?: { minBytes: number; maxWaitMs: number };
  /** How often handled offsets are committed (default 200 ms; also on stop). */
  commitIntervalMs?: number;
  /**
   * Runs before each offset commit. A handler that only buffers its effect (a write-behind
   * projection) makes it durable here; if this throws, nothing is committed and the offsets are
   * kept for the next commit.
   */
  beforeCommit?: () => Promise<void>;
}

export interface ConsumerDeps {
  kafka: Kafka;
  schemas: EventSchemas;
  publisher: EventPublisher;
  metrics: ServiceMetrics;
  logger: Logger;
  db: Connection;
  service: string;
  /** Group commit for effect-once upserts (absent: each is written on its own). */
  writes?: WriteBatcher;
}

export function errorText(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}
