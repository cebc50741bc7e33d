/**
 * Whether a cart may be checked out on a channel, and at what price. Pure: the cart, the channel,
 * the customer, the channel's listings and the promotions are what orders holds of them (its
 * projections), the instant is an argument. Every refusal carries a code, a hint and the remediation
 * the customer is offered.
 */
import { evaluate, promotionsFor, type EnteredCode, type PublishedPromotion } from '@omnimall/pricing';
import { AppError } from '@omnimall/service-kit/errors';
import type { OrderLine, PriceSnapshot, Remediation } from './order';

export interface CartView {
  cartId: string;
  customerId: string | null;
  version: number;
  lines: { sku: string; quantity: number; channel: string }[];
}

export interface ChannelView {
  code: string;
  kind: string;
  state: string;
  blockReasons: string[];
  region: string;
  currencies: string[];
  allowedDataRegions: string[];
  expectedBackAt: number | null;
}

export interface CustomerView {
  status: 'active' | 'suspended' | 'banned' | 'erased';
  until: number | null;
  loyaltyTier: string;
  dataRegion: string;
}

export interface ItemView {
  status: 'listed' | 'withdrawn';
  title: string;
  priceMinor: number | null;
  currency: string | null;
  taxInclusive: boolean;
  barredRegions: string[];
}

/** A checkout refused before anything was held: 4xx with a code, a hint and what the customer can do. */
export class CheckoutRefusal extends AppError {
  constructor(
    status: number,
    code: string,
    message: string,
    hint: string,
    remediation: Remediation,
    details: Record<string, unknown> = {},
  ) {
    super(status, code, message, hint, { remediation, ...details });
  }
}

/** The customer's standing allows buying (no projection yet: identity has said nothing against them). */
export function checkCustomer(c: CustomerView | null, now: number): void {
  if (!c || c.status === 'active') return;
  if (c.status === 'suspended' && c.until !== null && c.until <= now) return;
  throw new CheckoutRefusal(
    403,
    `customer_${c.status}`,
    `this customer account is ${c.status}; it cannot place orders`,
    'contact customer support, quoting this message',
    'contact_support',
  ).recorded({ kind: 'refusal' });
}

/**
 * The channel takes orders: known, active (a maintenance or suspension is refused with the channel's
 * own expected return), unblocked, and allowed to receive the customer's personal data.
 */
export function checkChannel(code: string, ch: ChannelView | null, customer: CustomerView | null): ChannelView {
  if (!ch)
    throw new CheckoutRefusal(
      404,
      'channel_not_found',
      `there is no channel ${code} known to orders`,
      'check the channel code (GET /channels on the channels service lists them); a channel registered moments ago takes orders once its registration has arrived, so retry shortly',
      'retry',
      { channel: code },
    );
  if (ch.state !== 'active') {
    const back = ch.expectedBackAt ? new Date(ch.expectedBackAt).toISOString() : null;
    throw new CheckoutRefusal(
      409,
      ch.state === 'maintenance' ? 'channel_in_maintenance' : 'channel_not_active',
      `channel ${code} is ${ch.state}${back ? ` until about ${back}` : ''} and takes no orders`,
      back
        ? `check out again after ${back}, or on another channel: your cart is the same everywhere`
        : 'check out on another channel: your cart is the same everywhere',
      'retry',
      { channel: code, state: ch.state, expectedBackAt: back },
    ).recorded({ kind: 'refusal', channel: code });
  }
  if (ch.blockReasons.length)
    throw new CheckoutRefusal(
      409,
      'channel_blocked',
      `channel ${code} is blocked (${ch.blockReasons.join(', ')})`,
      'check out on another channel',
      'retry',
      {
        blockReasons: ch.blockReasons,
      },
    ).recorded({ kind: 'refusal', channel: code });
  if (customer && !ch.allowedDataRegions.includes(customer.dataRegion))
    throw new CheckoutRefusal(
      403,
      'data_region_not_allowed',
      `channel ${code} may not process orders of customers whose data resides in ${customer.dataRegion}`,
      `check out on a channel serving the ${customer.dataRegion} region`,
      'contact_support',
      { dataRegion: customer.dataRegion, allowedDataRegions: ch.allowedDataRegions },
    ).recorded({ kind: 'refusal', channel: code });
  return ch;
}

/** Why a cart line cannot be ordered on the channel, or null. */
function lineRefusal(item: ItemView | undefined, ch: ChannelView): string | null {
  if (!item || item.status !== 'listed') return 'not_sold_on_channel';
  if (item.barredRegions.includes(ch.region)) return 'restricted_in_region';
  if (item.priceMinor === null || item.currency === null) return 'no_price_on_channel';
  return null;
}

export interface PricingInput {
  cart: CartView;
  channel: ChannelView;
  customer: CustomerView | null;
  /** The channel's listings of the cart's SKUs, by SKU. */
  items: ReadonlyMap<string, ItemView>;
  promotions: Iterable<PublishedPromotion>;
  codes: EnteredCode[];
  points: number;
  pointValueMinor: number;
  shippingMinor: number;
  at: number;
}

