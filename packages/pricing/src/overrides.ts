import type { Promotion, Reward } from './types';

/**
 * A channel's accepted override of a global promotion (the promotions service decides which fields a
 * channel may override and by whom; the evaluator only applies what was accepted).
 */
export interface ChannelOverride {
  channel: string;
  /** The promotion does not apply on this channel. */
  excluded: boolean;
  /** Replaces the global reward on this channel. */
  reward: Reward | null;
  /** Replace the global effective times on this channel (null: the global one). */
  startsAt: number | null;
  endsAt: number | null;
  /** The override lapses at this instant (exclusive); null: never. */
  until: number | null;
}

/** A promotion as it is distributed to the channels: the global definition, its overrides, its budget's state. */
export interface PublishedPromotion {
  promotion: Promotion;
  overrides: readonly ChannelOverride[];
  /** The campaign's budget is used up: the promotion applies nowhere. */
  exhausted: boolean;
}

/**
 * The promotion as `channel` sees it at the instant `at`: the global definition with the channel's
 * override applied while the override is in force; null when the channel is excluded then or the
 * budget is exhausted. A lapsed override (`until ≤ at`) is ignored, so the global definition applies
 * again from that instant on every channel at once.
 */
export function forChannel(p: PublishedPromotion, channel: string, at: number): Promotion | null {
  if (p.exhausted) return null;
  const o = p.overrides.find((x) => x.channel === channel && (x.until === null || at < x.until));
  if (!o) return p.promotion;
  if (o.excluded) return null;
  return {
    ...p.promotion,
    reward: o.reward ?? p.promotion.reward,
    startsAt: o.startsAt ?? p.promotion.startsAt,
    endsAt: o.endsAt ?? p.promotion.endsAt,
  };
}

/** Every promotion as `channel` sees it at `at` (the evaluator's `promotions` input for that channel). */
export function promotionsFor(published: Iterable<PublishedPromotion>, channel: string, at: number): Promotion[] {
  const out: Promotion[] = [];
  for (const p of published) {
    const seen = forChannel(p, channel, at);
    if (seen) out.push(seen);
  }
  return out;
}
