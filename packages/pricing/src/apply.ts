/** What one promotion's reward does to the eligible lines: tried on the current tiers, committed by the caller. */
import { discountTier, discountUnits, proRata, spreadAmount, totalOf, type Tier } from './units';
import type { Promotion, Reward } from './types';

/** A promotion's effect: the lines' new tiers, what each line lost and a gift, if any. */
export interface Effect {
  tiers: Tier[][];
  amounts: number[];
  gift: string | null;
}

export function totalOfEffect(effect: Effect): number {
  return effect.amounts.reduce((a, b) => a + b, 0);
}

/** The reward of `p` on the lines whose index is in `eligible` (never empty). */
export function applyReward(p: Promotion, lines: readonly Tier[][], eligible: readonly number[]): Effect {
  const effect: Effect = { tiers: lines.map((t) => [...t]), amounts: lines.map(() => 0), gift: null };
  const { reward, allocation } = p;
  const max = allocation.maxQuantity ?? Infinity;
  if (reward.kind === 'free_gift') return { ...effect, gift: reward.sku };
  if (reward.kind === 'buy_x_get_y') {
    for (const i of eligible) {
      const quantity = effect.tiers[i].reduce((sum, t) => sum + t.count, 0);
      const free = Math.min(max, Math.floor(quantity / (reward.buy + reward.get)) * reward.get);
      const percent = reward.percent;
      take(
        effect,
        i,
        discountUnits(effect.tiers[i], free, 'cheapest', (price) => Math.floor((price * percent) / 100)),
      );
    }
    return effect;
  }
  if (allocation.kind === 'once') {
    // The one line with the largest total, the first of them in the cart on a tie.
    const i = eligible.reduce((best, j) => (totalOf(effect.tiers[j]) > totalOf(effect.tiers[best]) ? j : best));
    if (reward.kind === 'fixed_amount') take(effect, i, spreadAmount(effect.tiers[i], reward.amountMinor));
    else take(effect, i, discountUnits(effect.tiers[i], allocation.maxQuantity ?? Infinity, 'dearest', perUnit(reward)));
    return effect;
  }
  if (allocation.kind === 'each_line') {
    for (const i of eligible) take(effect, i, discountUnits(effect.tiers[i], max, 'dearest', perUnit(reward)));
    return effect;
  }
  if (reward.kind === 'fixed_amount') {
    const parts = proRata(
      reward.amountMinor,
      eligible.map((i) => totalOf(effect.tiers[i])),
    );
    eligible.forEach((i, k) => take(effect, i, spreadAmount(effect.tiers[i], parts[k])));
    return effect;
  }
  // across_lines, per unit: the dearest units of all eligible lines first (the first line on a tie), up to maxQuantity.
  const units = eligible
    .flatMap((i) => effect.tiers[i].map((t) => ({ i, priceMinor: t.priceMinor, count: t.count })))
    .sort((a, b) => b.priceMinor - a.priceMinor || a.i - b.i);
  const off = perUnit(reward);
  let left = max;
  for (const u of units) {
    if (left <= 0) break;
    const k = Math.min(left, u.count);
    const d = Math.max(0, Math.min(off(u.priceMinor), u.priceMinor));
    take(effect, u.i, { tiers: discountTier(effect.tiers[u.i], u.priceMinor, k, d), amountMinor: d * k });
    left -= k;
  }
  return effect;
}

/** What one unit priced `price` loses: a percentage rounded down, a fixed amount, or down to a fixed price. */
function perUnit(reward: Exclude<Reward, { kind: 'free_gift' | 'buy_x_get_y' }>): (price: number) => number {
  switch (reward.kind) {
    case 'percentage':
      return (price) => Math.floor((price * reward.percent) / 100);
    case 'fixed_amount':
      return () => reward.amountMinor;
    case 'fixed_price':
      return (price) => Math.max(0, price - reward.priceMinor);
  }
}

function take(effect: Effect, i: number, step: { tiers: Tier[]; amountMinor: number }): void {
  effect.tiers[i] = step.tiers;
  effect.amounts[i] += step.amountMinor;
}
