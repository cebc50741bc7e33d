import type { EventHandler } from '@omnimall/service-kit';
import { parseDefinition, type DefinitionInput, type StoredPromotion } from '../../domain/promotions';
import type { EventOrigin } from '../out/cart.cart-changed';

/** Stores a definition and answers its readiness (application/promotions.ts PromotionDefinitions). */
export interface DefinitionSink {
  apply(d: DefinitionInput, origin: EventOrigin): Promise<boolean>;
}

/** The shared group's handler: the definition stored once per version (an older or repeated one is a duplicate). */
export function promotionDefinitionIn(sink: DefinitionSink): EventHandler<'promotions.definition'> {
  return async (e, ctx) => {
    if (!(await sink.apply(e, { correlationId: ctx.envelope.correlationId }))) ctx.skip();
  };
}

/** The per-instance group's handler: the definition into this instance's copy at once (no database). */
export function promotionToBookIn(book: { apply(p: StoredPromotion): boolean }): EventHandler<'promotions.definition'> {
  return async (e, ctx) => {
    if (!book.apply(parseDefinition(e).promotion)) ctx.skip();
  };
}
