import type { EventHandler } from '@omnimall/service-kit';
import type { OverrideDecision } from '../../domain/overrides';
import type { OverrideField, StoredOverride } from '../../domain/promotions';
import type { DecisionRepository } from '../../store/decisions';

/**
 * promotions.override-decision → the evidence document of the decision (`overrideDecisions`, keyed by
 * decision id, written once). An accepted, removed or expired override's event is committed with the
 * promotion's own write and its document saved right after; this consumer writes the document from
 * the event, so a crash between the two loses no evidence. A refusal's document is committed with its
 * event, so here it already exists and nothing changes.
 */
export function overrideDecisionIn(decisions: Pick<DecisionRepository, 'save'>): EventHandler<'promotions.override-decision'> {
  return async (e) => {
    const refused = e.decision === 'refused';
    // an override as the decision's write serialised it; text that is not one (a corrupt record) is kept as null
    const parse = (json: string | null): StoredOverride | null => {
      if (json === null) return null;
      try {
        const v: unknown = JSON.parse(json);
        return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as StoredOverride) : null;
      } catch {
        return null;
      }
    };
    const d: OverrideDecision = {
      decisionId: e.decisionId,
      promotionId: e.promotionId,
      channel: e.channel,
      decision: e.decision,
      fields: e.fields as OverrideField[],
      actor: e.actor,
      before: parse(e.before),
      after: parse(e.after),
      rule: e.rule,
      reason: refused ? null : e.reason,
      refusal: refused ? e.reason : null,
      decidedAt: e.decidedAt,
    };
    await decisions.save(d);
  };
}
