/** The events an escalation's opening or closing publishes (written in the same document write, through the outbox). */
import type { OutgoingEvent } from '@omnimall/service-kit';
import type { Tracking } from '../domain/propagation';
import { escalationEvent, type EscalationStatus } from '../events/out/sync.escalation';
import { escalationNotices } from '../events/out/sync.notice';

/** The alert and the notices of an escalation of `t` reaching `status` (t.escalation is set). */
export function escalationEvents(t: Tracking, status: EscalationStatus): OutgoingEvent[] {
  const esc = t.escalation;
  if (!esc) return [];
  const ageMs = Date.now() - t.occurredAt;
  return [escalationEvent(t, esc, status, ageMs), ...escalationNotices(t, esc, status, ageMs)];
}

/** An escalation resolved by the input just applied (the last lagging service applied the event). */
export function resolutionEvents(prev: Tracking | null, next: Tracking): OutgoingEvent[] {
  if (prev?.escalation?.status === 'opened' && next.escalation?.status === 'resolved') return escalationEvents(next, 'resolved');
  return [];
}
