import { LRUCache } from 'lru-cache';
import type { ChannelView, CustomerView, ItemView, LoyaltyView, StockView } from '../domain/trading';
import type { ProjectionRepository } from '@omnimall/service-kit';

/**
 * In-process copies of the projections the gates read (customer status, channel state, channel
 * items) and of the stock each line shows, so a cart view or write does not read four collections
 * before it answers.
 *
 * Every instance consumes the projection topics with a group of its own (`cart.gates.<instanceId>`)
 * and applies each event's full state to its entries, whether the id is cached or not, so an instance
 * learns of a ban, a block or a withdrawal when the event arrives, whichever instance's projection
 * consumer holds its partition.
 *
 * Bound: an entry is served while it is less than `ttlMs` behind what is known, i.e. while
 * `now - max(database read, gate consumer caught up)` < ttlMs. The gate consumer reports the time
 * as of which it has handled every event (EventConsumer.caughtUpAt); while it keeps up, that time
 * stays a fetch cycle or two behind now and entries are served without reading the database again.
 * When it falls behind, rebalances or stops, that time stops moving, and within `ttlMs` every gate
 * reads the database again, as if the cache were a plain `ttlMs` cache. So a gate decision is never
 * more than `ttlMs` behind both the event stream and the projection in the database.
 *
 * Ordering: like the projections, an entry only moves to a higher aggregateVersion, so a late or
 * replayed event, or a database read that started before an event arrived, never moves it back.
 * `ttlMs` <= 0 turns the cache off (every gate reads the database).
 *
 * Not a plain TTL cache (an entry's lifetime follows the gate consumer's progress, not only its own
 * age), so freshness is decided here; lru-cache only bounds the size.
 * Size: at most `maxEntries` per projection, least recently written out first: a database read or a
 * new entry counts as a write, serving an entry does not, and an event updating an entry leaves its
 * place as it is.
 */
export interface CachedProjection<V> {
  value: V | null;
  /** aggregateVersion of `value`; 0 when there is no projection. */
  version: number;
  /** When the database read this entry rests on started (epoch millis; 0 for an entry made by an event). */
  at: number;
}

export class ProjectionTable<V extends object> {
  private readonly entries: LRUCache<string, CachedProjection<V>>;
  /** Database reads in flight, by id: a second gate of the same id waits for the first read. */
  private readonly loading = new Map<string, Promise<V | null>>();

  constructor(
    private readonly source: Pick<ProjectionRepository<V>, 'readMany'>,
    private readonly ttlMs: number,
    maxEntries: number,
    /** Every event before this time (epoch millis) has been applied to the entries (0: unknown). */
    private readonly caughtUpAt: () => number,
  ) {
    this.entries = new LRUCache({ max: maxEntries });
  }

  /** Whether an entry may be served: less than ttlMs behind what is known of it. */
  private fresh(e: CachedProjection<V>, now: number): boolean {
    return now - Math.max(e.at, this.caughtUpAt()) < this.ttlMs;
  }

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
      const docs = await this.source.readMany(ids);
      for (const id of ids) out.set(id, docs.get(id)?.value ?? null);
      return out;
    }
    const now = Date.now();
    const waits: Promise<void>[] = [];
    const missing: string[] = [];
    for (const id of new Set(ids)) {
      const e = this.entries.peek(id);
      if (e && this.fresh(e, now)) out.set(id, e.value);
      else if (this.loading.has(id)) waits.push(this.loading.get(id)!.then((v) => void out.set(id, v)));
      else missing.push(id);
    }
    if (missing.length) {
      const startedAt = now;
      const batch = this.source.readMany(missing).then((docs) => {
        for (const id of missing) this.merge(id, docs.get(id) ?? { value: null, version: 0 }, startedAt);
        return docs;
      });
      const settle = batch.finally(() => missing.forEach((id) => this.loading.delete(id)));
      for (const id of missing) {
        const p = settle.then(() => this.entries.peek(id)?.value ?? null);
        this.loading.set(id, p);
        waits.push(p.then((v) => void out.set(id, v)));
      }
    }
    await Promise.all(waits);
    return out;
  }

  /**
   * A projection event's full state: replaces the entry if it is newer, and makes one for an id not
   * cached yet (a later database read of an older projection then cannot hide it). An entry made or
   * changed by an event keeps the time of its database read (0 when there was none): an event does
   * not extend how long the entry is served on its own, only the consumer's catching up does.
   */
  apply(id: string, value: V, version: number): void {
    if (this.ttlMs <= 0) return;
    const cur = this.entries.peek(id);
    if (!cur) this.entries.set(id, { value, version, at: 0 });
    else if (version > cur.version) {
      // In place: the entry keeps its place in the eviction order (set would make it the most recent).
      cur.value = value;
      cur.version = version;
    }
  }

  /** Drops every entry (the next gate of each id reads the database). */
  clear(): void {
    this.entries.clear();
  }

  private merge(id: string, loaded: { value: V | null; version: number }, startedAt: number): void {
    const cur = this.entries.peek(id);
    const newer = !cur || loaded.version > cur.version ? loaded : cur;
    this.entries.set(id, { value: newer.value, version: newer.version, at: Math.max(startedAt, cur?.at ?? 0) });
  }
}

export interface ProjectionCacheOptions {
  /** How long an entry is served after its database read (default 1000 ms; <= 0: no cache). */
  ttlMs?: number;
  /** Most entries kept per projection (default 20000); the least recently written goes first. */
  maxEntries?: number;
}

export const DEFAULT_GATE_CACHE_MS = 1000;

export class ProjectionCache {
  readonly ttlMs: number;
  readonly customers: ProjectionTable<CustomerView>;
  readonly channels: ProjectionTable<ChannelView>;
  readonly items: ProjectionTable<ItemView>;
  /** The stock each line shows (inventory.stock-level per `<channel>:<sku>`): read on every cart view. */
  readonly stock: ProjectionTable<StockView>;
  /** The customer's loyalty balance and tier (promotions.loyalty-entry), shown on the customer's cart. */
  readonly loyalty: ProjectionTable<LoyaltyView>;
  /**
   * The gate consumer's EventConsumer.caughtUpAt, set once that consumer runs; until then 0
   * (unknown), i.e. a plain `ttlMs` cache.
   */
  caughtUpAt: () => number = () => 0;

  constructor(
    store: {
      customers: Pick<ProjectionRepository<CustomerView>, 'readMany'>;
      channels: Pick<ProjectionRepository<ChannelView>, 'readMany'>;
      items: Pick<ProjectionRepository<ItemView>, 'readMany'>;
      stock: Pick<ProjectionRepository<StockView>, 'readMany'>;
      loyalty: Pick<ProjectionRepository<LoyaltyView>, 'readMany'>;
    },
    opts: ProjectionCacheOptions = {},
  ) {
    this.ttlMs = opts.ttlMs ?? DEFAULT_GATE_CACHE_MS;
    const max = opts.maxEntries ?? 20000;
    const live = (): number => this.caughtUpAt();
    this.customers = new ProjectionTable(store.customers, this.ttlMs, max, live);
    this.channels = new ProjectionTable(store.channels, this.ttlMs, max, live);
    this.items = new ProjectionTable(store.items, this.ttlMs, max, live);
    this.stock = new ProjectionTable(store.stock, this.ttlMs, max, live);
    this.loyalty = new ProjectionTable(store.loyalty, this.ttlMs, max, live);
  }

  get enabled(): boolean {
    return this.ttlMs > 0;
  }
}
