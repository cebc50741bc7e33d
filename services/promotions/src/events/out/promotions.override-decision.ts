import { newEvent, type OutgoingEvent } from '@omnimall/service-kit';
import type { OverrideDecision } from '../../domain/overrides';
import type { EventOrigin } from './origin';

/** The evidence of one override decision (the sync-monitor and the channel's managers read it). */
export function decisionEvent(d: OverrideDecision, version: number, origin: EventOrigin): OutgoingEvent<'promotions.override-decision'> {
  return newEvent(
    'promotions.override-decision',
    {
      type: `override.${d.decision}`,
      producer: 'promotions',
      aggregateId: `${d.promotionId}:${d.channel}`,
      aggregateVersion: version,
      correlationId: origin.correlationId,
    },
    {
      decisionId: d.decisionId,
      promotionId: d.promotionId,
      channel: d.channel,
      decision: d.decision,
      fields: [...d.fields],
      actor: d.actor,
      before: d.before === null ? null : JSON.stringify(d.before),
      after: d.after === null ? null : JSON.stringify(d.after),
      rule: d.rule,
      reason: d.refusal ?? d.reason,
      decidedAt: d.decidedAt,
    },
  );
}
