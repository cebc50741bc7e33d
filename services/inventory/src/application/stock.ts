import { NotFoundError, PreconditionFailedError, UnprocessableError } from '@omnimall/service-kit/errors';
import { requestHash, type OutgoingEvent } from '@omnimall/service-kit';
import { channelAvailability, channelsOf } from '../domain/availability';
import { applyStockOp, emptyStock } from '../domain/stock';
import type { Availability, StockOp, StockRecord, World } from '../domain/types';
import { stockAdjusted, type Provenance } from '../events/out/inventory.stock-adjustment';
import type { EventOrigin } from '../events/out/origin';
import type { ConfigRepository, StockRepository } from '../store';
import { settle } from './settle';
import type { WorldCache } from './world';

/** How many idempotency keys a SKU remembers (the oldest are forgotten first). */
export const OPS_KEPT = 200;

/** One stock operation as asked: the op, who and why, and its idempotency key. */
export interface OperationRequest {
  op: StockOp;
  provenance: Provenance;
  origin: EventOrigin;
  /** The caller's idempotency key, scoped to the caller (e.g. `staff:<id>:<key>`). */
  opKey: string;
  /** The stock version the caller last saw (If-Match), or none. */
  expectedVersion?: number;
}

export interface OperationResult {
  stock: StockRecord;
  /** The event id of the adjustment (the same on a replay of the same key). */
  adjustmentId: string;
  replayed: boolean;
}

/** The newest OPS_KEPT keys of a record, with one more. */
export function withOp(ops: StockRecord['ops'], key: string, entry: StockRecord['ops'][string]): StockRecord['ops'] {
  const all = Object.entries({ ...ops, [key]: entry });
  if (all.length <= OPS_KEPT) return Object.fromEntries(all);
  all.sort((a, b) => b[1].at - a[1].at);
  return Object.fromEntries(all.slice(0, OPS_KEPT));
}

export const stockNotFound = (sku: string): NotFoundError =>
  new NotFoundError(
    'stock_not_found',
    `no stock is recorded for SKU ${sku}`,
    'set or receive stock at a location first (POST /stock/{sku}/operations)',
  );

/**
 * The stock operations (set, adjust, transfer, receive, expect) and the availability they publish.
 * Each one is a single compare-and-set on the SKU's document: the new levels, the adjustment event
 * and every changed channel's availability event are written together, or not at all.
 */
export class StockService {
  constructor(
    private readonly stock: StockRepository,
    private readonly config: Pick<ConfigRepository, 'sellerOf'>,
    private readonly worlds: WorldCache,
  ) {}

  async get(sku: string): Promise<StockRecord> {
    const s = await this.stock.get(sku);
    if (!s) throw stockNotFound(sku);
    return s;
  }

  async operate(sku: string, req: OperationRequest): Promise<OperationResult> {
    const { world, locations } = await this.worlds.get();
    const known = new Set(locations.keys());
    const hash = requestHash({ op: req.op, reason: req.provenance.reason, reference: req.provenance.reference });
    const sellerId = await this.config.sellerOf(sku);
    let outcome: { adjustmentId: string; replayed: boolean } = { adjustmentId: '', replayed: false };
    const stock = await this.stock.transact(sku, (cur) => {
      const base = cur ?? emptyStock(sku, sellerId);
      const seen = base.ops[req.opKey];
      if (seen) {
        if (seen.hash !== hash)
          throw new UnprocessableError(
            'idempotency_key_reused',
            'this Idempotency-Key was used for another operation on this SKU',
            'send a new Idempotency-Key for a new operation; repeat a request only with its own key and body',
            { sku },
          );
        outcome = { adjustmentId: seen.adjustmentId, replayed: true };
        return null;
      }
      if (req.expectedVersion !== undefined && req.expectedVersion !== base.version)
        throw new PreconditionFailedError(
          'version_mismatch',
          `the stock of ${sku} is at version ${base.version}, not ${req.expectedVersion}`,
          'GET /stock/{sku} for the current levels and version, then decide again',
          { sku, version: base.version },
        );
      const { levels, deltas } = applyStockOp(base.levels, req.op, known);
      const now = Date.now();
      const next: StockRecord = { ...base, sellerId: base.sellerId ?? sellerId, levels, version: base.version + 1, updatedAt: now };
      const adjustment = stockAdjusted(sku, next.sellerId, next.version, deltas, req.provenance, req.origin);
      const adjustmentId = adjustment.value.envelope.eventId;
      next.ops = withOp(base.ops, req.opKey, { hash, at: now, adjustmentId });
      outcome = { adjustmentId, replayed: false };
      const settled = settle(world, next, req.origin);
      return { record: settled.record, events: [adjustment, ...settled.events] };
    });
    return { stock: stock!, ...outcome };
  }

  /**
   * Publishes what changed for each channel after a configuration change (policy, exception, link,
   * channel state or mapping), reading the configuration afresh; nothing when nothing changed.
   */
  async recompute(sku: string, origin: EventOrigin, fresh?: World): Promise<number> {
    const world = fresh ?? (await this.freshWorld());
    let published = 0;
    await this.stock.transact(sku, (cur) => {
      published = 0;
      if (!cur) return null;
      const settled = settle(world, { ...cur, version: cur.version + 1, updatedAt: Date.now() }, origin);
      const events: OutgoingEvent[] = settled.events;
      published = events.filter((e) => e.topic === 'inventory.stock-level').length;
      return events.length ? { record: settled.record, events } : null;
    });
    return published;
  }

  /** Every SKU's recompute, page by page (after a configuration change that may touch any SKU). */
  async recomputeAll(origin: EventOrigin, pageSize = 200): Promise<{ skus: number; published: number }> {
    const world = await this.freshWorld();
    let after: string | null = null;
    let skus = 0;
    let published = 0;
    for (;;) {
      const page = await this.stock.page(after, pageSize);
      if (!page.length) return { skus, published };
      for (const sku of page) published += await this.recompute(sku, origin, world);
      skus += page.length;
      after = page[page.length - 1];
    }
  }

  private async freshWorld(): Promise<World> {
    this.worlds.invalidate();
    return (await this.worlds.get()).world;
  }

  /** The SKU's availability on one channel or on every channel, each with its explanation. */
  async availability(sku: string, channel?: string): Promise<Availability[]> {
    const stock = (await this.stock.get(sku)) ?? emptyStock(sku, null);
    const { world } = await this.worlds.get();
    const channels = channel ? [channel] : channelsOf(world);
    return channels.map((c) => channelAvailability(world, stock, c));
  }
}
