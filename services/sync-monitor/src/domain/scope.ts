/**
 * Which events one monitor instance tracks. By default every event; a monitor sharing Kafka with
 * other runs (the e2e suite, tests) narrows itself to the events of one request tag: those whose
 * correlation id starts with a prefix. An ack is judged by its own envelope's correlation id, which
 * the acknowledging consumer copies from the event it acknowledges.
 */
import type { EventEnvelope, SyncApplied } from '@omnimall/contracts';

export interface TrackingScope {
  trackEnvelope?: (env: EventEnvelope, topic: string) => boolean;
  trackAck?: (ack: SyncApplied) => boolean;
}

/** Tracks only events whose correlation id starts with `prefix`; an empty or absent prefix tracks everything. */
export function correlationScope(prefix: string | undefined): TrackingScope {
  if (!prefix) return {};
  const mine = (correlationId: unknown): boolean => typeof correlationId === 'string' && correlationId.startsWith(prefix);
  return {
    trackEnvelope: (env) => mine(env.correlationId),
    trackAck: (ack) => mine(ack.envelope?.correlationId),
  };
}
