/**
 * sync.escalation: an event missed its business SLA on some consumer services (opened), then every
 * one applied it (resolved) or an admin reconciled it by hand. Keyed by the late event's id, so the
 * opening and the closing of one escalation stay in order.
 */
import { newEvent, type OutgoingEvent } from '@omnimall/service-kit';
import type { EscalationRecord, Tracking } from '../../domain/propagation';

export type EscalationStatus = EscalationRecord['status'];

/** The envelope fields shared by the escalation's events: its version orders opened (1) before the close (2). */
export function escalationEnvelope(t: Tracking, status: EscalationStatus) {
  return {
    producer: 'sync-monitor',
    aggregateVersion: status === 'opened' ? 1 : 2,
    correlationId: t.correlationId ?? t._id,
  };
}

export function escalationEvent(t: Tracking, esc: EscalationRecord, status: EscalationStatus, ageMs: number): OutgoingEvent {
  return newEvent(
    'sync.escalation',
    { ...escalationEnvelope(t, status), type: `sync.escalation-${status}`, aggregateId: t._id },
    {
      escalationId: esc.escalationId,
      status,
      eventId: t._id,
      eventType: t.type,
      topic: t.topic,
      laggingConsumers: esc.laggingServices,
      channels: esc.channels,
      rootCause: esc.rootCause,
      ageMs,
      retries: t.retries.length,
    },
  );
}
