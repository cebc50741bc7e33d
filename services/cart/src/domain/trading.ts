import type { StockStatus } from '@omnimall/contracts';
import { AppError, ConflictError, ForbiddenError, NotFoundError, UnprocessableError } from '@omnimall/service-kit/errors';
import type { CartLine } from './cart';

/**
 * Who and where may trade, decided from the local projections of identity, channels and the
 * channel catalogues. Each refusal is an AppError whose `code` names the reason and whose hint says
 * what to do; nothing here reads a database.
 */
export interface CustomerView {
  customerId: string;
  status: 'active' | 'suspended' | 'banned' | 'erased';
  reason: string | null;
  /** End of a suspension (epoch millis), if any. */
  until: number | null;
  dataRegion: string;
  /** The loyalty tier identity applies (conditions on `customer.tier` read it). */
  loyaltyTier: string;
}

export interface ChannelView {
  code: string;
  /** web, mobile_app, ... (conditions on `channel.kind` read it). */
  kind: string;
  state: string;
  expectedBackAt: number | null;
  blockReasons: string[];
  region: string;
  allowedDataRegions: string[];
}

/** Every field of a view, once: what a projection stores and reads, and takes from its event. */
export type ViewFields<V> = readonly (keyof V & string)[];
const fieldsOf = <V>(all: Record<keyof V & string, true>): ViewFields<V> => Object.keys(all) as (keyof V & string)[];

export const CUSTOMER_VIEW_FIELDS = fieldsOf<CustomerView>({
  customerId: true,
  status: true,
  reason: true,
  until: true,
  dataRegion: true,
  loyaltyTier: true,
});
export const CHANNEL_VIEW_FIELDS = fieldsOf<ChannelView>({
  code: true,
  kind: true,
  state: true,
  expectedBackAt: true,
  blockReasons: true,
  region: true,
  allowedDataRegions: true,
});
export const ITEM_VIEW_FIELDS = fieldsOf<ItemView>({
  channel: true,
  sku: true,
  status: true,
  title: true,
  priceMinor: true,
  currency: true,
  barredRegions: true,
});

export const STOCK_VIEW_FIELDS = fieldsOf<StockView>({ available: true, state: true, rule: true });

/** A customer's loyalty ledger as promotions last published it (promotions.loyalty-entry: the balance after each entry). */
export interface LoyaltyView {
  balance: number;
  held: number;
  tier: string;
}

export const LOYALTY_VIEW_FIELDS = fieldsOf<LoyaltyView>({ balance: true, held: true, tier: true });

/** The view's fields of a value that has them all (an event carrying the aggregate's full state). */
export function viewOf<V>(from: V, fields: ViewFields<V>): V {
  const view = {} as V;
  for (const f of fields) view[f] = from[f];
  return view;
}

/** The id of a channel's listing of an SKU (the local-item projection's key). */
export function itemId(channel: string, sku: string): string {
  return `${channel}:${sku}`;
}

export interface ItemView {
  channel: string;
  sku: string;
  status: 'listed' | 'withdrawn';
  title: string;
  priceMinor: number | null;
  currency: string | null;
  barredRegions: string[];
}

/** What one channel may sell of an SKU (inventory.stock-level; keyed like the item, `<channel>:<sku>`). */
export interface StockView {
  available: number;
  state: StockStatus;
  /** The inventory rule that decided `available` (shared_pool, quota, embargo...). */
  rule: string;
}

/**
 * A customer without a projection yet (identity's first event has not arrived) may trade: the
 * projection only ever restricts. A suspension whose `until` has passed no longer applies.
 */
export function assertCustomerMayTrade(c: CustomerView | null, now = Date.now()): void {
  if (!c) return;
  if (c.status === 'banned') {
    throw new ForbiddenError(
      'customer_banned',
      'this customer account is banned',
      'contact customer support; a banned account cannot use the cart',
      {
        reason: c.reason,
      },
    );
  }
  if (c.status === 'suspended' && (c.until === null || c.until > now)) {
    throw new ForbiddenError(
      'customer_suspended',
      `this customer account is suspended${c.until ? ` until ${new Date(c.until).toISOString()}` : ''}`,
      c.until
        ? `try again after ${new Date(c.until).toISOString()} or contact customer support`
        : 'contact customer support to lift the suspension',
      { reason: c.reason, until: c.until ? new Date(c.until).toISOString() : null },
    );
  }
  if (c.status === 'erased') {
    throw new ForbiddenError('customer_erased', 'this customer account was erased', 'register a new account to shop again');
  }
}

/**
 * A channel the cart does not know: 404 channel_not_found, as every service answers it (the kit's
 * channelNotFound; this module keeps to the kit's errors, so it is spelled out here).
 */
