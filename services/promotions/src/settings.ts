import { positiveIntEnv } from '@omnimall/service-kit';

/** The promotions service's own settings, read from the environment (defaults in brackets). */
export interface PromotionsSettings {
  /**
   * PROMOTIONS_LEAD_MS [60000]: a scheduled promotion's definition is published at least this long
   * before its start (scheduling one that starts sooner needs `startNow`).
   */
  leadMs: number;
  /** PROMOTIONS_LIFECYCLE_MS [250]: how often the lifecycle worker looks for due starts, ends and lapsed overrides. */
  lifecycleMs: number;
  /** PROMOTIONS_CACHE_MS [1000]: how often the quote cache of live and scheduled definitions is re-read. */
  cacheMs: number;
  /** PROMOTIONS_POINTS_TTL_DAYS [365]: how long earned points live before the loyalty worker expires them. */
  pointsTtlDays: number;
  /** PROMOTIONS_DEFAULT_HOLD_SECONDS [900]: a usage hold's lifetime when the request names none. */
  defaultHoldSeconds: number;
  /** PROMOTIONS_MAX_HOLD_SECONDS [86400]: the longest a usage hold may last. */
  maxHoldSeconds: number;
  /** PROMOTIONS_HOLD_SWEEP_MS [5000]: how often expired usage holds are looked for (each look scans codes, campaigns, holds). */
  holdSweepMs: number;
  /** PROMOTIONS_HOLD_GRACE_MS [2000]: how long past its expiry a hold is given back (a commit refuses from the expiry on). */
  holdGraceMs: number;
  /** PROMOTIONS_LOYALTY_MS [60000]: how often the loyalty worker expires lots, reviews tiers and ends expired point holds. */
  loyaltyMs: number;
  /**
   * PROMOTIONS_BUDGET_RECONCILE_MS [5000]: how often the budget reconciler makes the promotions' `exhausted`
   * follow their campaign's (each look reads only what was written since the last one).
   */
  budgetReconcileMs: number;
  /** PROMOTIONS_TIER_CACHE_MS [1000]: how long a quote reuses a customer's tier it read. */
  tierCacheMs: number;
}

const int = positiveIntEnv;

export function promotionsSettings(env: NodeJS.ProcessEnv): PromotionsSettings {
  return {
    leadMs: int(env, 'PROMOTIONS_LEAD_MS', 60_000),
    lifecycleMs: int(env, 'PROMOTIONS_LIFECYCLE_MS', 250),
    cacheMs: int(env, 'PROMOTIONS_CACHE_MS', 1000),
    pointsTtlDays: int(env, 'PROMOTIONS_POINTS_TTL_DAYS', 365),
    defaultHoldSeconds: int(env, 'PROMOTIONS_DEFAULT_HOLD_SECONDS', 900),
    maxHoldSeconds: int(env, 'PROMOTIONS_MAX_HOLD_SECONDS', 86_400),
    holdSweepMs: int(env, 'PROMOTIONS_HOLD_SWEEP_MS', 5000),
    holdGraceMs: int(env, 'PROMOTIONS_HOLD_GRACE_MS', 2000),
    loyaltyMs: int(env, 'PROMOTIONS_LOYALTY_MS', 60_000),
    budgetReconcileMs: int(env, 'PROMOTIONS_BUDGET_RECONCILE_MS', 5000),
    tierCacheMs: int(env, 'PROMOTIONS_TIER_CACHE_MS', 1000),
  };
}
