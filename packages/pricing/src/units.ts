/**
 * A line's units grouped by their current price (tiers, dearest first): a discount on some units makes
 * them a tier of their own, so later promotions see what each unit costs now. Immutable: every
 * operation returns new tiers, which lets best-deal candidates be tried side by side.
 */

export interface Tier {
  priceMinor: number;
  count: number;
}

export function tiersOf(quantity: number, unitPriceMinor: number): Tier[] {
  return quantity > 0 ? [{ priceMinor: unitPriceMinor, count: quantity }] : [];
}

export function totalOf(tiers: readonly Tier[]): number {
  return tiers.reduce((sum, t) => sum + t.priceMinor * t.count, 0);
}

export function unitsOf(tiers: readonly Tier[]): number {
  return tiers.reduce((sum, t) => sum + t.count, 0);
}

/** `count` units of the tier priced `priceMinor` each lose `off` (at most their price). */
export function discountTier(tiers: readonly Tier[], priceMinor: number, count: number, off: number): Tier[] {
  const d = Math.max(0, Math.min(off, priceMinor));
  if (d === 0 || count <= 0) return [...tiers];
  const out: Tier[] = [];
  for (const t of tiers) {
    if (t.priceMinor !== priceMinor) out.push(t);
    else {
      const k = Math.min(count, t.count);
      out.push({ priceMinor: priceMinor - d, count: k });
      if (t.count > k) out.push({ priceMinor, count: t.count - k });
    }
  }
  return normalise(out);
}

/** Up to `max` units, dearest or cheapest first, each losing `perUnit(price)`; what they lost in all. */
export function discountUnits(
  tiers: readonly Tier[],
  max: number,
  pick: 'dearest' | 'cheapest',
  perUnit: (priceMinor: number) => number,
): { tiers: Tier[]; amountMinor: number } {
  const order = pick === 'dearest' ? [...tiers] : [...tiers].reverse();
  let next: Tier[] = [...tiers];
  let left = max;
  let amountMinor = 0;
  for (const t of order) {
    if (left <= 0) break;
    const k = Math.min(left, t.count);
    const off = Math.max(0, Math.min(perUnit(t.priceMinor), t.priceMinor));
    next = discountTier(next, t.priceMinor, k, off);
    amountMinor += off * k;
    left -= k;
  }
  return { tiers: next, amountMinor };
}

/**
 * An amount taken from a line, as evenly as whole minor units allow: each unit loses the same share
 * (never more than its price), the remaining minor units one each from the dearest units.
 */
export function spreadAmount(tiers: readonly Tier[], amountMinor: number): { tiers: Tier[]; amountMinor: number } {
  let next: Tier[] = [...tiers];
  let left = Math.min(amountMinor, totalOf(tiers));
  while (left > 0) {
    const paid = next.filter((t) => t.priceMinor > 0).reduce((sum, t) => sum + t.count, 0);
    const share = Math.floor(left / paid);
    const step = share > 0 ? discountUnits(next, Infinity, 'dearest', () => share) : discountUnits(next, left, 'dearest', () => 1);
    next = step.tiers;
    left -= step.amountMinor;
  }
  return { tiers: next, amountMinor: Math.min(amountMinor, totalOf(tiers)) };
}

/** Splits `amountMinor` over `weights` pro rata, rounding down, the remainder one unit each to the largest weights first. */
export function proRata(amountMinor: number, weights: readonly number[]): number[] {
  const total = weights.reduce((a, b) => a + b, 0);
  if (total <= 0) return weights.map(() => 0);
  const amount = Math.min(amountMinor, total);
  const parts = weights.map((w) => Number((BigInt(amount) * BigInt(w)) / BigInt(total)));
  let remainder = amount - parts.reduce((a, b) => a + b, 0);
  const largestFirst = weights.map((w, i) => ({ w, i })).sort((a, b) => b.w - a.w || a.i - b.i);
  for (const { i } of largestFirst) {
    if (remainder === 0) break;
    parts[i] += 1;
    remainder -= 1;
  }
  return parts;
}

function normalise(tiers: Tier[]): Tier[] {
  const byPrice = new Map<number, number>();
  for (const t of tiers) if (t.count > 0) byPrice.set(t.priceMinor, (byPrice.get(t.priceMinor) ?? 0) + t.count);
  return [...byPrice].map(([priceMinor, count]) => ({ priceMinor, count })).sort((a, b) => b.priceMinor - a.priceMinor);
}