export interface Priced {
  lines: OrderLine[];
  price: PriceSnapshot;
}

/**
 * The order's lines and price snapshot: every cart line at the channel's own price (the cart is one
 * across channels; the order is priced where it is placed), the channel's promotions evaluated for
 * the instant `at` with the codes already resolved, points worth `pointValueMinor` each taken off the
 * rest (never below zero), shipping added. Refuses a line the channel cannot sell, all of them named.
 */
export function priceCheckout(input: PricingInput): Priced {
  const { cart, channel: ch } = input;
  if (!cart.lines.length)
    throw new CheckoutRefusal(422, 'cart_empty', 'the cart is empty', 'add items to the cart, then check out', 'pick_another_item');
  const refused = cart.lines.flatMap((l) => {
    const why = lineRefusal(input.items.get(l.sku), ch);
    return why ? [{ sku: l.sku, reason: why }] : [];
  });
  if (refused.length)
    throw new CheckoutRefusal(
      422,
      refused.some((r) => r.reason === 'restricted_in_region') ? 'item_restricted' : 'item_not_sold_on_channel',
      `${refused.map((r) => `${r.sku} (${r.reason})`).join(', ')} cannot be ordered on channel ${ch.code}`,
      'remove these items or pick others from this channel, then check out again',
      'pick_another_item',
      { lines: refused },
    );
  const currencies = new Set(cart.lines.map((l) => input.items.get(l.sku)!.currency!));
  if (currencies.size > 1)
    throw new CheckoutRefusal(
      422,
      'mixed_currencies',
      `the cart's items are priced in ${[...currencies].join(' and ')} on channel ${ch.code}`,
      'check out the items of one currency at a time',
      'pick_another_item',
    );
  const currency = [...currencies][0];
  if (ch.currencies.length && !ch.currencies.includes(currency))
    throw new CheckoutRefusal(
      422,
      'currency_not_accepted',
      `channel ${ch.code} takes ${ch.currencies.join(', ')}, not ${currency}`,
      'check out on a channel that sells in this currency',
      'contact_support',
      { currency, currencies: ch.currencies },
    );
  const evaluation = evaluate({
    promotions: promotionsFor(input.promotions, ch.code, input.at),
    lines: cart.lines.map((l) => ({ sku: l.sku, quantity: l.quantity, unitPriceMinor: input.items.get(l.sku)!.priceMinor! })),
    customer: input.customer ? { tier: input.customer.loyaltyTier, badges: [], segments: [] } : null,
    channel: { code: ch.code, kind: ch.kind },
    at: input.at,
    codes: input.codes,
  });
  const lines: OrderLine[] = evaluation.lines.map((p, i) => ({
    sku: p.sku,
    title: input.items.get(p.sku)!.title,
    quantity: p.quantity,
    unitPriceMinor: p.unitPriceMinor,
    adjustments: p.adjustments.map((a) => ({ ...a })),
    totalMinor: p.totalMinor,
    addedOn: cart.lines[i].channel,
  }));
  const afterDiscounts = evaluation.totalMinor;
  const pointsMinor = Math.min(input.points * input.pointValueMinor, afterDiscounts);
  const points = input.pointValueMinor > 0 ? Math.ceil(pointsMinor / input.pointValueMinor) : 0;
  const promotionIds = [
    ...new Set([...lines.flatMap((l) => l.adjustments.map((a) => a.promotionId)), ...evaluation.gifts.map((g) => g.promotionId)]),
  ];
  const used = new Set(promotionIds);
  const byCampaign = new Map<string, number>();
  for (const p of promotionsFor(input.promotions, ch.code, input.at)) {
    if (!p.campaignId || !used.has(p.id)) continue;
    const amount = lines.reduce(
      (sum, l) => sum + l.adjustments.filter((a) => a.promotionId === p.id).reduce((s, a) => s + a.amountMinor, 0),
      0,
    );
    byCampaign.set(p.campaignId, (byCampaign.get(p.campaignId) ?? 0) + amount);
  }
  return {
    lines,
    price: {
      currency,
      subtotalMinor: evaluation.subtotalMinor,
      discountMinor: evaluation.discountMinor,
      points,
      pointsMinor,
      shippingMinor: input.shippingMinor,
      taxInclusive: cart.lines.every((l) => input.items.get(l.sku)!.taxInclusive),
      totalMinor: afterDiscounts - pointsMinor + input.shippingMinor,
      pricedAt: new Date(input.at).toISOString(),
      promotionIds,
      codes: input.codes.filter((c) => used.has(c.promotionId)).map((c) => ({ ...c })),
      campaigns: [...byCampaign].map(([campaignId, amountMinor]) => ({ campaignId, amountMinor })),
      gifts: evaluation.gifts.map((g) => ({ ...g })),
      channelKind: ch.kind,
      tier: input.customer?.loyaltyTier ?? null,
    },
  };
}
