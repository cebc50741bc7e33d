import type { MarketingConsent } from '../domain/consents';
import type { CartRepository, ConsentRepository, EffectOnce } from '../store';

/**
 * The marketing consents a promotion notice needs (identity.consent-changed, projections group,
 * effect-once in the document). An erased customer keeps none: the erasure removes them
 * (application/erasure.ts) after the cart's tombstone is written, and a consent applied here is
 * removed again if that tombstone is already there, so a change still on its way when the erasure
 * ran (another consumer group) cannot bring one back.
 */
export class MarketingConsents {
  constructor(
    private readonly consents: Pick<ConsentRepository, 'project' | 'forget'>,
    private readonly carts: Pick<CartRepository, 'get'>,
  ) {}

  /** Returns whether the consent was written (false: a newer one is stored, or this event was applied). */
  async changed(once: EffectOnce, consent: MarketingConsent): Promise<boolean> {
    if (!(await this.consents.project(once, consent))) return false;
    if ((await this.carts.get(consent.customerId))?.erasedAt) await this.consents.forget(consent.customerId);
    return true;
  }
}
