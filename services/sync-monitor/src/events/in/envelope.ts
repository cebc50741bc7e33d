/**
 * The envelope of a tracked business topic: only the envelope matters, plus the record as read from
 * Kafka (bytes, key, headers), kept for re-delivery, and the customers and source events the payload
 * names (so an erasure finds the event). One handler serves every tracked topic but channels.channel-changed and
 * identity.data-request (their own files).
 */
import type { EventEnvelope, TopicName } from '@omnimall/contracts';
import type { EventHandler } from '@omnimall/service-kit';
import { subjectsOf, type Subjects } from '../../domain/privacy';
import type { RawRecord } from '../../domain/propagation';
import { rawOf } from './record';

export interface EnvelopeSink {
  /**
   * Records the envelope (buffered), with the customers and source events its payload names
   * (domain/privacy.ts); false when this instance does not track it.
   */
  onEnvelope(topic: string, env: EventEnvelope, raw: RawRecord | null, subjects?: Subjects): boolean;
}

export function envelopeIn(sink: EnvelopeSink): EventHandler<TopicName> {
  return async (value, ctx) => {
    if (!sink.onEnvelope(ctx.topic, value.envelope, rawOf(ctx.record), subjectsOf(value))) ctx.skip();
  };
}
