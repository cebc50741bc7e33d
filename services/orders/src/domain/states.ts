/**
 * The order's three states, each with its own transition table. Pure. A refused move is a 409
 * naming the moves allowed from where the order stands, so a caller can tell what it may do.
 */
import { ConflictError } from '@omnimall/service-kit/errors';
import { PAYMENT_TRANSITIONS } from '../payments/states';
import type { PaymentState } from '../payments/port';

export type OrderState = 'pending' | 'confirmed' | 'cancelled' | 'completed';
export type FulfilmentState = 'unfulfilled' | 'partially' | 'fulfilled' | 'returned';
export type { PaymentState };

export const ORDER_TRANSITIONS: Readonly<Record<OrderState, readonly OrderState[]>> = {
  pending: ['confirmed', 'cancelled'],
  confirmed: ['completed', 'cancelled'],
  completed: [],
  cancelled: [],
};

export const FULFILMENT_TRANSITIONS: Readonly<Record<FulfilmentState, readonly FulfilmentState[]>> = {
  unfulfilled: ['partially', 'fulfilled'],
  partially: ['fulfilled'],
  fulfilled: ['returned'],
  returned: [],
};

export type StateField = 'order' | 'payment' | 'fulfilment';

const TABLES: Record<StateField, Readonly<Record<string, readonly string[]>>> = {
  order: ORDER_TRANSITIONS,
  payment: PAYMENT_TRANSITIONS,
  fulfilment: FULFILMENT_TRANSITIONS,
};

/** Whether `field` may move from `from` to `to` (staying put is not a move). */
export function allowed(field: StateField, from: string, to: string): boolean {
  return (TABLES[field][from] ?? []).includes(to);
}

/** Refuses a move the table does not list: 409 `transition_refused` with the moves allowed from `from`. */
export function assertMove(field: StateField, from: string, to: string): void {
  if (allowed(field, from, to)) return;
  const next = TABLES[field][from] ?? [];
  throw new ConflictError(
    'transition_refused',
    `the ${field} state cannot move from ${from} to ${to}`,
    next.length ? `from ${from} the ${field} state may move to: ${next.join(', ')}` : `${from} is final for the ${field} state`,
    { field, from, to, allowed: [...next] },
  );
}

/**
 * The status the order's event reports to every channel (the topic's older vocabulary, which
 * promotions earns and gives back on): the most advanced of the three states.
 */
export type ReportedStatus = 'placed' | 'paid' | 'shipped' | 'delivered' | 'cancelled' | 'returned';

export function reportedStatus(order: OrderState, payment: PaymentState, fulfilment: FulfilmentState): ReportedStatus {
  if (order === 'cancelled') return 'cancelled';
  if (fulfilment === 'returned') return 'returned';
  if (fulfilment === 'fulfilled') return 'delivered';
  if (fulfilment === 'partially') return 'shipped';
  if (payment === 'captured' || payment === 'refunded') return 'paid';
  return 'placed';
}
