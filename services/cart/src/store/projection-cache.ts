import type { Collection } from 'mongoose';
import type { ChannelView, CustomerView, ItemView } from '../domain/trading';
import type { CartModels } from './models';

/**
 * Short-lived in-process copies of the projections the gates read (customer status, channel state,
 * channel items), so a cart write does not read three collections before it writes the cart.
 *
 * Bound: an entry is served only for `ttlMs` after the database read it came from, and it is never
 * older than that read (events only ever make it newer). So a gate decision is at most `ttlMs` behind
 * the projection in the database, whatever happens to Kafka. In normal operation it is not behind at
 * all: the projection handlers update the entry before they write the projection, and every instance
 * also consumes the projection topics with a group of its own (`<prefix>.gates.<instanceId>`), so an
 * instance learns of a ban, a block or a withdrawal when the event arrives, whichever instance's
 * projection consumer holds its partition.
 *
 * Ordering: like the projections, an entry only moves to a higher aggregateVersion, so a late or
 * replayed event, or a database read that started before an event arrived, never moves it back.
 * `ttlMs` <= 0 turns the cache off (every gate reads the database).
 */
export interface CachedProjection<V> {
  value: V | null;
  /** aggregateVersion of `value`; 0 when there is no projection. */
  version: number;
  /** When the database read this entry rests on started (epoch millis). */
  at: number;
}

type Stored<V> = V & { _id: string; aggregateVersion: number };

export class ProjectionTable<V> {
  private readonly entries = new Map<string, CachedProjection<V>>();
  private readonly loading = new Map<string, Promise<V | null>>();

  constructor(
    private readonly collection: Collection,
    private readonly fields: readonly (keyof V & string)[],
    private readonly ttlMs: number,
    private readonly maxEntries: number,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** The projection of one id, from a fresh entry or the database. */
  async get(id: string): Promise<V | null> {
    return (await this.getMany([id])).get(id) ?? null;
  }

  /** The projections of several ids (absent ones map to null), with one database read for all the misses. */
  async getMany(ids: readonly string[]): Promise<Map<string, V | null>> {
    const out = new Map<string, V | null>();
    if (!ids.length) return out;
    if (this.ttlMs <= 0) {
      const docs = await this.read(ids);
      for (const id of ids) out.set(id, docs.get(id)?.value ?? null);
      return out;
    }
    const now = Date.now();
    const waits: Promise<void>[] = [];
    const missing: string[] = [];
    for (const id of new Set(ids)) {
      const e = this.entries.get(id);
      if (e && now - e.at < this.ttlMs) out.set(id, e.value);
      else if (this.loading.has(id)) waits.push(this.loading.get(id)!.then((v) => void out.set(id, v)));
      else missing.push(id);
    }
    if (missing.length) {
      const startedAt = now;
      const batch = this.read(missing).then((docs) => {
        for (const id of missing) this.merge(id, docs.get(id) ?? { value: null, version: 0 }, startedAt);
        return docs;
      });
      const settle = batch.finally(() => missing.forEach((id) => this.loading.delete(id)));
      for (const id of missing) {
        const p = settle.then(() => this.entries.get(id)?.value ?? null);
        this.loading.set(id, p);
        waits.push(p.then((v) => void out.set(id, v)));
      }
    }
    await Promise.all(waits);
    return out;
  }

  /**
   * A projection event's full state: replaces the entry if it is newer. Ids neither cached nor being
   * read are left alone (the next read gets them from the database). The entry keeps the time of its
   * database read, so events never extend how long it is served.
   */
  apply(id: string, value: V, version: number): void {
    if (this.ttlMs <= 0) return;
    const cur = this.entries.get(id);
    if (cur) {
      if (version > cur.version) this.entries.set(id, { value, version, at: cur.at });
    } else if (this.loading.has(id)) {
      this.entries.set(id, { value, version, at: 0 });
    }
  }

  /** Drops every entry (the next gate of each id reads the database). */
  clear(): void {
    this.entries.clear();
  }

  private merge(id: string, loaded: { value: V | null; version: number }, startedAt: number): void {
    const cur = this.entries.get(id);
    const newer = !cur || loaded.version > cur.version ? loaded : cur;
    this.entries.delete(id);
    this.entries.set(id, { value: newer.value, version: newer.version, at: Math.max(startedAt, cur?.at ?? 0) });
    if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
  }

  /** One read for all ids, only the fields the gates need (never appliedEvents), without mongoose documents. */
  private async read(ids: readonly string[]): Promise<Map<string, { value: V; version: number }>> {
    const projection: Record<string, 1> = { aggregateVersion: 1 };
    for (const f of this.fields) projection[f] = 1;
    const coll = this.collection;
    const docs = (ids.length === 1
      ? [await coll.findOne({ _id: ids[0] } as never, { projection })].filter(Boolean)
      : await coll.find({ _id: { $in: ids } } as never, { projection }).toArray()) as unknown as Stored<V>[];
    const out = new Map<string, { value: V; version: number }>();
    for (const d of docs) {
      const value = {} as V;
      for (const f of this.fields) value[f] = (d[f] ?? null) as V[typeof f];
      out.set(d._id, { value, version: d.aggregateVersion ?? 0 });
    }
    return out;
  }
}

export interface ProjectionCacheOptions {
  /** How long an entry is served after its database read (default 1000 ms; <= 0: no cache). */
  ttlMs?: number;
  /** Most entries kept per projection (default 20000); the oldest read goes first. */
  maxEntries?: number;
}

export const DEFAULT_GATE_CACHE_MS = 1000;

export class ProjectionCache {
  readonly ttlMs: number;
  readonly customers: ProjectionTable<CustomerView>;
  readonly channels: ProjectionTable<ChannelView>;
  readonly items: ProjectionTable<ItemView>;

  constructor(m: CartModels, opts: ProjectionCacheOptions = {}) {
    this.ttlMs = opts.ttlMs ?? DEFAULT_GATE_CACHE_MS;
    const max = opts.maxEntries ?? 20000;
    this.customers = new ProjectionTable<CustomerView>(
      m.Customer.collection,
      ['customerId', 'status', 'reason', 'until', 'dataRegion'],
      this.ttlMs,
      max,
    );
    this.channels = new ProjectionTable<ChannelView>(
      m.Channel.collection,
      ['code', 'state', 'expectedBackAt', 'blockReasons', 'region', 'allowedDataRegions'],
      this.ttlMs,
      max,
    );
    this.items = new ProjectionTable<ItemView>(
      m.Item.collection,
      ['channel', 'sku', 'status', 'title', 'priceMinor', 'currency', 'barredRegions'],
      this.ttlMs,
      max,
    );
  }

  get enabled(): boolean {
    return this.ttlMs > 0;
  }
}
