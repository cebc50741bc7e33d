/**
 * The tracking state in memory: every event seen within the retention window (open ones until they
 * close), indexed by event id, correlation id and channel, plus the work list of open events and the
 * ids that have an exceptions document. No I/O: TrackedEvents decides what is written where.
 *
 * Guarantees: an open event is never evicted (the sweep needs it until it is complete or
 * reconciled); a closed one stays for `retentionMs` after its last change, and the oldest closed
 * ones go first once more than `maxEvents` are held. Lookups by id, correlation id and channel read
 * the indexes; a time range reads the events in memory (bounded by `maxEvents`), never the database.
 */
import type { Tracking } from '../domain/propagation';

export interface StateOptions {
  /** How long a closed event stays in memory after its last change (queries, late duplicates). */
  retentionMs: number;
  /** Events held at most (open ones are never evicted). */
  maxEvents: number;
}

export interface EventFilter {
  correlationId?: string;
  channel?: string;
  /** occurredAt at or after (ms). */
  since?: number;
  /** occurredAt before (ms). */
  until?: number;
}

/** The part of the state a snapshot keeps. */
export interface StateImage {
  events: Tracking[];
  persisted: string[];
}

const addTo = (index: Map<string, Set<string>>, key: string | null | undefined, id: string): void => {
  if (!key) return;
  const set = index.get(key);
  if (set) set.add(id);
  else index.set(key, new Set([id]));
};

const removeFrom = (index: Map<string, Set<string>>, key: string | null | undefined, id: string): void => {
  if (!key) return;
  const set = index.get(key);
  if (!set) return;
  set.delete(id);
  if (!set.size) index.delete(key);
};

export class TrackingState {
  private readonly events = new Map<string, Tracking>();
  /** When each event last changed. */
  private readonly touched = new Map<string, number>();
  private readonly byCorrelation = new Map<string, Set<string>>();
  private readonly byChannel = new Map<string, Set<string>>();
  /** Ids of the open events: the sweep's work list. */
  readonly open = new Set<string>();
  /** Ids that have a document in the exceptions collection (every change of theirs is written there). */
  readonly persisted = new Set<string>();

  constructor(private readonly opts: StateOptions) {}

  get size(): number {
    return this.events.size;
  }

  get(id: string): Tracking | undefined {
    return this.events.get(id);
  }

  put(t: Tracking, now = Date.now()): void {
    this.events.set(t._id, t);
    this.touched.set(t._id, now);
    addTo(this.byCorrelation, t.correlationId, t._id);
    addTo(this.byChannel, t.sourceChannel, t._id);
    for (const a of t.acks) addTo(this.byChannel, a.channel, t._id);
    if (t.open) this.open.add(t._id);
    else this.open.delete(t._id);
  }

  remove(id: string): void {
    const t = this.events.get(id);
    if (!t) return;
    this.events.delete(id);
    this.touched.delete(id);
    this.open.delete(id);
    removeFrom(this.byCorrelation, t.correlationId, id);
    removeFrom(this.byChannel, t.sourceChannel, id);
    for (const a of t.acks) removeFrom(this.byChannel, a.channel, id);
  }

  /** Drops closed events past their retention, then the oldest closed ones over `maxEvents`; returns how many. */
  evict(now = Date.now()): number {
    const before = this.events.size;
    const cut = now - this.opts.retentionMs;
    for (const [id, t] of this.events) if (!t.open && (this.touched.get(id) ?? 0) < cut) this.remove(id);
    if (this.events.size > this.opts.maxEvents) {
      let over = this.events.size - this.opts.maxEvents;
      for (const [id, t] of this.events) {
        if (over <= 0) break;
        if (t.open) continue;
        this.remove(id);
        over--;
      }
    }
    return before - this.events.size;
  }

  /** Events matching the filter, newest first (by occurredAt), at most `limit`. */
  find(limit: number, f: EventFilter = {}): Tracking[] {
    let ids: Iterable<string>;
    if (f.correlationId !== undefined) ids = this.byCorrelation.get(f.correlationId) ?? [];
    else if (f.channel !== undefined) ids = this.byChannel.get(f.channel) ?? [];
    else ids = this.events.keys();
    const out: Tracking[] = [];
    for (const id of ids) {
      const t = this.events.get(id);
      if (!t) continue;
      if (f.channel !== undefined && f.correlationId !== undefined && !this.byChannel.get(f.channel)?.has(id)) continue;
      if (f.since !== undefined && t.occurredAt < f.since) continue;
      if (f.until !== undefined && t.occurredAt >= f.until) continue;
      out.push(t);
    }
    return out.sort((a, b) => b.occurredAt - a.occurredAt).slice(0, limit);
  }

  /** Open events (the sweep's and the issue list's). */
  openEvents(): Tracking[] {
    const out: Tracking[] = [];
    for (const id of this.open) {
      const t = this.events.get(id);
      if (t) out.push(t);
    }
    return out;
  }

  /** Every event held (erasure looks through them). */
  all(): IterableIterator<Tracking> {
    return this.events.values();
  }

  /**
   * What a snapshot keeps: every open event (with its original record, for re-delivery after a
   * restart), and the closed ones changed within `recentMs` (at most `recentMax`, newest first,
   * without their record), so recent queries still answer after a restart.
   */
  image(now: number, recentMs: number, recentMax: number): StateImage {
    const events: Tracking[] = [];
    const recent: Tracking[] = [];
    for (const [id, t] of this.events) {
      if (t.open) events.push(t);
      else if ((this.touched.get(id) ?? 0) >= now - recentMs) recent.push(t.raw && !this.persisted.has(id) ? { ...t, raw: null } : t);
    }
    events.push(...recent.slice(-recentMax));
    return { events, persisted: [...this.persisted].filter((id) => this.events.has(id)) };
  }

  restore(image: StateImage, now = Date.now()): void {
    for (const t of image.events) this.put(t, now);
    for (const id of image.persisted) this.persisted.add(id);
  }
}
