/**
 * The envelope of a tracked business topic: only the envelope matters, plus the record as read from
 * Kafka (bytes, key, headers), kept for re-delivery. One handler serves every tracked topic but
 * channels.channel-changed (its own file).
 */
import type { EventEnvelope, TopicName } from '@omnimall/contracts';
import type { EventHandler } from '@omnimall/service-kit';
import type { RawRecord } from '../../domain/propagation';
import { rawOf } from './record';

export interface EnvelopeSink {
  /** Records the envelope (buffered); false when this instance does not track it. */
  onEnvelope(topic: string, env: EventEnvelope, raw: RawRecord | null): boolean;
}

export function envelopeIn(sink: EnvelopeSink): EventHandler<TopicName> {
  return async (value, ctx) => {
    if (!sink.onEnvelope(ctx.topic, value.envelope, rawOf(ctx.record))) ctx.skip();
  };
}
