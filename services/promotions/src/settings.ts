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
}

const int = (env: NodeJS.ProcessEnv, name: string, fallback: number): number => {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, not ${JSON.stringify(raw)}`);
  return n;
};

export function promotionsSettings(env: NodeJS.ProcessEnv): PromotionsSettings {
  return {
    leadMs: int(env, 'PROMOTIONS_LEAD_MS', 60_000),
    lifecycleMs: int(env, 'PROMOTIONS_LIFECYCLE_MS', 250),
    cacheMs: int(env, 'PROMOTIONS_CACHE_MS', 1000),
  };
}
