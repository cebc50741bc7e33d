/**
 * Rules of webhook delivery that need no I/O: which events an endpoint may subscribe to, and retry
 * timing. Where an endpoint may point is in webhook-target.ts.
 */

/**
 * The kinds an endpoint subscribes to and the topic each comes from: cart.changed (cart.cart-changed),
 * channel.changed (channels.channel-changed), notification (lifecycle changes, sync.notice and
 * identity.password-reset),
 * stock.level (inventory.stock-level), promotion.lifecycle (promotions.promotion-lifecycle, started
 * and ended) and order.status (orders.order-status).
 */
export const DELIVERY_EVENT_TYPES = [
  'cart.changed',
  'channel.changed',
  'notification',
  'stock.level',
  'promotion.lifecycle',
  'order.status',
] as const;
export type DeliveryEventType = (typeof DELIVERY_EVENT_TYPES)[number];

/** Retry delay after `attempts` failed attempts: exponential from baseMs, capped at maxMs, ±20 % jitter. */
export function backoffMs(attempts: number, baseMs: number, maxMs: number, random = Math.random): number {
  const raw = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempts - 1));
  return Math.round(raw * (0.8 + 0.4 * random()));
}

/** A partner's webhook endpoint on a channel. */
export interface Endpoint {
  _id: string;
  channel: string;
  url: string;
  events: DeliveryEventType[];
  secret: string;
  active: boolean;
  createdAt: Date;
  createdBy: string;
}

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

/** One (event, endpoint) pair to deliver. */
export interface Delivery {
  _id: string; // `${sourceEventId}:${endpointId}`: one delivery per event and endpoint
  channel: string;
  endpointId: string;
  eventType: DeliveryEventType;
  sourceEventId: string;
  sourceOccurredAt: Date;
  body: string;
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAt: Date;
  lastError: string | null;
  httpStatus: number | null;
  createdAt: Date;
  completedAt: Date | null;
}

/** An event to deliver to the endpoints of its channel subscribed to its type. */
export interface DeliverableEvent {
  eventType: DeliveryEventType;
  sourceEventId: string;
  occurredAt: number;
  channel: string;
  data: unknown;
}
