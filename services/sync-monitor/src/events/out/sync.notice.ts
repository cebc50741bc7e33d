/**
 * sync.notice: what admins and the customers of each affected channel are told when an escalation
 * opens or closes (the channels service renders and delivers them). Customers are named only when
 * the late event's topic is keyed by customer id.
 */
import { randomUUID } from 'node:crypto';
import { newEvent, type OutgoingEvent } from '@omnimall/service-kit';
import { isNotReady } from '../../domain/promotion-readiness';
import { affectedCustomers, type EscalationRecord, type Tracking } from '../../domain/propagation';
import { escalationEnvelope, type EscalationStatus } from './sync.escalation';

export function escalationNotices(t: Tracking, esc: EscalationRecord, status: EscalationStatus, ageMs: number): OutgoingEvent[] {
  const kind = status === 'opened' ? 'propagation_delayed' : 'propagation_recovered';
  const notice = (
    audience: 'admin' | 'customer',
    channel: string | null,
    subject: string,
    message: string,
    recipientIds: string[],
  ): OutgoingEvent =>
    newEvent(
      'sync.notice',
      { ...escalationEnvelope(t, status), type: `sync.${kind}`, aggregateId: esc.escalationId },
      {
        noticeId: randomUUID(),
        kind,
        audience,
        channel,
        escalationId: esc.escalationId,
        eventId: t._id,
        eventType: t.type,
        subject,
        message,
        recipientIds,
      },
    );
  const customers = affectedCustomers(t.topic, t.aggregateId);
  // A channel not ready for a promotion at its start: the admins are told; the channel's customers
  // see the promotion's price once the channel is ready, nothing of theirs is delayed.
  if (isNotReady(esc)) {
    const channel = esc.channels[0] ?? null;
    return [
      status === 'opened'
        ? notice(
            'admin',
            channel,
            `Promotion ${t.aggregateId} not ready on ${channel}`,
            `Promotion ${t.aggregateId} started (event ${t._id}) while channel ${channel} had not acknowledged its definition; carts on ${channel} may not show it. Check the channel and the promotion's readiness.`,
            [],
          )
        : notice(
            'admin',
            channel,
            `Promotion ${t.aggregateId} on ${channel} ${status}`,
            `Escalation ${esc.escalationId} is ${status}.`,
            [],
          ),
    ];
  }
  if (status === 'opened') {
    return [
      notice(
        'admin',
        null,
        `Propagation of ${t.type} delayed`,
        `Event ${t._id} (${t.topic}) has not been applied by ${esc.laggingServices.join(', ')} after ${Math.round(ageMs / 1000)} s; root cause ${esc.rootCause}; ${t.retries.length} re-deliveries so far.`,
        [],
      ),
      ...esc.channels.map((ch) =>
        notice(
          'customer',
          ch,
          'Some recent changes are delayed',
          'A recent change to your account or cart is taking longer than usual to appear everywhere. We are on it; you do not need to do anything.',
          customers,
        ),
      ),
    ];
  }
  return [
    notice('admin', null, `Propagation of ${t.type} ${status}`, `Event ${t._id} (${t.topic}) is ${status}.`, []),
    ...esc.channels.map((ch) =>
      notice('customer', ch, 'Delayed changes are now up to date', 'The delayed change now shows on every channel.', customers),
    ),
  ];
}
