import { AppError, ConflictError, UnprocessableError } from '@omnimall/service-kit/errors';
import type { Reservation } from '../store';

/** The refusals of reservations (application/reservations.ts): each with its code, hint and the reservation's id and state. */

/** Refuses a reservation id (an Idempotency-Key) used before for another request. */
export function sameRequest(r: Reservation, hash: string, caller: string): void {
  if (r.requestHash !== hash || r.caller !== caller)
    throw new UnprocessableError(
      'idempotency_key_reused',
      `reservation ${r.id} was asked for with other lines, channel or reference`,
      'use a new Idempotency-Key (reservation id) for a new reservation',
      { reservationId: r.id },
    );
}

export const notActive = (r: Reservation): ConflictError =>
  new ConflictError(
    'reservation_not_active',
    `reservation ${r.id} is ${r.state}`,
    r.state === 'committed'
      ? 'a committed reservation is stock sold: when its order is cancelled or returned, return it (action return, or POST /reservations/{id}/return)'
      : r.state === 'returned'
        ? 'its units are back on hand already: reserve again'
        : 'reserve again',
    { reservationId: r.id, state: r.state },
  );

/** A return of a reservation that shipped nothing (not committed). */
export const notCommitted = (r: Reservation): ConflictError =>
  new ConflictError(
    'reservation_not_committed',
    `reservation ${r.id} is ${r.state}, not committed: none of its units were shipped`,
    r.state === 'held' || r.state === 'pending'
      ? 'its units are still held, not shipped: release it (action release, or POST /reservations/{id}/release)'
      : 'nothing to give back: only a committed reservation is returned',
    { reservationId: r.id, state: r.state },
  );

/** A return of a reservation committed before the inventory recorded where its units shipped from. */
export const notRecorded = (r: Reservation, skus: string[]): ConflictError =>
  new ConflictError(
    'return_not_recorded',
    `reservation ${r.id} was committed before the inventory recorded where its units of ${skus.join(', ')} shipped from`,
    'put the units back with a stock operation (POST /stock/{sku}/operations, adjust onHand at the location they left) instead',
    { reservationId: r.id, skus },
  );

/** A refused reservation's refusal, rebuilt for a replay of the request. */
export function refusalOf(r: Reservation): AppError | null {
  if (r.state !== 'refused') return null;
  return new ConflictError(r.reason ?? 'insufficient_stock', `reservation ${r.id} was refused`, r.hint ?? 'reserve fewer units', {
    reservationId: r.id,
  });
}
