import { newEvent, type OutgoingEvent } from '@omnimall/service-kit';
import type { Conflict } from '../../domain/records';
import { json, PRODUCER } from './common';

/** catalog.conflict (key `<channel>:<sku>`): a conflict opened or resolved, in full. */
export function conflictEvent(c: Conflict, version: number, correlationId?: string): OutgoingEvent {
  return newEvent(
    'catalog.conflict',
    {
      type: `catalog.conflict.${c.status === 'open' ? 'opened' : 'resolved'}`,
      producer: PRODUCER,
      aggregateId: c.itemId,
      aggregateVersion: version,
      sourceChannel: c.channel,
      correlationId,
    },
    {
      conflictId: c._id,
      channel: c.channel,
      sku: c.sku,
      productId: c.productId,
      field: c.field,
      status: c.status,
      baseJson: c.base === undefined ? null : json(c.base),
      localJson: json(c.local),
      masterJson: json(c.master),
      masterVersion: c.masterVersion,
      resolution: c.resolution,
      resolvedJson: c.status === 'resolved' ? json(c.resolved) : null,
      resolvedBy: c.resolvedBy,
    },
  );
}
