import { availableAt } from '../domain/stock';
import type { StockState } from '../domain/types';
import type { Adjustment, AdjustmentRepository, StockRepository } from '../store';

export interface SkuTotals {
  sku: string;
  sellerId: string | null;
  onHand: number;
  reserved: number;
  damaged: number;
  qualityHold: number;
  safetyStock: number;
  incoming: number;
  available: number;
  /** What each channel was last told it may sell. */
  channels: Record<string, { available: number; state: StockState }>;
}

export interface Alert {
  sku: string;
  sellerId: string | null;
  channel: string;
  state: 'low_stock' | 'out_of_stock';
  available: number;
}

/** Reporting reads: global totals across locations and channels, open alerts, a SKU's history. */
export class StockQueries {
  constructor(
    private readonly stock: Pick<StockRepository, 'all'>,
    private readonly adjustments: Pick<AdjustmentRepository, 'ofSku'>,
  ) {}

  /** Per SKU (filtered by `keep`) and in all: every bucket summed over locations, and each channel's published availability. */
  async totals(
    keep: (s: { sku: string; sellerId: string | null }) => boolean,
  ): Promise<{ skus: SkuTotals[]; all: Omit<SkuTotals, 'sku' | 'sellerId' | 'channels'> }> {
    const skus: SkuTotals[] = [];
    const all = { onHand: 0, reserved: 0, damaged: 0, qualityHold: 0, safetyStock: 0, incoming: 0, available: 0 };
    for await (const s of this.stock.all()) {
      if (!keep(s)) continue;
      const t: SkuTotals = {
        sku: s.sku,
        sellerId: s.sellerId,
        onHand: 0,
        reserved: 0,
        damaged: 0,
        qualityHold: 0,
        safetyStock: 0,
        incoming: 0,
        available: 0,
        channels: {},
      };
      for (const l of Object.values(s.levels)) {
        t.onHand += l.onHand;
        t.reserved += l.reserved;
        t.damaged += l.damaged;
        t.qualityHold += l.qualityHold;
        t.safetyStock += l.safetyStock;
        t.incoming += l.incoming.reduce((n, i) => n + i.quantity, 0);
        t.available += availableAt(l);
      }
      for (const [c, p] of Object.entries(s.published)) t.channels[c] = { available: p.available, state: p.state };
      for (const k of Object.keys(all) as (keyof typeof all)[]) all[k] += t[k];
      skus.push(t);
    }
    return { skus, all };
  }

  /** The channels that show a SKU low or out of stock now, filtered by `keep`. */
  async alerts(keep: (a: Alert) => boolean): Promise<Alert[]> {
    const out: Alert[] = [];
    for await (const s of this.stock.all())
      for (const [channel, p] of Object.entries(s.published)) {
        if (p.state !== 'low_stock' && p.state !== 'out_of_stock') continue;
        const a: Alert = { sku: s.sku, sellerId: s.sellerId, channel, state: p.state, available: p.available };
        if (keep(a)) out.push(a);
      }
    return out;
  }

  history(sku: string, limit: number, before?: number): Promise<Adjustment[]> {
    return this.adjustments.ofSku(sku, limit, before);
  }
}
