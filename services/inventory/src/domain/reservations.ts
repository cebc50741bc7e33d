/**
 * Reservations on one SKU: a hold takes units from the channel's source locations by priority
 * (reserved += n), never more than the channel may sell unless its policy accepts backorders; a
 * release gives them back, a commit ships them (on hand and reserved both fall). Units counted
 * against a quota stay used once committed, until the shipment is returned (on hand rises again where
 * the units were shipped from). Every function returns a new record and the deltas it made.
 */
import { ConflictError, ValidationError } from '@omnimall/service-kit/errors';
import { channelAvailability } from './availability';
import { availableAt, emptyLevel } from './stock';
import type { Delta, Hold, Level, Placement, ReserveLine, StockRecord, World } from './types';

export type { Hold, Placement, ReserveLine } from './types';

/** A hold, release, commit or extension: the new record, the hold concerned and the deltas it made. */
export interface HoldResult {
  stock: StockRecord;
  hold: Hold;
  deltas: Delta[];
}

export interface HoldRequest {
  reservationId: string;
  channel: string;
  quantity: number;
  expiresAt: number;
  reference: string;
}

/** Lines of the same SKU summed, sorted by SKU (the fixed order in which SKUs are locked). */
export function mergeLines(lines: readonly ReserveLine[]): ReserveLine[] {
  if (!lines.length) throw new ValidationError('no_lines', 'a reservation needs at least one line', 'send lines: [{ sku, quantity }]');
  const bySku = new Map<string, number>();
  for (const [i, l] of lines.entries()) {
    if (typeof l.sku !== 'string' || !l.sku)
      throw new ValidationError('invalid_sku', `line ${i} has no SKU`, 'name the SKU of every line', { line: i });
    checkQuantity(l.quantity, { line: i, sku: l.sku });
    bySku.set(l.sku, (bySku.get(l.sku) ?? 0) + l.quantity);
  }
  return [...bySku.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([sku, quantity]) => ({ sku, quantity }));
}

/**
 * Holds `quantity` units of the SKU for a reservation on a channel. Idempotent: an existing hold of
 * the reservation is returned as is, with no deltas. Throws ValidationError invalid_quantity or
 * max_per_order, ConflictError insufficient_stock (more than the channel may sell, no backorder).
 */
export function hold(stock: StockRecord, world: World, req: HoldRequest): HoldResult {
  const existing = stock.holds[req.reservationId];
  if (existing) return { stock, hold: existing, deltas: [] };
  checkQuantity(req.quantity, { sku: stock.sku });
  const a = channelAvailability(world, stock, req.channel);
  if (a.maxPerOrder !== null && req.quantity > a.maxPerOrder)
    throw new ValidationError(
      'max_per_order',
      `${req.channel} sells at most ${a.maxPerOrder} of ${stock.sku} per order, not ${req.quantity}`,
      `order at most ${a.maxPerOrder} units`,
      { sku: stock.sku, channel: req.channel, maxPerOrder: a.maxPerOrder, requested: req.quantity },
    );
  if (req.quantity > a.available && !a.backorder)
    throw new ConflictError(
      'insufficient_stock',
      `${req.channel} can sell ${a.available} of ${stock.sku}, not ${req.quantity} (${a.rule})`,
      a.available > 0
        ? `reserve at most ${a.available} units`
        : `${stock.sku} is not available on ${req.channel} now (${a.rule}); try later or remove it`,
      { sku: stock.sku, channel: req.channel, available: a.available, requested: req.quantity, rule: a.rule },
    );

  const held = Math.min(req.quantity, a.available);
  const levels = { ...stock.levels };
  const byLocation: Record<string, number> = {};
  const deltas: Delta[] = [];
  let rest = held;
  for (const location of a.explanation.source.locations) {
    if (rest === 0) break;
    const cur = levels[location] ?? emptyLevel();
    const take = Math.min(rest, availableAt(cur));
    if (take === 0) continue;
    levels[location] = { ...cur, reserved: cur.reserved + take };
    byLocation[location] = take;
    deltas.push({ location, bucket: 'reserved', delta: take, after: cur.reserved + take });
    rest -= take;
  }
  // The allocation never exceeds the pool, so the source locations always cover it.
  if (rest > 0) throw new Error(`hold of ${stock.sku}: ${rest} units not covered by the source locations`);

  const quotaCounted = a.explanation.allocation.kind === 'quota' ? held : 0;
  const h: Hold = {
    reservationId: req.reservationId,
    channel: req.channel,
    quantity: held,
    byLocation,
    backordered: req.quantity - held,
    quotaCounted,
    expiresAt: req.expiresAt,
    reference: req.reference,
  };
  const quotaUsed = quotaCounted
    ? { ...stock.quotaUsed, [req.channel]: (stock.quotaUsed[req.channel] ?? 0) + quotaCounted }
    : stock.quotaUsed;
  return { stock: { ...stock, levels, quotaUsed, holds: { ...stock.holds, [h.reservationId]: h } }, hold: h, deltas };
}

