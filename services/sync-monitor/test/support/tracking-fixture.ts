/** Small tracking records for pure-rule tests. */
import { applyEnvelope as apply, type AckRecord, type Tracking } from '../../src/domain/propagation';

export type { Tracking };

/** A tracked event whose envelope was seen (one expected consumer, `cart`). */
export function applyEnvelope(topic: string, aggregateId: string): Tracking {
  const env = {
    eventId: `e-${aggregateId}`,
    type: topic,
    occurredAt: 1000,
    producer: 'p',
    aggregateId,
    correlationId: 'c',
    sourceChannel: 'web',
  };
  return apply(null, topic, env, null, { consumers: ['cart'], slaMs: 1000 }, 1000);
}

let acks = 0;

/** A failed ack of `cart` with this error. */
export function failedAck(error: string | null): AckRecord {
  acks++;
  return {
    ackId: `a-${acks}`,
    service: 'cart',
    group: 'cart.p',
    channel: null,
    appliedAt: 2000,
    lagMs: 1000,
    outcome: 'failed',
    attempt: 1,
    error,
  };
}
