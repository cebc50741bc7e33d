import { DEFAULT_GATE_CACHE_MS } from './store/projection-cache';

/** The cart's own settings, read from the environment (the platform's are the kit's PlatformConfig). */
export interface CartSettings {
  /**
   * CART_GATE_CACHE_MS: how far behind what is known a gate may serve a projection (ms; default
   * 1000; 0 turns the gate cache off). See store/projection-cache.ts.
   */
  gateCacheMs: number;
}

export function cartSettings(env: NodeJS.ProcessEnv): CartSettings {
  const gateCacheMs = Number(env.CART_GATE_CACHE_MS ?? DEFAULT_GATE_CACHE_MS);
  if (Number.isNaN(gateCacheMs)) throw new Error(`CART_GATE_CACHE_MS must be a number of milliseconds, not "${env.CART_GATE_CACHE_MS}"`);
  return { gateCacheMs };
}