/** Gives a hold's units back (reserved and quota); null when the reservation holds nothing here. */
export function release(stock: StockRecord, reservationId: string): HoldResult | null {
  return settleHold(stock, reservationId, false);
}

/** Ships a hold's units: on hand and reserved fall at each location; the quota stays used. Null: no such hold. */
export function commit(stock: StockRecord, reservationId: string): HoldResult | null {
  return settleHold(stock, reservationId, true);
}

function settleHold(stock: StockRecord, reservationId: string, shipped: boolean): HoldResult | null {
  const h = stock.holds[reservationId];
  if (!h) return null;
  const levels = { ...stock.levels };
  const deltas: Delta[] = [];
  for (const [location, n] of Object.entries(h.byLocation)) {
    const cur: Level = levels[location] ?? emptyLevel();
    const reserved = Math.max(0, cur.reserved - n);
    const onHand = shipped ? Math.max(0, cur.onHand - n) : cur.onHand;
    levels[location] = { ...cur, reserved, onHand };
    if (reserved !== cur.reserved) deltas.push({ location, bucket: 'reserved', delta: reserved - cur.reserved, after: reserved });
    if (onHand !== cur.onHand) deltas.push({ location, bucket: 'onHand', delta: onHand - cur.onHand, after: onHand });
  }
  const holds = { ...stock.holds };
  delete holds[reservationId];
  let quotaUsed = stock.quotaUsed;
  if (!shipped && h.quotaCounted) quotaUsed = { ...quotaUsed, [h.channel]: Math.max(0, (quotaUsed[h.channel] ?? 0) - h.quotaCounted) };
  return { stock: { ...stock, levels, holds, quotaUsed }, hold: h, deltas };
}

/** What a hold takes from where: the part of it a commit ships and a return puts back. */
export const placementOf = (h: Hold): Placement => ({ byLocation: { ...h.byLocation }, quotaCounted: h.quotaCounted });

/**
 * Takes a committed reservation's units of this SKU back (its order was cancelled or returned): on hand
 * rises at each location by what was shipped from it, and the units the commit left counted against
 * the channel's quota are given back. Reserved does not move (a committed reservation holds nothing).
 * Backordered units never left stock and are not in `shipped`. Pure; the caller keeps a return from
 * being applied twice.
 */
export function returnShipped(stock: StockRecord, channel: string, shipped: Placement): { stock: StockRecord; deltas: Delta[] } {
  const levels = { ...stock.levels };
  const deltas: Delta[] = [];
  for (const [location, n] of Object.entries(shipped.byLocation)) {
    if (!Number.isSafeInteger(n) || n <= 0) continue;
    const cur: Level = levels[location] ?? emptyLevel();
    levels[location] = { ...cur, onHand: cur.onHand + n };
    deltas.push({ location, bucket: 'onHand', delta: n, after: cur.onHand + n });
  }
  let quotaUsed = stock.quotaUsed;
  if (shipped.quotaCounted > 0) quotaUsed = { ...quotaUsed, [channel]: Math.max(0, (quotaUsed[channel] ?? 0) - shipped.quotaCounted) };
  return { stock: { ...stock, levels, quotaUsed }, deltas };
}

/** Moves a hold's expiry; null when the reservation holds nothing here. No stock moves, so no deltas. */
export function extend(stock: StockRecord, reservationId: string, expiresAt: number): HoldResult | null {
  const h = stock.holds[reservationId];
  if (!h) return null;
  const next: Hold = { ...h, expiresAt };
  return { stock: { ...stock, holds: { ...stock.holds, [reservationId]: next } }, hold: next, deltas: [] };
}

/** The reservations whose holds on this SKU have expired by `now`, by id. */
export function expiredHolds(stock: StockRecord, now: number): string[] {
  return Object.values(stock.holds)
    .filter((h) => h.expiresAt <= now)
    .map((h) => h.reservationId)
    .sort();
}

function checkQuantity(quantity: number, details: Record<string, unknown>): void {
  if (!Number.isSafeInteger(quantity) || quantity < 1)
    throw new ValidationError(
      'invalid_quantity',
      `a reserved quantity must be a whole number of 1 or more, not ${JSON.stringify(quantity)}`,
      'send whole units',
      {
        ...details,
        quantity,
      },
    );
}
