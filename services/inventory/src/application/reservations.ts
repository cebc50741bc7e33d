import { AppError, ConflictError, NotFoundError } from '@omnimall/service-kit/errors';
import { requestHash, type OutgoingEvent } from '@omnimall/service-kit';
import { emptyStock } from '../domain/stock';
import { commit, expiredHolds, extend, hold, mergeLines, placementOf, release, returnShipped } from '../domain/reservations';
import type { Delta, Placement, ReserveLine, StockRecord, World } from '../domain/types';
import { reservationChanged } from '../events/out/inventory.reservation';
import { stockAdjusted, type Provenance } from '../events/out/inventory.stock-adjustment';
import type { EventOrigin } from '../events/out/origin';
import type { Reservation, ReservationLine, ReservationRepository, ReservationState, StockRepository } from '../store';
import { notActive, notCommitted, notRecorded, refusalOf, sameRequest } from './reservation-refusals';
import { settle } from './settle';
import { withOp } from './stock';
import type { WorldCache } from './world';

export interface ReserveRequest {
  reservationId: string;
  channel: string;
  reference: string;
  lines: readonly ReserveLine[];
  expiresAt: number;
  /** `staff:<id>`, `customer:<id>`, `command:<producer>`: who asked (kept, and the adjustments' actor). */
  caller: string;
  actorKind: Provenance['actorKind'];
  commandId: string | null;
  origin: EventOrigin;
}

/** What a reservation command or request leads to. */
export interface ReservationOutcome {
  reservation: Reservation;
  /** The refusal, when the reservation was refused (its code, message, hint and details). */
  refusal: AppError | null;
}

type Meta = Pick<ReserveRequest, 'caller' | 'actorKind' | 'commandId' | 'origin'>;

export const reservationNotFound = (id: string): NotFoundError =>
  new NotFoundError('reservation_not_found', `no reservation ${id}`, 'reserve first (POST /reservations), or check the id');

/**
 * The marks a reservation leaves in a SKU's `ops` (beside the stock operations' idempotency keys) in
 * the same compare-and-set as its commit or its return: a retry after a crash between two SKUs sees
 * which SKUs were shipped, or given back, already.
 */
const commitMark = (id: string): string => `reservation:commit:${id}`;
const returnMark = (id: string): string => `reservation:return:${id}`;
/** A commit that found no hold and no mark of its own: nothing of the SKU was shipped (the hold had lapsed). */
const NOTHING_SHIPPED: Placement = { byLocation: {}, quotaCounted: 0 };

/**
 * Reservations of a cart or an order across SKUs. The units are held in each SKU's stock document
 * by one compare-and-set per SKU (so concurrent reservations of the last units, on any number of
 * instances, can never together take more than is available: the loser decides again on the
 * winner's write and is refused). SKUs are taken in a fixed order; when one is refused the holds
 * already made are released and the reservation is refused with the reason. Every hold carries the
 * reservation's expiry, so a crash mid-way leaks nothing: the sweeper releases what expired.
 */
export class ReservationService {
  /** When a sweep last looked for stale reservations. */
  private staleLookedAt = -Infinity;

  constructor(
    private readonly stock: StockRepository,
    private readonly reservations: ReservationRepository,
    private readonly worlds: WorldCache,
  ) {}

  async get(id: string): Promise<Reservation> {
    const r = await this.reservations.get(id);
    if (!r) throw reservationNotFound(id);
    return r;
  }

