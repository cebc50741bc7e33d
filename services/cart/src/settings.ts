import { DEFAULT_DEVICE_CART_RETENTION_DAYS } from './domain/privacy';
import { DEFAULT_MAX_STREAMS, DEFAULT_MAX_STREAMS_PER_CART, DEFAULT_TICKET_TTL_MS } from './domain/streams';
import { DEFAULT_GATE_CACHE_MS } from './store/projection-cache';

/** The cart's own settings, read from the environment (the platform's are the kit's PlatformConfig). */
export interface CartSettings {
  /**
   * CART_GATE_CACHE_MS: how far behind what is known a gate may serve a projection (ms; default
   * 1000; 0 turns the gate cache off). See store/projection-cache.ts.
   */
  gateCacheMs: number;
  /**
   * CART_MAX_STREAMS_PER_CUSTOMER: live streams of one cart (a customer's, or a device's) this
   * instance holds (default 5); a further one closes the oldest (final event `too_many_streams`).
   */
  maxStreamsPerCart: number;
  /** CART_MAX_STREAMS: live streams this instance holds in all (default 10000); beyond, 503 `stream_capacity_reached`. */
  maxStreams: number;
  /** CART_STREAM_TICKET_TTL_MS: how long a stream ticket may wait to be used (default 30000, never past its token). */
  ticketTtlMs: number;
  /**
   * CART_DEVICE_CART_RETENTION_DAYS: days an anonymous device cart nobody touches is kept (default 30);
   * the hourly retention pass removes it after (application/retention.ts).
   */
  deviceCartRetentionDays: number;
  /**
   * CART_PROMOTION_RELOAD_MS: how often each instance re-reads the promotion definitions changed since
   * its last read (default 1000; application/promotions.ts). Definition events reach the copy at once.
   */
  promotionReloadMs: number;
  /** CART_PROMOTION_NOTICE_DAYS: a promotion naming no SKU is told to the carts changed within this many days (default 30). */
  promotionNoticeDays: number;
  /** CART_PROMOTION_NOTICE_MAX: carts one promotion start is told to at most (default 10000). */
  promotionNoticeMax: number;
}

function number(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be an integer of at least ${min}, not "${raw}"`);
  return n;
}

export function cartSettings(env: NodeJS.ProcessEnv): CartSettings {
  return {
    gateCacheMs: number(env, 'CART_GATE_CACHE_MS', DEFAULT_GATE_CACHE_MS, 0),
    maxStreamsPerCart: number(env, 'CART_MAX_STREAMS_PER_CUSTOMER', DEFAULT_MAX_STREAMS_PER_CART, 1),
    maxStreams: number(env, 'CART_MAX_STREAMS', DEFAULT_MAX_STREAMS, 1),
    ticketTtlMs: number(env, 'CART_STREAM_TICKET_TTL_MS', DEFAULT_TICKET_TTL_MS, 1000),
    deviceCartRetentionDays: number(env, 'CART_DEVICE_CART_RETENTION_DAYS', DEFAULT_DEVICE_CART_RETENTION_DAYS, 1),
    promotionReloadMs: number(env, 'CART_PROMOTION_RELOAD_MS', 1000, 100),
    promotionNoticeDays: number(env, 'CART_PROMOTION_NOTICE_DAYS', 30, 1),
    promotionNoticeMax: number(env, 'CART_PROMOTION_NOTICE_MAX', 10_000, 1),
  };
}
