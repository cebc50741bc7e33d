import { newEvent, type OutgoingEvent } from '@omnimall/service-kit';
import type { HoldRecord } from '../../store/holds';

import type { EventOrigin } from './origin';

export type { EventOrigin } from './origin';

/** A usage hold's new state (full state), answering the command that caused it if any. */
export function usageChanged(h: HoldRecord, commandId: string | null, origin: EventOrigin): OutgoingEvent<'promotions.usage'> {
  return newEvent(
    'promotions.usage',
    {
      type: `usage.${h.state}`,
      producer: 'promotions',
      aggregateId: h.id,
      aggregateVersion: h.version,
      sourceChannel: origin.sourceChannel ?? h.channel,
      correlationId: origin.correlationId,
    },
    {
      holdId: h.id,
      commandId,
      customerId: h.customerId,
      channel: h.channel,
      reference: h.reference,
      state: h.state,
      codes: h.codes,
      codePromotions: h.codePromotions,
      campaigns: h.campaigns,
      points: h.points,
      expiresAt: h.expiresAt,
      reason: h.reason,
      hint: h.hint,
    },
  );
}