  async reserve(req: ReserveRequest): Promise<ReservationOutcome> {
    const lines = mergeLines(req.lines);
    const hash = requestHash({ channel: req.channel, reference: req.reference, lines });
    const now = Date.now();
    // A replay finds its reservation (one read); a new one is written once, when it is concluded:
    // the holds carry their expiry, so a crash before that leaks nothing (the sweeper releases them).
    const seen = await this.reservations.get(req.reservationId);
    if (seen) {
      sameRequest(seen, hash, req.caller);
      return { reservation: seen, refusal: refusalOf(seen) };
    }
    const r: Reservation = {
      id: req.reservationId,
      channel: req.channel,
      reference: req.reference,
      caller: req.caller,
      requestHash: hash,
      lines: lines.map((l) => ({ sku: l.sku, quantity: l.quantity, backordered: 0 })),
      state: 'pending',
      expiresAt: req.expiresAt,
      reason: null,
      hint: null,
      createdAt: now,
      updatedAt: now,
      version: 0,
    };

    const held: ReservationLine[] = [];
    let refusal: AppError | null = null;
    const { world } = await this.worlds.get();
    for (const line of lines) {
      try {
        const after = await this.stock.transact(line.sku, (cur) => {
          const base = cur ?? emptyStock(line.sku, null);
          if (base.holds[r.id]) return null; // held before a crash or by a concurrent replay
          const made = hold(base, world, {
            reservationId: r.id,
            channel: r.channel,
            quantity: line.quantity,
            expiresAt: r.expiresAt,
            reference: r.reference,
          });
          return this.changed(world, base, made.stock, made.deltas, 'reserve', r, req);
        });
        const h = after?.holds[r.id];
        held.push({ sku: line.sku, quantity: line.quantity, backordered: h?.backordered ?? 0, ...(h ? { held: placementOf(h) } : {}) });
      } catch (err) {
        if (!(err instanceof ConflictError || (err instanceof AppError && err.status === 400))) throw err;
        refusal = err;
        break;
      }
    }
    if (refusal) {
      await this.releaseHolds(
        r,
        held.map((l) => l.sku),
        'release',
        req,
      );
      const reservation = await this.conclude(r, 'refused', req, { reason: refusal.code, hint: refusal.hint });
      return { reservation, refusal: reservation.state === 'refused' ? refusal : refusalOf(reservation) };
    }
    const reservation = await this.conclude(r, 'held', req, { lines: held });
    return { reservation, refusal: refusalOf(reservation) };
  }

  /**
   * Writes a new reservation in its first settled state, with its event; a replay of the same request
   * that concluded it first wins, and its state is returned.
   */
  private async conclude(r: Reservation, state: 'held' | 'refused', meta: Meta, set: Partial<Reservation>): Promise<Reservation> {
    const out = await this.reservations.transactNew(r.id, (cur) => {
      if (cur) {
        sameRequest(cur, r.requestHash, r.caller);
        return null;
      }
      const record: Reservation = { ...r, ...set, state, version: r.version + 1, updatedAt: Date.now() };
      return { record, events: [reservationChanged(record, meta.commandId, meta.origin)] };
    });
    return out!;
  }

  async extend(id: string, expiresAt: number, meta: Meta): Promise<Reservation> {
    const r = await this.active(id);
    for (const l of r.lines)
      await this.stock.transact(l.sku, (cur) => {
        const made = cur && extend(cur, id, expiresAt);
        return made && cur ? { record: { ...made.stock, version: cur.version + 1, updatedAt: Date.now() }, events: [] } : null;
      });
    return this.finish(id, 'held', meta, { expiresAt });
  }

  /**
   * Ships the held units (on hand and reserved fall) and records per line what left from where (its
   * `shipped` placement, which a return puts back). Each SKU's commit marks the SKU, so a retry after
   * a crash mid-way knows a hold it no longer finds was shipped (its placement is the one recorded
   * when it was held) rather than lapsed (nothing shipped).
   */
  async commit(id: string, meta: Meta): Promise<Reservation> {
    const r = await this.reservations.get(id);
    if (!r) throw reservationNotFound(id);
    if (r.state === 'committed') return r;
    if (r.state !== 'held') throw notActive(r);
    const { world } = await this.worlds.get();
    const lines: ReservationLine[] = [];
    for (const l of r.lines) {
      const decided: { shipped?: Placement } = {};
      await this.stock.transact(l.sku, (cur) => {
        const made = cur && commit(cur, id);
        if (!made) {
          decided.shipped = cur?.ops[commitMark(id)] ? l.held : NOTHING_SHIPPED;
          return null;
        }
        decided.shipped = placementOf(made.hold);
        return this.changed(world, cur, made.stock, made.deltas, 'commit', r, meta, commitMark(id));
      });
      lines.push(decided.shipped ? { ...l, shipped: decided.shipped } : l);
    }
    return this.finish(id, 'committed', meta, { lines });
  }

