/**
 * The envelope of a tracked business topic: the envelope, the record as read from Kafka (bytes,
 * key, headers: kept while the event is open, for re-delivery), the customers and source events the
 * payload names (so an erasure finds the event), and where the record was read (the positions that
 * make a replay after a crash exact). One handler serves every tracked topic but
 * channels.channel-changed and identity.data-request (their own files). An envelope the tracking
 * already holds, or this group acknowledged before a crash, is acknowledged `skipped_duplicate`.
 */
import type { KafkaMessage } from 'kafkajs';
import type { EventEnvelope, TopicName } from '@omnimall/contracts';
import type { EventContext, EventHandler } from '@omnimall/service-kit';
import { subjectsOf, type Subjects } from '../../domain/privacy';
import type { RecordAt } from '../../domain/positions';

/** Where a record was read, and by which consumer (its name in acks). */
export interface Delivery extends RecordAt {
  consumer: string;
}

/** applied: first seen; duplicate: the state holds it already; untracked: not this instance's scope. */
export type EnvelopeOutcome = 'applied' | 'duplicate' | 'untracked';

export interface EnvelopeSink {
  onEnvelope(
    topic: string,
    env: EventEnvelope,
    record: KafkaMessage | undefined,
    subjects: Subjects | undefined,
    at: Delivery,
  ): Promise<EnvelopeOutcome>;
}

/** Where the handler's record was read: a record of `<topic>.retry` carries `x-consumer` (the kit's failure route). */
export function deliveryOf(ctx: EventContext): Delivery {
  const retried = ctx.record?.headers?.['x-consumer'] !== undefined;
  return { topic: retried ? `${ctx.topic}.retry` : ctx.topic, partition: ctx.partition, offset: ctx.offset, consumer: ctx.consumer };
}

/** Records the envelope; false (and the delivery acknowledged as a duplicate) unless it was applied now. */
export async function trackEnvelope(sink: EnvelopeSink, value: { envelope: EventEnvelope }, ctx: EventContext): Promise<boolean> {
  const outcome = await sink.onEnvelope(ctx.topic, value.envelope, ctx.record, subjectsOf(value), deliveryOf(ctx));
  if (outcome !== 'applied') ctx.skip();
  return outcome === 'applied';
}

export function envelopeIn(sink: EnvelopeSink): EventHandler<TopicName> {
  return async (value, ctx) => {
    await trackEnvelope(sink, value, ctx);
  };
}
