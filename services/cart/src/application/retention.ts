import { periodicWorker, type Logger, type Worker } from '@omnimall/service-kit';
import { retentionCutoff } from '../domain/privacy';
import type { CartRepository } from '../store';

/** How often the retention pass runs (FerretDB 1.24 has no TTL indexes, so a pass removes what expired). */
const RETENTION_EVERY_MS = 3_600_000;

/**
 * Retention of anonymous device carts: one pass removes the device carts untouched for
 * `retentionDays` (CART_DEVICE_CART_RETENTION_DAYS) and those emptied by an erasure (see
 * domain/privacy.ts; the repository's filter keeps carts with unpublished events or a merge in flight).
 * A device that comes back later starts a new, empty cart. Customers' carts are kept while the
 * customer exists: identity's erasure is what ends them.
 */
export class DeviceCartRetention {
  constructor(
    private readonly carts: CartRepository,
    private readonly retentionDays: number,
  ) {}

  /** One pass; returns how many device carts were removed. */
  prune(now = Date.now()): Promise<number> {
    return this.carts.pruneDeviceCarts(retentionCutoff(now, this.retentionDays));
  }

  /** The pass as a worker of the service (hourly; a failed pass is logged and tried again). */
  worker(logger: Logger): Worker {
    return periodicWorker('device-cart-retention', RETENTION_EVERY_MS, () => this.prune(), logger, 'device cart retention failed');
  }
}
