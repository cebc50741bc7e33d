import { parseDefinition, type StoredPromotion } from '@omnimall/pricing';
import type { EventHandler, ProjectionRepository } from '@omnimall/service-kit';

/** A promotion's definition (full state per version), parsed as cart parses it: checkouts price with the same evaluator and definitions. */
export function promotionDefinitionIn(promotions: ProjectionRepository<StoredPromotion>): EventHandler<'promotions.definition'> {
  return (e, ctx) => promotions.project(ctx, e.promotionId, parseDefinition(e).promotion, e.version);
}
