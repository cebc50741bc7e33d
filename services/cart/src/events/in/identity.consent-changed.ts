import type { EventHandler } from '@omnimall/service-kit';
import type { MarketingConsent } from '../../domain/consents';
import type { EffectOnce } from '../../store';

/** Keeps a customer's marketing consent on a channel (application/consents.ts); effect-once in its document. */
export interface ConsentKeeper {
  changed(once: EffectOnce, consent: MarketingConsent): Promise<boolean>;
}

/** ConsentChanged carries a customer's full consent state on one channel: its marketing consent is kept, the newest changedAt winning. */
export function consentChangedIn(consents: ConsentKeeper): EventHandler<'identity.consent-changed'> {
  return async (e, ctx) => {
    const { customerId, channel, marketing, changedAt } = e;
    await consents.changed(ctx, { customerId, channel, marketing, changedAt, version: ctx.envelope.aggregateVersion });
  };
}