export function channelNotFound(code: string): NotFoundError {
  return new NotFoundError(
    'channel_not_found',
    `there is no channel ${code} known to the cart service`,
    'check the channel code (GET /channels on the channels service lists them); a channel registered moments ago is known everywhere once its registration event has arrived, so retry shortly',
    { channel: code },
  );
}

/** Channel states in which a cart may be read (and its stream opened) though not changed: a maintenance keeps carts safe. */
const READABLE_WITHOUT_TRADING: ReadonlySet<string> = new Set(['maintenance']);

/**
 * Reading a cart on a channel: what trading needs (assertChannelTrades), except that a channel in
 * maintenance is read as well, since the customer was told their cart is kept safe. The view then
 * carries `notice` (readOnlyNotice) saying changes wait until the channel is back.
 */
export function assertChannelReadable(code: string, ch: ChannelView | null): ChannelView {
  if (ch && READABLE_WITHOUT_TRADING.has(ch.state)) return ch;
  return assertChannelTrades(code, ch);
}

/** What a view read on a channel that takes no change says about it (null when the channel trades). */
export interface ReadOnlyNotice {
  code: 'channel_not_active';
  message: string;
  hint: string;
  state: string;
  expectedBackAt: string | null;
}

export function readOnlyNotice(ch: ChannelView | null): ReadOnlyNotice | null {
  if (!ch || ch.state === 'active') return null;
  const back = ch.expectedBackAt ? new Date(ch.expectedBackAt).toISOString() : null;
  return {
    code: 'channel_not_active',
    message: `channel ${ch.code} is in ${ch.state}${back ? ` until about ${back}` : ''}: the cart is kept safe and can be read, but takes no change and no checkout`,
    hint: back ? `change the cart or check out after ${back}, or on another channel` : 'change the cart or check out on another channel',
    state: ch.state,
    expectedBackAt: back,
  };
}

/** Commerce is allowed only on a known channel whose state is `active` and which has no block reason. */
export function assertChannelTrades(code: string, ch: ChannelView | null): ChannelView {
  if (!ch) throw channelNotFound(code);
  if (ch.state !== 'active') {
    const back = ch.expectedBackAt ? new Date(ch.expectedBackAt).toISOString() : null;
    throw new ConflictError(
      'channel_not_active',
      `channel ${code} is in state ${ch.state}${back ? ` and expected back at ${back}` : ''}; it takes no cart changes`,
      back ? `try again after ${back}, or shop on another channel` : 'shop on another channel',
      { channel: code, state: ch.state, expectedBackAt: back },
    );
  }
  if (ch.blockReasons.length) {
    throw new ConflictError(
      'channel_blocked',
      `channel ${code} is blocked: ${ch.blockReasons.join(', ')}`,
      'the channel operator must resolve the block (e.g. update branding or compliance text); shop on another channel meanwhile',
      { channel: code, blockReasons: ch.blockReasons },
    );
  }
  return ch;
}

/**
 * A customer's cart is personal data: a channel receives it only when the customer's data region is
 * among the channel's allowedDataRegions. Anonymous carts and customers without a projection carry
 * no region and pass.
 */
export function assertDataMayReachChannel(c: CustomerView | null, ch: ChannelView): void {
  if (!c) return;
  if (!ch.allowedDataRegions.includes(c.dataRegion)) {
    throw new ForbiddenError(
      'data_region_not_allowed',
      `channel ${ch.code} may not receive personal data of customers whose data resides in ${c.dataRegion}`,
      `use a channel that serves the ${c.dataRegion} region`,
      { channel: ch.code, dataRegion: c.dataRegion, allowedDataRegions: ch.allowedDataRegions },
    );
  }
}

/**
 * The codes of the cart's POLICY refusals: who may trade (ban, suspension, erasure), where (a channel
 * in maintenance, closed or blocked; a channel that may not receive the customer's data) and what (an
 * item the market bars). Each is recorded as evidence on platform.exception (see refusalRecorded);
 * validation, unknown channels and unsellable listings are not policy decisions and are not.
 */
export const POLICY_REFUSALS: ReadonlySet<string> = new Set([
  'customer_banned',
  'customer_suspended',
  'customer_erased',
  'channel_not_active',
  'channel_blocked',
  'data_region_not_allowed',
  'item_barred_in_region',
  'channel_mismatch',
]);

/** Whom a refusal concerns: the customer, or the anonymous device's cart. */
export interface RefusalSubject {
  cartId: string;
  customerId: string | null;
}

/**
 * A policy refusal (POLICY_REFUSALS) marked to be recorded as evidence (kind `refusal`, the kit's
 * `AppError.recorded`): its subject the customer (an anonymous cart: the cart), or the product for an
 * item the market bars; its channel the one the attempt was made on. Anything else is returned as is.
 */
