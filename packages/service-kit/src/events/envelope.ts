/**
 * The envelope every event carries (event id, type, producer, aggregate and version, correlation id),
 * and the Kafka key: the aggregate id, so every event of one aggregate stays on one partition, in order.
 *
 * Correlation ids come from outside (an `x-correlation-id` header, a partner's record) and travel
 * into events, Kafka headers, logs and answers: only a safe one (at most 128 characters of letters,
 * digits and `._:-`) is kept; any other is replaced by a fresh id, never copied.
 */
import { randomUUID } from 'node:crypto';
import type { EventEnvelope, TopicName, TopicValues } from '@omnimall/contracts';

/** An event ready for the outbox: its topic, its Kafka key and its Avro value (envelope included). */
export interface OutgoingEvent<T extends TopicName = TopicName> {
  topic: T;
  key: string;
  value: TopicValues[T];
}

/** At most 128 characters of letters, digits, `.`, `_`, `:` and `-`: safe in headers, logs and queries. */
export const CORRELATION_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

export function isSafeCorrelationId(value: unknown): value is string {
  return typeof value === 'string' && CORRELATION_ID_PATTERN.test(value);
}

/** The candidate when it is a safe correlation id, else `fallback` (default: a fresh UUID). */
export function safeCorrelationId(candidate: string | null | undefined, fallback?: string): string {
  if (isSafeCorrelationId(candidate)) return candidate;
  return fallback !== undefined && isSafeCorrelationId(fallback) ? fallback : randomUUID();
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
    correlationId: safeCorrelationId(input.correlationId),
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
