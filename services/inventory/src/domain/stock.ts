/**
 * Stock levels of one SKU per location and the operations that change them. Damaged and
 * quality-held units are part of onHand but not sellable; safetyStock is held back from sale;
 * reserved moves only through reservations. Every operation returns new levels (the input is never
 * touched) and one delta per location and bucket it changed.
 */
import { ConflictError, ValidationError } from '@omnimall/service-kit/errors';
import type { Bucket, Delta, Incoming, Level, StockOp, StockRecord } from './types';

export type { Bucket, Delta, Incoming, Level, StockOp, StockRecord } from './types';

export const BUCKETS: readonly Bucket[] = ['onHand', 'reserved', 'damaged', 'qualityHold', 'safetyStock', 'incoming'];

/** The counting buckets (every bucket but incoming, which is a list). */
type Count = Exclude<Bucket, 'incoming'>;

export function emptyLevel(): Level {
  return { onHand: 0, reserved: 0, damaged: 0, qualityHold: 0, safetyStock: 0, incoming: [] };
}

/** A SKU nobody has stocked yet. */
export function emptyStock(sku: string, sellerId: string | null): StockRecord {
  return { sku, sellerId, version: 0, levels: {}, holds: {}, quotaUsed: {}, published: {}, ops: {}, updatedAt: 0 };
}

/** Units that can be sold at a location: on hand, less what is reserved, unsellable or held back. */
export function availableAt(l: Level): number {
  return Math.max(0, l.onHand - l.reserved - l.damaged - l.qualityHold - l.safetyStock);
}

/** Units expected at a location, all incoming entries together. */
export function incomingTotal(l: Level): number {
  return l.incoming.reduce((sum, i) => sum + i.quantity, 0);
}

/**
 * Applies one stock operation. Throws ValidationError (invalid_quantity, unknown_location,
 * bucket_not_writable, invalid_bucket, same_location, invalid_operation) or ConflictError
 * (below_committed, insufficient_stock); nothing is changed when it throws.
 */
export function applyStockOp(
  levels: Record<string, Level>,
  op: StockOp,
  knownLocations: ReadonlySet<string>,
): { levels: Record<string, Level>; deltas: Delta[] } {
  const next: Record<string, Level> = { ...levels };
  const deltas: Delta[] = [];
  /** A copy of the level at a location, for this operation to change. */
  const level = (location: string): Level => {
    if (!knownLocations.has(location) && !levels[location]) throw unknownLocation(location);
    if (next[location] === levels[location]) {
      const cur = levels[location] ?? emptyLevel();
      next[location] = { ...cur, incoming: cur.incoming.map((i) => ({ ...i })) };
    }
    return next[location];
  };
  /** Sets a counting bucket and records its delta. */
  const put = (location: string, bucket: Count, value: number): void => {
    const l = level(location);
    if (value < 0) throw negative(location, bucket, value);
    const delta = value - l[bucket];
    if (delta === 0) return;
    l[bucket] = value;
    deltas.push({ location, bucket, delta, after: value });
  };

  switch (op.kind) {
    case 'set': {
      quantityOf(op.quantity, 'quantity', 0);
      const bucket = countBucket(op.bucket, 'set');
      put(op.location, bucket, op.quantity);
      break;
    }
    case 'adjust': {
      quantityOf(op.delta, 'delta', null);
      if (op.bucket === 'incoming') {
        cancelIncoming(level(op.location), op.location, -op.delta, deltas);
        break;
      }
      const bucket = countBucket(op.bucket, 'adjust');
      put(op.location, bucket, level(op.location)[bucket] + op.delta);
      break;
    }
    case 'transfer': {
      quantityOf(op.quantity, 'quantity', 1);
      if (op.from === op.to)
        throw new ValidationError(
          'same_location',
          `a transfer needs two different locations, not ${op.from} twice`,
          'name another location in `to`',
          {
            location: op.from,
          },
        );
      const from = level(op.from);
      level(op.to);
      const available = availableAt(from);
      if (op.quantity > available)
        throw new ConflictError(
          'insufficient_stock',
          `only ${available} units are available to transfer from ${op.from}, not ${op.quantity}`,
          'transfer at most the available units (on hand less reserved, damaged, quality hold and safety stock), or release some first',
          { location: op.from, available, requested: op.quantity },
        );
      put(op.from, 'onHand', from.onHand - op.quantity);
      put(op.to, 'onHand', next[op.to].onHand + op.quantity);
      break;
    }
    case 'receive': {
      quantityOf(op.quantity, 'quantity', 1);
      const l = level(op.location);
      const before = incomingTotal(l);
      l.incoming = takeIncoming(l.incoming, op.quantity, op.reference);
      const taken = before - incomingTotal(l);
      if (taken > 0) deltas.push({ location: op.location, bucket: 'incoming', delta: -taken, after: before - taken });
      put(op.location, 'onHand', l.onHand + op.quantity);
      break;
    }
    case 'expect': {
      quantityOf(op.quantity, 'quantity', 1);
      if (!Number.isFinite(op.expectedAt))
        throw new ValidationError(
          'invalid_expected_at',
          'expectedAt must be a date (epoch milliseconds)',
          'send when the units are expected, in epoch ms',
        );
      if (typeof op.reference !== 'string' || !op.reference.trim())
        throw new ValidationError(
          'invalid_reference',
          'expected units need a reference',
          'name the purchase order or transfer they arrive with',
        );
      const l = level(op.location);
      l.incoming = [...l.incoming, { quantity: op.quantity, expectedAt: op.expectedAt, reference: op.reference }];
      deltas.push({ location: op.location, bucket: 'incoming', delta: op.quantity, after: incomingTotal(l) });
      break;
    }
    default:
      throw new ValidationError(
        'invalid_operation',
        `unknown stock operation ${JSON.stringify((op as { kind?: unknown }).kind)}`,
        'use one of set, adjust, transfer, receive, expect',
      );
  }

  for (const location of new Set(deltas.map((d) => d.location))) guardCommitted(location, levels[location] ?? emptyLevel(), next[location]);
  return { levels: next, deltas };
}

