import { evaluate, type Customer, type Gift, type NotApplied, type Promotion } from '@omnimall/pricing';
import type { PricedCart, PricedLine } from './trading';

/**
 * The promotions on a priced cart, for one channel at one instant (the view's `Date.now()`): the lines
 * the channel sells, at the unit prices the cart already shows, through @omnimall/pricing's evaluator,
 * once per currency. Pure: the instant, the promotions as the channel sees them then and the customer
 * are arguments.
 */

/** One promotion's part of a line's price. */
export interface Offer {
  promotionId: string;
  name: string;
  /** The code that unlocked it (codes are not entered on the cart yet: always null). */
  code: string | null;
  amountMinor: number;
}

export interface OfferedLine extends PricedLine {
  /** The promotions that lower this line's price now; empty when none (or the line is unavailable). */
  offers: Offer[];
  /** The line's total after its offers; null when the line is not priced. */
  discountedTotalMinor: number | null;
}

export interface OfferedTotals {
  currency: string;
  subtotalMinor: number;
  units: number;
  discountMinor: number;
  totalMinor: number;
}

export interface OfferedCart {
  lines: OfferedLine[];
  totals: OfferedTotals[];
  unavailableLines: number;
  /** Free gifts the promotions add. */
  gifts: Gift[];
  /** The channel's promotions that do not apply now, each with its first reason (for support). */
  notApplied: NotApplied[];
  /** The instant the offers were computed for (ISO); null when the cart is not priced (no channel). */
  pricedAt: string | null;
}

/** The customer as conditions see it: the loyalty tier identity publishes; no badges or segments are known to cart. */
export function customerForPricing(tier: string | null | undefined): Customer | null {
  return tier ? { tier, badges: [], segments: [] } : null;
}

/** A cart with no offers (not priced for a channel). */
export function withoutOffers(cart: PricedCart): OfferedCart {
  return {
    lines: cart.lines.map((l) => ({ ...l, offers: [], discountedTotalMinor: l.lineTotalMinor })),
    totals: cart.totals.map((t) => ({ ...t, discountMinor: 0, totalMinor: t.subtotalMinor })),
    unavailableLines: cart.unavailableLines,
    gifts: [],
    notApplied: [],
    pricedAt: null,
  };
}

/**
 * Applies `promotions` (as the channel sees them at `at`: promotionsFor) to the cart's available
 * lines. A promotion is listed in notApplied only when it applied in no currency (its reason from the
 * first currency evaluated).
 */
export function applyOffers(
  cart: PricedCart,
  promotions: Promotion[],
  channel: { code: string; kind: string },
  customer: Customer | null,
  at: number,
): OfferedCart {
  const out = withoutOffers(cart);
  out.pricedAt = new Date(at).toISOString();
  if (!promotions.length) return out;
  const names = new Map(promotions.map((p) => [p.id, p.name]));
  const applied = new Set<string>();
  const skipped = new Map<string, NotApplied>();
  for (const totals of out.totals) {
    const idx = out.lines.flatMap((l, i) => (l.available && l.currency === totals.currency && l.unitPriceMinor !== null ? [i] : []));
    const result = evaluate({
      promotions,
      lines: idx.map((i) => ({ sku: out.lines[i].sku, quantity: out.lines[i].quantity, unitPriceMinor: out.lines[i].unitPriceMinor! })),
      customer,
      channel,
      at,
      codes: [],
    });
    result.lines.forEach((priced, k) => {
      const line = out.lines[idx[k]];
      line.offers = priced.adjustments.map((a) => ({
        promotionId: a.promotionId,
        name: names.get(a.promotionId) ?? a.promotionId,
        code: a.code,
        amountMinor: a.amountMinor,
      }));
      line.discountedTotalMinor = priced.totalMinor;
      for (const a of priced.adjustments) applied.add(a.promotionId);
    });
    totals.discountMinor = result.discountMinor;
    totals.totalMinor = result.totalMinor;
    out.gifts.push(...result.gifts);
    for (const g of result.gifts) applied.add(g.promotionId);
    for (const n of result.notApplied) if (!skipped.has(n.promotionId)) skipped.set(n.promotionId, n);
  }
  out.notApplied = [...skipped.values()].filter((n) => !applied.has(n.promotionId));
  return out;
}