  /**
   * Takes a committed reservation's units back on hand where they were shipped from (its order was
   * cancelled or returned), gives back what they counted against the channel's quota, and moves it to
   * `returned`. One compare-and-set per SKU, which also marks the SKU: a retry after a crash between
   * two SKUs gives nothing back twice. Idempotent: a returned reservation changes no more (a command
   * naming its own id is still answered, in state `returned`). Throws reservation_not_found,
   * reservation_not_committed (nothing was shipped: release a held one), return_not_recorded (committed
   * before the inventory recorded where units shipped from).
   */
  async returnToStock(id: string, meta: Meta): Promise<Reservation> {
    const r = await this.reservations.get(id);
    if (!r) throw reservationNotFound(id);
    if (r.state === 'returned') return this.answerAgain(r, meta);
    if (r.state !== 'committed') throw notCommitted(r);
    const unrecorded = r.lines.filter((l) => !l.shipped).map((l) => l.sku);
    if (unrecorded.length) throw notRecorded(r, unrecorded);
    const { world } = await this.worlds.get();
    for (const l of r.lines) {
      const shipped = l.shipped!;
      await this.stock.transact(l.sku, (cur) => {
        const base = cur ?? emptyStock(l.sku, null);
        if (base.ops[returnMark(id)]) return null; // given back by an earlier attempt
        const made = returnShipped(base, r.channel, shipped);
        if (!made.deltas.length && made.stock.quotaUsed === base.quotaUsed) return null; // nothing was shipped (backordered)
        return this.changed(world, base, made.stock, made.deltas, 'return', r, meta, returnMark(id));
      });
    }
    const returned = await this.finishIf(id, ['committed'], 'returned', meta);
    return returned ?? this.answerAgain(await this.get(id), meta);
  }

  /**
   * A command on a reservation already where it asked it to be: answered (inventory.reservation naming
   * the command, the state unchanged) so the sender's step ends; a request over HTTP gets the record.
   */
  private async answerAgain(r: Reservation, meta: Meta): Promise<Reservation> {
    if (!meta.commandId) return r;
    const commandId = meta.commandId;
    const answered = await this.reservations.transact(r.id, (cur) => {
      if (!cur) return null;
      const record: Reservation = { ...cur, version: cur.version + 1, updatedAt: Date.now() };
      return { record, events: [reservationChanged(record, commandId, meta.origin)] };
    });
    return answered ?? r;
  }

  async release(id: string, meta: Meta): Promise<Reservation> {
    const r = await this.reservations.get(id);
    if (!r) throw reservationNotFound(id);
    if (r.state === 'released' || r.state === 'expired' || r.state === 'refused') return r;
    if (r.state === 'committed' || r.state === 'returned') throw notActive(r);
    await this.releaseHolds(
      r,
      r.lines.map((l) => l.sku),
      'release',
      meta,
    );
    return this.finish(id, 'released', meta, {});
  }

  /**
   * One sweep: the holds expired by `now` are released from their SKUs (operation `expire`, visible
   * in the history) and their reservations marked expired; a reservation still `held` more than
   * `staleGraceMs` after its expiry (a crash between releasing its holds and marking it) is marked
   * expired then (looked for at most every `staleGraceMs / 2`). Returns how many holds it released.
   */
  async sweep(now: number, staleGraceMs: number, limit = 100): Promise<number> {
    const meta: Meta = { caller: 'system:sweeper', actorKind: 'system', commandId: null, origin: {} };
    const { world } = await this.worlds.get();
    let released = 0;
    const expiredReservations = new Set<string>();
    for (const sku of await this.stock.withExpiredHolds(now, limit)) {
      await this.stock.transact(sku, (cur) => {
        if (!cur) return null;
        const ids = expiredHolds(cur, now);
        if (!ids.length) return null;
        let next = cur;
        const deltas: Delta[] = [];
        for (const id of ids) {
          const made = release(next, id);
          if (made) {
            next = made.stock;
            deltas.push(...made.deltas);
          }
        }
        ids.forEach((id) => expiredReservations.add(id));
        released = released + ids.length;
        const p: Provenance = {
          operation: 'expire',
          reason: 'reservation expired',
          actor: meta.caller,
          actorKind: 'system',
          reference: ids.join(','),
          channel: null,
        };
        return this.withEvents(world, { ...next, version: cur.version + 1, updatedAt: Date.now() }, deltas, p, meta.origin);
      });
    }
    for (const id of expiredReservations) await this.finishIf(id, ['held'], 'expired', meta);
    // The stale reservations are a scan of the whole collection on FerretDB: looked for every half grace, not every sweep.
    if (now - this.staleLookedAt < staleGraceMs / 2) return released;
    this.staleLookedAt = now;
    for (const r of await this.reservations.stale(now - staleGraceMs, limit)) await this.finishIf(r.id, ['held'], 'expired', meta);
    return released;
  }

