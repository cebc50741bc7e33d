import type { Model } from 'mongoose';
import type { OutgoingEvent, Outbox } from '@omnimall/service-kit';
import type { ReservationDoc } from './schemas';

export type Reservation = Omit<ReservationDoc, '_id'> & { id: string };

/**
 * Reservations across SKUs: the record of what a cart or an order asked for and where it stands. The
 * units themselves are held in each SKU's stock document (a hold per reservation id); this record
 * carries the reservation's state and its events, written through the outbox like the stock.
 */
export interface ReservationRepository {
  get(id: string): Promise<Reservation | null>;
  /** Read-decide-write on one reservation (see StockRepository.transact). */
  transact(
    id: string,
    decide: (current: Reservation | null) => { record: Reservation; events: readonly OutgoingEvent[] } | null,
  ): Promise<Reservation | null>;
  /**
   * transact for an id that most likely names no reservation yet (a new request's): the first
   * decision is made on "none" without reading; if the reservation does exist, that write fails and
   * it is read and decided on again.
   */
  transactNew(
    id: string,
    decide: (current: Reservation | null) => { record: Reservation; events: readonly OutgoingEvent[] } | null,
  ): Promise<Reservation | null>;
  /** Reservations still held that expired before `before`: the sweeper's second look. */
  stale(before: number, limit: number): Promise<Reservation[]>;
}

/** The fields a reservation shows; the outbox's own fields (outbox, outboxCount, writeRev) stay in the store. */
const toRecord = (d: ReservationDoc): Reservation => ({
  id: d._id,
  channel: d.channel,
  reference: d.reference,
  caller: d.caller,
  requestHash: d.requestHash,
  lines: d.lines ?? [],
  state: d.state,
  expiresAt: d.expiresAt,
  reason: d.reason ?? null,
  hint: d.hint ?? null,
  createdAt: d.createdAt,
  updatedAt: d.updatedAt,
  version: d.version ?? 0,
});

export class MongoReservationRepository implements ReservationRepository {
  constructor(
    private readonly model: Model<ReservationDoc>,
    private readonly outbox: Outbox,
  ) {}

  async get(id: string): Promise<Reservation | null> {
    const d = await this.model.findById(id, { outbox: 0 }).lean<ReservationDoc>();
    return d ? toRecord(d) : null;
  }

  transact(
    id: string,
    decide: (current: Reservation | null) => { record: Reservation; events: readonly OutgoingEvent[] } | null,
  ): Promise<Reservation | null> {
    return this.write(id, decide, false);
  }

  transactNew(
    id: string,
    decide: (current: Reservation | null) => { record: Reservation; events: readonly OutgoingEvent[] } | null,
  ): Promise<Reservation | null> {
    return this.write(id, decide, true);
  }

  private async write(
    id: string,
    decide: (current: Reservation | null) => { record: Reservation; events: readonly OutgoingEvent[] } | null,
    assumeNew: boolean,
  ): Promise<Reservation | null> {
    const { doc } = await this.outbox.transact(
      this.model,
      id,
      (cur) => {
        const change = decide(cur ? toRecord(cur) : null);
        if (!change) return null;
        const { id: _ignored, ...set } = change.record;
        return { update: { $set: set }, events: change.events };
      },
      { assumeNew },
    );
    return doc ? toRecord(doc) : null;
  }

  async stale(before: number, limit: number): Promise<Reservation[]> {
    const docs = await this.model
      .find({ state: 'held', expiresAt: { $lt: before } }, { outbox: 0 })
      .limit(limit)
      .lean<ReservationDoc[]>();
    return docs.map(toRecord);
  }
}
