/** Rules of webhook delivery that need no I/O: which events an endpoint may subscribe to, and retry timing. */
// Order status, stock and promotion deliveries follow once those topics exist.
export const DELIVERY_EVENT_TYPES = ['cart.changed', 'channel.changed', 'notification'] as const;
export type DeliveryEventType = (typeof DELIVERY_EVENT_TYPES)[number];

/** Retry delay after `attempts` failed attempts: exponential from baseMs, capped at maxMs, ±20 % jitter. */
export function backoffMs(attempts: number, baseMs: number, maxMs: number, random = Math.random): number {
  const raw = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempts - 1));
  return Math.round(raw * (0.8 + 0.4 * random()));
}
