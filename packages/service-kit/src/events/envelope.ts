/**
 * The envelope every event carries (event id, type, producer, aggregate and version, correlation id),
 * and the Kafka key: the aggregate id, so every event of one aggregate stays on one partition, in order.
 */
import { randomUUID } from 'node:crypto';
import type { EventEnvelope, TopicName, TopicValues } from '@omnimall/contracts';

/** An event ready for the outbox: its topic, its Kafka key and its Avro value (envelope included). */
export interface OutgoingEvent<T extends TopicName = TopicName> {
  topic: T;
  key: string;
  value: TopicValues[T];
}

export interface EnvelopeInput {
  type: string;
  producer: string;
  aggregateId: string;
  aggregateVersion: number;
  sourceChannel?: string | null;
  correlationId?: string;
  occurredAt?: number;
}

export function newEnvelope(input: EnvelopeInput): EventEnvelope {
  return {
    eventId: randomUUID(),
    type: input.type,
    occurredAt: input.occurredAt ?? Date.now(),
    producer: input.producer,
    sourceChannel: input.sourceChannel ?? null,
    correlationId: input.correlationId ?? randomUUID(),
    aggregateId: input.aggregateId,
    aggregateVersion: input.aggregateVersion,
  };
}

/** Builds an event whose Kafka key is the aggregate id, so every event of one aggregate stays in order. */
export function newEvent<T extends TopicName>(
  topic: T,
  envelope: EnvelopeInput,
  payload: Omit<TopicValues[T], 'envelope'>,
): OutgoingEvent<T> {
  const env = newEnvelope(envelope);
  return { topic, key: env.aggregateId, value: { envelope: env, ...payload } as TopicValues[T] };
}
