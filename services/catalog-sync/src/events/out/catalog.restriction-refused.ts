import { newEvent, type OutgoingEvent } from '@omnimall/service-kit';
import type { Refusal } from '../../domain/records';
import { PRODUCER } from './common';

/** catalog.restriction-refused (key productId): an assignment, propagation or approval a restriction refused (audit). */
export function refusalEvent(r: Refusal, correlationId?: string): OutgoingEvent {
  return newEvent(
    'catalog.restriction-refused',
    {
      type: `catalog.restriction-refused.${r.action}`,
      producer: PRODUCER,
      aggregateId: r.productId,
      aggregateVersion: 0,
      sourceChannel: r.channel,
      correlationId,
    },
    {
      refusalId: r._id,
      productId: r.productId,
      channel: r.channel,
      action: r.action,
      restrictionId: r.restriction.id,
      restrictionKind: r.restriction.kind,
      restrictionValue: r.restriction.value,
      basis: r.restriction.basis,
      reason: r.restriction.reason,
      actor: r.actor,
    },
  );
}
