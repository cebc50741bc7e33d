/**
 * The monitor's part in a customer's erasure and its retention of what it tracks.
 *
 * Erasure (identity.data-request, kind erasure): every tracked event that names the customer
 * (domain/privacy.ts: `customers`), in memory or among the exceptions, and every event those were
 * made from, loses its original record and its free text: an exception through its compare-and-set
 * (the collection is written only through the outbox), an event in memory alone in memory. Then a
 * fresh snapshot replaces the older ones, which may still hold the data. Applying it again changes
 * nothing, and the request is recorded once (store/erasures.ts).
 *
 * Retention, one pass of the `retention` worker: original records of events older than
 * SYNC_RAW_RETENTION_HOURS are dropped (in batches, through the compare-and-set); closed events older
 * than SYNC_EVENT_RETENTION_DAYS are removed, with status feed entries of that age. An event still
 * open (late, escalated) stays until it is closed, without its record once that is past its time.
 */
import { eraseTracking, retentionCutoffs, type RetentionPolicy } from '../domain/privacy';
import type { Tracking } from '../domain/propagation';
import type { EffectOnce, ErasureRecord } from '../store';
import type { Snapshots } from './snapshots';
import type { TrackedEvents } from './tracked-events';

/** Records a pruning pass drops per batch (a pass runs batches until none is left). */
const RAW_BATCH = 500;

export class Erasure {
  constructor(
    private readonly events: TrackedEvents,
    private readonly snapshots?: Pick<Snapshots, 'take'>,
  ) {}

  /** Erases the customer's personal data from every tracked event; returns how many changed. */
  async erase(customerId: string, now = Date.now()): Promise<number> {
    const { state } = this.events;
    const ids = new Set(await this.events.store.tracking.idsConcerning(customerId));
    for (const t of state.all()) if (t.customers?.includes(customerId)) for (const id of [t._id, ...(t.relatedEvents ?? [])]) ids.add(id);
    let changed = 0;
    for (const id of ids) {
      if (this.events.writesThrough(id) || !state.get(id)) {
        const { next } = await this.events.change(id, (t) => {
          const erased = t && eraseTracking(t, now);
          return erased ? { next: erased, events: [] } : null;
        });
        if (next) changed++;
        continue;
      }
      const erased = eraseTracking(state.get(id)!, now);
      if (erased) {
        state.put(erased);
        changed++;
      }
    }
    if (changed) await this.snapshots?.take(1); // the only snapshot left holds the erased state
    return changed;
  }

  /** Records the request once for its event (false: a replay, nothing written). */
  recordOnce(once: EffectOnce, r: ErasureRecord): Promise<boolean> {
    return this.events.store.erasures.recordOnce(once, r);
  }
}

export interface PruneReport {
  rawDropped: number;
  eventsRemoved: number;
  feedEntriesRemoved: number;
}

export class Retention {
  constructor(
    private readonly events: TrackedEvents,
    private readonly policy: RetentionPolicy,
  ) {}

  /** One pruning pass as of `now`. */
  async prune(now = Date.now()): Promise<PruneReport> {
    const cut = retentionCutoffs(this.policy, now);
    const { tracking, feed } = this.events.store;
    const dropRaw = (t: Tracking | null) => (t?.raw ? { next: { ...t, raw: null }, events: [] } : null);
    let rawDropped = 0;
    for (;;) {
      const ids = await tracking.withRawBefore(cut.raw, RAW_BATCH);
      let dropped = 0;
      for (const id of ids) if ((await this.events.change(id, dropRaw)).next) dropped++;
      rawDropped += dropped;
      if (ids.length < RAW_BATCH || dropped === 0) break; // the last batch, or one that made no progress
    }
    const eventsRemoved = await tracking.removeClosedBefore(cut.events);
    const feedEntriesRemoved = await feed.removeBefore(cut.events);
    return { rawDropped, eventsRemoved, feedEntriesRemoved };
  }
}
