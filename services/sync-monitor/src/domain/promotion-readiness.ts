/**
 * A promotion that started on channels that were not ready for it (promotions.promotion-lifecycle
 * `started` with `notReady`): one escalation per channel, each its own exception record so an admin
 * reconciles each channel apart. Pure: the record is built here, written by application/promotion-readiness.ts.
 */
import type { EnvelopeInfo, EscalationRecord, Tracking } from './propagation';

/** The escalations' root cause (sync.escalation `rootCause`, the issues' error class). */
export const PROMOTION_NOT_READY = 'promotion_not_ready';

/** One record per lifecycle event and channel: a replay finds it and raises nothing again. */
export const notReadyId = (eventId: string, channel: string): string => `${eventId}:not-ready:${channel}`;

/**
 * The exception of one channel not ready at a promotion's start: escalated at once (the start is its
 * deadline), closed to the sweep (nothing to re-deliver: the channel's readiness is the promotion
 * service's to chase), open to an admin's reconciliation.
 */
export function notReadyTracking(
  topic: string,
  env: EnvelopeInfo,
  promotion: { promotionId: string; version: number },
  channel: string,
  escalationId: string,
  now: number,
): Tracking {
  const escalation: EscalationRecord = {
    escalationId,
    at: now,
    status: 'opened',
    laggingServices: [],
    channels: [channel],
    rootCause: PROMOTION_NOT_READY,
    resolvedAt: null,
  };
  return {
    _id: notReadyId(env.eventId, channel),
    topic,
    type: env.type,
    producer: env.producer,
    aggregateId: promotion.promotionId,
    correlationId: env.correlationId,
    sourceChannel: channel,
    occurredAt: env.occurredAt,
    firstSeenAt: now,
    envelopeSeen: true,
    expected: [],
    slaMs: 0,
    slaDeadline: env.occurredAt,
    state: 'escalated',
    open: false,
    acks: [],
    retries: [],
    escalation,
    actions: [],
    raw: null,
    completedAt: null,
    relatedEvents: [env.eventId],
  };
}

/** Whether an escalation is a channel not ready for a promotion (its notices and feed entry say so). */
export const isNotReady = (esc: Pick<EscalationRecord, 'rootCause'>): boolean => esc.rootCause === PROMOTION_NOT_READY;