  /**
   * Answers a command the inventory refused (unknown or finished reservation, reused id): an
   * inventory.reservation event in state `refused` naming the command, its code and hint. The
   * reservation itself is left as it was (one never seen is recorded as refused).
   */
  async answerRefusal(id: string, commandId: string | null, channel: string, reference: string, err: AppError, meta: Meta): Promise<void> {
    await this.reservations.transact(id, (cur) => {
      const now = Date.now();
      const base: Reservation = cur ?? {
        id,
        channel,
        reference,
        caller: meta.caller,
        requestHash: '',
        lines: [],
        state: 'refused',
        expiresAt: now,
        reason: err.code,
        hint: err.hint,
        createdAt: now,
        updatedAt: now,
        version: 0,
      };
      const record = { ...base, version: base.version + 1, updatedAt: now };
      const answer = reservationChanged({ ...record, state: 'refused', reason: err.code, hint: err.hint }, commandId, meta.origin);
      return { record, events: [answer] };
    });
  }

  private async active(id: string): Promise<Reservation> {
    const r = await this.reservations.get(id);
    if (!r) throw reservationNotFound(id);
    if (r.state !== 'held') throw notActive(r);
    return r;
  }

  private async releaseHolds(r: Reservation, skus: readonly string[], operation: 'release' | 'expire', meta: Meta): Promise<void> {
    const { world } = await this.worlds.get();
    for (const sku of skus)
      await this.stock.transact(sku, (cur) => {
        const made = cur && release(cur, r.id);
        return made ? this.changed(world, cur, made.stock, made.deltas, operation, r, meta) : null;
      });
  }

  /**
   * A hold, release, commit or return as a change: the stock one version on, its adjustment and what it
   * changed for channels; `mark` (a commit's or a return's) is kept in the SKU's ops with the adjustment.
   */
  private changed(
    world: World,
    before: StockRecord,
    after: StockRecord,
    deltas: Delta[],
    operation: string,
    r: Reservation,
    meta: Meta,
    mark?: string,
  ) {
    const p: Provenance = {
      operation,
      reason: `reservation ${r.id}`,
      // the history is append-only: a customer is named there by the reservation, never by their id
      actor: meta.actorKind === 'customer' ? 'customer' : meta.caller,
      actorKind: meta.actorKind,
      reference: r.id,
      channel: r.channel,
    };
    return this.withEvents(world, { ...after, version: before.version + 1, updatedAt: Date.now() }, deltas, p, meta.origin, mark);
  }

  private withEvents(world: World, record: StockRecord, deltas: Delta[], p: Provenance, origin: EventOrigin, mark?: string) {
    const adjustment = deltas.length ? stockAdjusted(record.sku, record.sellerId, record.version, deltas, p, origin) : null;
    const marked = mark
      ? {
          ...record,
          ops: withOp(record.ops, mark, { hash: mark, at: record.updatedAt, adjustmentId: adjustment?.value.envelope.eventId ?? '' }),
        }
      : record;
    const settled = settle(world, marked, origin);
    const events: OutgoingEvent[] = adjustment ? [adjustment] : [];
    return { record: settled.record, events: [...events, ...settled.events] };
  }

  private finish(id: string, state: ReservationState, meta: Meta, set: Partial<Reservation>): Promise<Reservation> {
    return this.finishIf(id, null, state, meta, set) as Promise<Reservation>;
  }

  /** Moves the reservation to `state` (when it is in one of `from`, or any when null), with its event. */
  private async finishIf(
    id: string,
    from: readonly ReservationState[] | null,
    state: ReservationState,
    meta: Meta,
    set: Partial<Reservation> = {},
  ): Promise<Reservation | null> {
    return this.reservations.transact(id, (cur) => {
      if (!cur || (from && !from.includes(cur.state))) return null;
      const record: Reservation = { ...cur, ...set, state, version: cur.version + 1, updatedAt: Date.now() };
      return { record, events: [reservationChanged(record, meta.commandId, meta.origin)] };
    });
  }
}
