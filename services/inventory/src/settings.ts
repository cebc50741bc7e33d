import { positiveIntEnv } from '@omnimall/service-kit';

/** The inventory's own settings, read from the environment (defaults in brackets). */
export interface InventorySettings {
  /** INVENTORY_WORLD_CACHE_MS [1000]: how long an instance reuses the configuration it read. */
  worldCacheMs: number;
  /**
   * INVENTORY_SWEEP_MS [5000]: how often expired holds are looked for (a hold outlives its expiry by at
   * most this long). Each look scans the stock collection (on FerretDB every document is read), and
   * every instance looks.
   */
  sweepMs: number;
  /**
   * INVENTORY_STALE_GRACE_MS [30000]: a reservation still `held` this long after its expiry (a crash
   * between releasing its holds and marking it) is marked expired.
   */
  staleGraceMs: number;
  /** INVENTORY_DEFAULT_HOLD_SECONDS [900]: a reservation's lifetime when the request names none. */
  defaultHoldSeconds: number;
  /** INVENTORY_MAX_HOLD_SECONDS [86400]: the longest a reservation may be held (or extended to). */
  maxHoldSeconds: number;
  /** INVENTORY_IMPORT_POLL_MS [500]: how often an idle instance looks for an import job to run. */
  importPollMs: number;
  /** INVENTORY_RECHECK_MS [30000]: how often time-bound exceptions (embargo end, expiry) are re-applied. */
  recheckMs: number;
}

const int = positiveIntEnv;

export function inventorySettings(env: NodeJS.ProcessEnv): InventorySettings {
  return {
    worldCacheMs: int(env, 'INVENTORY_WORLD_CACHE_MS', 1000),
    sweepMs: int(env, 'INVENTORY_SWEEP_MS', 5000),
    staleGraceMs: int(env, 'INVENTORY_STALE_GRACE_MS', 30_000),
    defaultHoldSeconds: int(env, 'INVENTORY_DEFAULT_HOLD_SECONDS', 900),
    maxHoldSeconds: int(env, 'INVENTORY_MAX_HOLD_SECONDS', 86_400),
    importPollMs: int(env, 'INVENTORY_IMPORT_POLL_MS', 500),
    recheckMs: int(env, 'INVENTORY_RECHECK_MS', 30_000),
  };
}
