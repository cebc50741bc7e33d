/**
 * The payment state table (pure). The provider moves a payment one step at a time along
 * PAYMENT_TRANSITIONS; what orders learns of it (answers, webhooks, which arrive in any order and
 * may be lost or repeated) is applied when it lies ahead of what orders has (`canMove`), so a late
 * or repeated event never moves a payment backwards, and a lost one does not block the next.
 */
import type { PaymentState } from './port';

/** The provider's single steps: pending → authorised → captured → refunded; pending|authorised → failed|voided. */
export const PAYMENT_TRANSITIONS: Readonly<Record<PaymentState, readonly PaymentState[]>> = {
  pending: ['authorised', 'failed', 'voided'],
  authorised: ['captured', 'failed', 'voided'],
  captured: ['refunded'],
  refunded: [],
  voided: [],
  failed: [],
};

/** True when `to` is one step after `from` in PAYMENT_TRANSITIONS (what a provider may do to a payment in one operation). */
export function isStep(from: PaymentState, to: PaymentState): boolean {
  return PAYMENT_TRANSITIONS[from].includes(to);
}

/**
 * True when `to` lies ahead of `from` (reachable by one or more steps): the events that may be applied
 * to a payment in `from`. The same state, a backward move or a move out of a terminal state → false.
 */
export function canMove(from: PaymentState, to: PaymentState): boolean {
  const seen = new Set<PaymentState>();
  const queue: PaymentState[] = [...PAYMENT_TRANSITIONS[from]];
  while (queue.length > 0) {
    const next = queue.shift() as PaymentState;
    if (next === to) return true;
    if (seen.has(next)) continue;
    seen.add(next);
    queue.push(...PAYMENT_TRANSITIONS[next]);
  }
  return false;
}

/** True when no move leaves `state` (refunded, voided, failed). */
export function isFinal(state: PaymentState): boolean {
  return PAYMENT_TRANSITIONS[state].length === 0;
}