/**
 * The invariant: on hand covers what is reserved, damaged and in quality hold. An operation may not
 * break it (or make a broken one worse); safety stock may exceed what is left (availableAt clamps).
 */
function guardCommitted(location: string, before: Level, after: Level): void {
  const committed = (l: Level) => l.reserved + l.damaged + l.qualityHold;
  const shortBy = (l: Level) => committed(l) - l.onHand;
  if (shortBy(after) <= 0 || shortBy(after) <= shortBy(before)) return;
  throw new ConflictError(
    'below_committed',
    `at ${location}, on hand (${after.onHand}) would fall below reserved + damaged + quality hold (${committed(after)})`,
    'release reservations or clear damaged / quality-hold units first, or change less',
    { location, onHand: after.onHand, reserved: after.reserved, damaged: after.damaged, qualityHold: after.qualityHold },
  );
}

/** Receiving: the entry with `reference` first, then earliest expected first; excess leaves incoming empty. */
function takeIncoming(incoming: readonly Incoming[], quantity: number, reference: string | undefined): Incoming[] {
  const order = incoming
    .map((entry, index) => ({ entry, index }))
    .sort(
      (a, b) =>
        Number(b.entry.reference === reference && reference !== undefined) -
          Number(a.entry.reference === reference && reference !== undefined) ||
        a.entry.expectedAt - b.entry.expectedAt ||
        a.index - b.index,
    );
  const left = incoming.map((i) => ({ ...i }));
  let rest = quantity;
  for (const { index } of order) {
    const take = Math.min(rest, left[index].quantity);
    left[index].quantity -= take;
    rest -= take;
  }
  return left.filter((i) => i.quantity > 0);
}

/** Adjusting incoming down: cancels expected units, latest expected first. Up is what `expect` is for. */
function cancelIncoming(l: Level, location: string, quantity: number, deltas: Delta[]): void {
  if (quantity < 0)
    throw new ValidationError(
      'bucket_not_writable',
      'incoming units cannot be added by an adjustment',
      'use an `expect` operation with the expected date and the purchase order or transfer reference',
      { location, bucket: 'incoming' },
    );
  const total = incomingTotal(l);
  if (quantity > total) throw negative(location, 'incoming', total - quantity);
  const latestFirst = l.incoming.map((i, index) => ({ i, index })).sort((a, b) => b.i.expectedAt - a.i.expectedAt || b.index - a.index);
  const left = l.incoming.map((i) => ({ ...i }));
  let rest = quantity;
  for (const { index } of latestFirst) {
    const take = Math.min(rest, left[index].quantity);
    left[index].quantity -= take;
    rest -= take;
  }
  l.incoming = left.filter((i) => i.quantity > 0);
  deltas.push({ location, bucket: 'incoming', delta: -quantity, after: total - quantity });
}

/** A counting bucket `set` or `adjust` may write (never reserved; set never incoming). */
function countBucket(bucket: Bucket, kind: 'set' | 'adjust'): Count {
  if (!BUCKETS.includes(bucket))
    throw new ValidationError('invalid_bucket', `unknown bucket ${JSON.stringify(bucket)}`, `use one of ${BUCKETS.join(', ')}`, { bucket });
  if (bucket === 'reserved')
    throw new ValidationError(
      'bucket_not_writable',
      `reserved units cannot be ${kind === 'set' ? 'set' : 'adjusted'} directly`,
      'reserved moves only through reservations: reserve, release or commit them (POST /reservations)',
      { bucket },
    );
  if (bucket === 'incoming')
    throw new ValidationError(
      'bucket_not_writable',
      'incoming units cannot be set',
      'announce units with an `expect` operation and book their arrival with `receive`',
      { bucket },
    );
  return bucket;
}

/** Checks an operation's number: an integer, at least `min` (null: any but 0). */
function quantityOf(n: number, field: string, min: number | null): void {
  const ok = Number.isSafeInteger(n) && (min === null ? n !== 0 : n >= min);
  if (!ok)
    throw new ValidationError(
      'invalid_quantity',
      `${field} must be ${min === null ? 'a non-zero integer' : min === 0 ? 'a whole number of 0 or more' : 'a whole number of 1 or more'}, not ${JSON.stringify(n)}`,
      'send whole units',
      { field, value: n },
    );
}

function negative(location: string, bucket: Bucket, value: number): ValidationError {
  return new ValidationError(
    'invalid_quantity',
    `${bucket} at ${location} would become ${value}`,
    'quantities cannot go below 0: change by at most what the bucket holds',
    { location, bucket, value },
  );
}

function unknownLocation(location: string): ValidationError {
  return new ValidationError(
    'unknown_location',
    `no location ${location}`,
    'create the location first (POST /locations) or use an existing id',
    {
      location,
    },
  );
}
