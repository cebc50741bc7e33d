/**
 * Dead-lettering at once, from inside a handler: a record no retry can fix (a partner's record that
 * is invalid, names another partner, or that the domain refuses) is sent by its handler to
 * `<topic>.dlq` with the reason, and the handler returns normally, so the partition keeps going.
 *
 * Guarantees: the copy is the bytes the producer wrote (the context's Kafka record; `fallbackValue`
 * only when the handler runs without one), keyed by the envelope's aggregate id unless `key` is
 * given, with the reason in `x-dlq-reason`, the problems in `x-error` and where it was read in
 * `x-source-topic`, `-partition` and `-offset`; `metrics.deadLettered` counts it under the reason.
 * The dead letter is bounded whatever the record holds: its headers copy an outside string only
 * within a bound (the event id up to 64 characters, type and producer clipped to 64, the key to 128,
 * the correlation id only when safe), and a value over DLQ_VALUE_MAX_BYTES is left out
 * (`x-value-omitted`; the source headers say where it is), so it always fits a produce request.
 */
import { deadLetterTopic } from '@omnimall/contracts';
import type { EventPublisher } from '../../kafka/publisher';
import type { ServiceMetrics } from '../../observability/metrics';
import { safeCorrelationId } from '../envelope';
import type { EventContext } from './types';

/**
 * The largest original value a dead letter carries: with its bounded headers it stays under the
 * broker's 1,048,588-byte limit per request; a larger one is left out of the copy.
 */
export const DLQ_VALUE_MAX_BYTES = 960 * 1024;

export interface DeadLetterNow {
  /** Why, as a machine-readable code: the `x-dlq-reason` header and the metric's `reason` label. */
  reason: string;
  /** What is wrong, each `<code>: <detail>`: joined with `; ` into `x-error`. */
  problems: readonly string[];
  /** The dead letter's key (clipped to 128 characters); default: the envelope's aggregate id. */
  key?: string;
  /** The record's bytes when the context holds no Kafka record (e.g. the value encoded with its topic's schema). */
  fallbackValue: () => Promise<Buffer>;
  /** More fields for the warning logged (bounded values only: clip what the producer wrote). */
  log?: Record<string, unknown>;
}

/** An outside string cut to `max` characters for a header (marked when cut). */
const clip = (value: string, max = 64): string => (value.length <= max ? value : `${value.slice(0, max)}…(${value.length} chars)`);

/** Sends the record being handled to `<ctx.topic>.dlq` at once, with the reason (see the file's comment). */
export async function deadLetterNow(
  rt: { publisher: Pick<EventPublisher, 'sendRaw'>; metrics: Pick<ServiceMetrics, 'deadLettered'> },
  ctx: EventContext,
  dl: DeadLetterNow,
): Promise<void> {
  const original = ctx.record?.value ?? (await dl.fallbackValue());
  const fits = original.length <= DLQ_VALUE_MAX_BYTES;
  const env = ctx.envelope;
  const eventId = env.eventId.length <= 64 ? env.eventId : undefined;
  await rt.publisher.sendRaw(deadLetterTopic(ctx.topic), [
    {
      key: clip(dl.key ?? env.aggregateId, 128),
      value: fits ? original : null,
      headers: {
        ...(eventId ? { eventId } : {}),
        correlationId: safeCorrelationId(env.correlationId, eventId),
        type: clip(env.type),
        producer: clip(env.producer),
        'x-consumer': ctx.consumer,
        'x-dlq-reason': dl.reason,
        'x-error': dl.problems.join('; '),
        'x-source-topic': ctx.topic,
        'x-source-partition': String(ctx.partition),
        'x-source-offset': ctx.offset,
        'x-failed-at': new Date().toISOString(),
        ...(fits ? {} : { 'x-value-omitted': `${original.length} bytes, over ${DLQ_VALUE_MAX_BYTES}` }),
      },
    },
  ]);
  rt.metrics.deadLettered.labels(ctx.topic, ctx.consumer, dl.reason).inc();
  ctx.logger.warn('record dead-lettered at once', { reason: dl.reason, problems: dl.problems, topic: ctx.topic, ...dl.log });
}
