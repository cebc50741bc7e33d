import type { ServiceRuntime } from '@omnimall/service-kit';
import { MongoAdjustmentRepository, type AdjustmentRepository } from './adjustments';
import { MongoConfigRepository, type ConfigRepository } from './config';
import { MongoImportRepository, type ImportRepository } from './imports';
import { MongoReservationRepository, type ReservationRepository } from './reservations';
import { inventoryModels } from './schemas';
import { MongoStockRepository, type StockRepository } from './stock';

export type { Adjustment, AdjustmentRepository } from './adjustments';
export type { ConfigRepository, Link, Location, StoredPolicy } from './config';
export type { ImportJob, ImportRepository } from './imports';
export type { Reservation, ReservationRepository } from './reservations';
export type { ImportError, ReservationLine, ReservationState } from './schemas';
export type { StockChange, StockRepository } from './stock';

/** The inventory database, one repository per aggregate. */
export interface InventoryStore {
  stock: StockRepository;
  reservations: ReservationRepository;
  adjustments: AdjustmentRepository;
  config: ConfigRepository;
  imports: ImportRepository;
}

/**
 * Builds the repositories on the runtime's database. Stock and reservations are tracked by the outbox
 * `exclusive`: nothing writes them except through it. The history is read per SKU, so it is indexed
 * by (sku, version); the sweeper's scan of expiring holds by nextExpiry.
 */
export async function createStore(runtime: Pick<ServiceRuntime, 'db' | 'outbox'>): Promise<InventoryStore> {
  const m = inventoryModels(runtime.db);
  runtime.outbox.track(m.Stock, { exclusive: true });
  runtime.outbox.track(m.Reservation, { exclusive: true });
  await Promise.all([m.Adjustment.collection.createIndex({ sku: 1, version: -1 }), m.Stock.collection.createIndex({ nextExpiry: 1 })]);
  return {
    stock: new MongoStockRepository(m.Stock, runtime.outbox),
    reservations: new MongoReservationRepository(m.Reservation, runtime.outbox),
    adjustments: new MongoAdjustmentRepository(m.Adjustment),
    config: new MongoConfigRepository(m),
    imports: new MongoImportRepository(m.Import),
  };
}
