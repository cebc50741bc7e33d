/**
 * Rules of webhook delivery that need no I/O: which events an endpoint may subscribe to, and retry
 * timing. Where an endpoint may point is the kit's (http/webhook-target.ts).
 */

/**
 * The kinds an endpoint subscribes to and the topic each comes from: cart.changed (cart.cart-changed),
 * channel.changed (channels.channel-changed), notification (lifecycle changes, sync.notice and
 * identity.password-reset),
 * stock.level (inventory.stock-level), promotion.lifecycle (promotions.promotion-lifecycle, started
 * and ended), order.status (orders.order-status) and customer.erased (identity.data-request erasures,
 * to the channels that mapped the customer).
 */
export const DELIVERY_EVENT_TYPES = [
  'cart.changed',
  'channel.changed',
  'notification',
  'stock.level',
  'promotion.lifecycle',
  'order.status',
  'customer.erased',
] as const;
export type DeliveryEventType = (typeof DELIVERY_EVENT_TYPES)[number];

/**
 * Kinds every active endpoint of the channel receives whether it subscribed or not: a partner must
 * learn of an erasure to erase its own copy, which no subscription choice may opt out of.
 */
export const MANDATORY_EVENT_TYPES: readonly DeliveryEventType[] = ['customer.erased'];

/** Whether the endpoint gets events of this kind. */
export function receives(endpoint: Pick<Endpoint, 'events'>, eventType: DeliveryEventType): boolean {
  return endpoint.events.includes(eventType) || MANDATORY_EVENT_TYPES.includes(eventType);
}

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
  /** The JSON body without its secret part (what is stored in clear); sent as is when `sealed` is null. */
  body: string;
  /**
   * The whole body with its secret part, sealed (AES-256-GCM, domain/sealed.ts, bound to `_id`);
   * opened only to send, removed when the delivery ends. Absent on deliveries without secrets.
   */
  sealed?: string | null;
  /** The customers the delivery names (global ids), so an erasure finds what to pseudonymise. */
  subjects?: string[];
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
  data: Record<string, unknown>;
  /** Fields added to `data` only in the sealed copy of the body (secrets, personal data kept until sent). */
  sealedData?: Record<string, unknown>;
  /** The customers the event names (global ids). */
  subjects?: readonly string[];
}

/** The JSON body of a delivery (`{id, type, channel, occurredAt, data}`). */
export function deliveryBody(id: string, ev: DeliverableEvent, data: Record<string, unknown>): string {
  return JSON.stringify({ id, type: ev.eventType, channel: ev.channel, occurredAt: new Date(ev.occurredAt).toISOString(), data });
}