export function refusalRecorded<E>(err: E, who: RefusalSubject, channel: string | null): E {
  if (!(err instanceof AppError) || !POLICY_REFUSALS.has(err.code) || err.record?.kind === 'refusal') return err;
  const sku = err.code === 'item_barred_in_region' ? err.details?.sku : undefined;
  const subject =
    typeof sku === 'string'
      ? { subjectKind: 'product', subjectId: sku }
      : who.customerId
        ? { subjectKind: 'customer', subjectId: who.customerId }
        : { subjectKind: 'cart', subjectId: who.cartId };
  err.recorded({ kind: 'refusal', ...subject, channel });
  return err;
}

export type LineProblem = 'not_listed_on_channel' | 'withdrawn_on_channel' | 'barred_in_region' | 'no_price_on_channel';

/** Why an item cannot be sold on a channel, or null when it can. */
export function lineProblem(item: ItemView | null, ch: Pick<ChannelView, 'region'>): LineProblem | null {
  if (!item) return 'not_listed_on_channel';
  if (item.status !== 'listed') return 'withdrawn_on_channel';
  if (item.barredRegions.includes(ch.region)) return 'barred_in_region';
  if (item.priceMinor === null || item.currency === null) return 'no_price_on_channel';
  return null;
}

/** Refuses adding an item the channel cannot sell; 451 when the market bars it. */
export function assertItemSellable(sku: string, item: ItemView | null, ch: ChannelView): void {
  const problem = lineProblem(item, ch);
  if (!problem) return;
  if (problem === 'barred_in_region') {
    throw new AppError(
      451,
      'item_barred_in_region',
      `${sku} may not be sold in region ${ch.region} (channel ${ch.code})`,
      'remove it, or buy it on a channel serving a region where it is allowed',
      {
        sku,
        channel: ch.code,
        region: ch.region,
      },
    );
  }
  throw new UnprocessableError(
    'item_not_sold_on_channel',
    `${sku} is not sold on channel ${ch.code} (${problem})`,
    "pick an item from this channel's catalogue",
    {
      sku,
      channel: ch.code,
      reason: problem,
    },
  );
}

export interface PricedLine extends Omit<CartLine, 'addedAt'> {
  addedAt: string;
  available: boolean;
  reason: LineProblem | null;
  title: string | null;
  unitPriceMinor: number | null;
  currency: string | null;
  lineTotalMinor: number | null;
  /** The stock of the line's SKU on the line's channel; absent while inventory has published none. */
  stock?: { available: number; state: StockStatus };
  /** The line's channel has the SKU out of stock (informational: the line stays priced). */
  outOfStock: boolean;
}

export interface PricedCart {
  lines: PricedLine[];
  totals: { currency: string; subtotalMinor: number; units: number }[];
  unavailableLines: number;
}

/** A line's stock fields: the stock of its SKU on its own channel (`stock` keyed by itemId), when known. */
function stockOf(l: CartLine, stock: ReadonlyMap<string, StockView>): Pick<PricedLine, 'stock' | 'outOfStock'> {
  const s = stock.get(itemId(l.channel, l.sku));
  return s ? { stock: { available: s.available, state: s.state }, outOfStock: s.state === 'out_of_stock' } : { outOfStock: false };
}

/**
 * Prices each line for the viewing channel. A line the channel cannot sell stays in the cart,
 * flagged with its reason and left out of the totals. Each line also shows the stock of its SKU on
 * the channel it was added on (`stock`, by itemId), which changes neither availability nor totals.
 */
export function priceCart(
  lines: CartLine[],
  ch: ChannelView | null,
  items: Map<string, ItemView>,
  stock: ReadonlyMap<string, StockView> = new Map(),
): PricedCart {
  const totals = new Map<string, { subtotalMinor: number; units: number }>();
  let unavailable = 0;
  const priced = lines.map((l): PricedLine => {
    const base = { sku: l.sku, quantity: l.quantity, channel: l.channel, addedAt: new Date(l.addedAt).toISOString(), ...stockOf(l, stock) };
    if (!ch) return { ...base, available: true, reason: null, title: null, unitPriceMinor: null, currency: null, lineTotalMinor: null };
    const item = items.get(l.sku) ?? null;
    const reason = lineProblem(item, ch);
    if (reason || !item) {
      unavailable++;
      return { ...base, available: false, reason, title: item?.title ?? null, unitPriceMinor: null, currency: null, lineTotalMinor: null };
    }
    const lineTotal = item.priceMinor! * l.quantity;
    const t = totals.get(item.currency!) ?? { subtotalMinor: 0, units: 0 };
    t.subtotalMinor += lineTotal;
    t.units += l.quantity;
    totals.set(item.currency!, t);
    return {
      ...base,
      available: true,
      reason: null,
      title: item.title,
      unitPriceMinor: item.priceMinor,
      currency: item.currency,
      lineTotalMinor: lineTotal,
    };
  });
  return { lines: priced, totals: [...totals].map(([currency, t]) => ({ currency, ...t })), unavailableLines: unavailable };
}
